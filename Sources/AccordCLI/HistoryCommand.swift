import AccordCore
import AccordStore
import ArgumentParser
import Foundation

struct HistoryCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "history",
        abstract: "List revisions: time, commit, result and the Merkle root of the applied manifests; refused revisions with why.",
        discussion: """
            The Merkle root is computed over the SHA-256 hashes of the revision's manifests \
            (canonical JSON of apiVersion, kind, metadata and spec) in 4,096 buckets by prefix, pairing \
            neighbours with SHA-256; see docs/engine.md. A commit that was not applied is listed too: `invalid` (its \
            manifests do not validate) or `refused` (the deletion guard refused its plan), with the reason. An apply of \
            uncommitted files shows as `uncommitted` on the commit they sit on. Newest first. Exit status: 0, or 2 on error.
            """
    )

    @OptionGroup var database: DatabaseOptions
    @OptionGroup var output: OutputOptions

    @Option(help: "How many revisions to show.")
    var limit = 20

    func run() async throws {
        let entries = try await database.withSession { session in
            try await Migrations.checkNotNewer(session) == 0 ? [] : try await History.list(session, limit: limit)
        }
        switch output.format {
        case .json:
            Console.write(JSONOutput.render(.object([
                "formatVersion": .number(1),
                "revisions": .array(entries.map { e in
                    .object([
                        "id": JSONValue(Int(e.id)), "revision": JSONValue(e.revision), "path": .string(e.path),
                        "startedAt": .string(e.startedAt), "finishedAt": .string(e.finishedAt), "result": .string(e.result.rawValue),
                        "merkleRoot": .string(e.merkleRoot), "objects": JSONValue(e.objects), "created": JSONValue(e.created),
                        "updated": JSONValue(e.updated), "deleted": JSONValue(e.deleted), "retained": JSONValue(e.retained),
                        "failed": JSONValue(e.failed), "actor": .string(e.actor), "auditSeq": JSONValue(Int(e.auditSeq)),
                        "reason": JSONValue(e.reason), "uncommittedBase": JSONValue(e.uncommittedBase), "signer": JSONValue(e.signer),
                    ])
                }),
            ])))
        case .text, .markdown:
            guard !entries.isEmpty else {
                Console.write("no revisions applied yet\n")
                return
            }
            let noted = entries.contains { $0.reason != nil }
            let signed = entries.contains { $0.signer != nil }
            let rows = entries.map { e in
                let changes = e.result.isRefusal ? "-"
                    : "+\(e.created) ~\(e.updated) -\(e.deleted)" + (e.retained > 0 ? " retained \(e.retained)" : "") + (e.failed > 0 ? " !\(e.failed)" : "")
                return [e.finishedAt, Self.commit(e), e.result.rawValue, String(e.objects), changes,
                        e.merkleRoot.isEmpty ? "-" : e.merkleRoot] + (signed ? [e.signer ?? "-"] : [])
                    + (noted ? [Text.escapingControls(e.reason ?? "")] : [])
            }
            let table = [["TIME", "COMMIT", "RESULT", "OBJECTS", "CHANGES", "MERKLE ROOT"] + (signed ? ["SIGNER"] : [])
                         + (noted ? ["REASON"] : [])] + rows
            Console.write(output.format == .markdown ? Columns.markdown(table) : Columns.render(table))
        }
    }
}

extension HistoryCommand {
    /// The commit a row applied: 12 digits, `uncommitted on` the commit
    /// uncommitted files sat on, or `files on disk` for a pass over files
    /// that are not in a repository.
    static func commit(_ e: History.Entry) -> String {
        if let revision = e.revision { return String(revision.prefix(12)) }
        if let base = e.uncommittedBase { return "uncommitted on \(base.prefix(12))" }
        return "files on disk"
    }
}

struct Audit: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Work with the append-only, hash-chained audit log.",
        subcommands: [Log.self, Verify.self]
    )

    struct Log: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print audit entries, newest first: time, actor, action, object, revision and what was recorded.",
            discussion: """
                --object takes one object (Tenant/acme, Worker/acme/analyst; kinds in any case); --tenant every \
                entry of a tenant's objects and of the Tenant itself; --since a time (2026-12-01, \
                2026-12-01T09:00:00Z) or an age (90m, 24h, 7d); --action one action (create, update, delete, \
                retain, apply, refuse, erase, erase-postgres, erasure-sla, retention, rotate-key, and failures \
                as ACTION-failed). `-o json` prints each entry's sealed body whole. Exit status: 0, or 2 on error.
                """
        )

        @OptionGroup var database: DatabaseOptions
        @OptionGroup var output: OutputOptions

        @Option(help: "Only entries about this object: KIND/NAME or KIND/TENANT/NAME.")
        var object: String?

        @Option(help: "Only entries about this tenant's objects (and the Tenant).")
        var tenant: String?

        @Option(help: "Only entries at or after: a date, an RFC 3339 time, or an age such as 24h or 7d.")
        var since: String?

        @Option(help: "Only entries of this action.")
        var action: String?

        @Option(help: "How many entries to show at most.")
        var limit = 50

        func validate() throws {
            if let object, case .failure(let problem) = ObjectID.parse(object) { throw ValidationError("--object: \(problem.description)") }
            if let since, Self.time(since, now: Date()) == nil {
                throw ValidationError("--since \(Text.quoted(since)): not a date (2026-12-01), an RFC 3339 time (2026-12-01T09:00:00Z) or an age (90m, 24h, 7d)")
            }
            guard (1...100_000).contains(limit) else { throw ValidationError("--limit must be between 1 and 100000, not \(limit)") }
        }

        /// A date, an RFC 3339 time, or an age before `now`.
        static func time(_ text: String, now: Date) -> Date? {
            let units: [(String, Double)] = [("m", 60), ("h", 3_600), ("d", 86_400)]
            for (unit, seconds) in units where text.hasSuffix(unit) {
                if let n = Double(text.dropLast()), n.isFinite, n >= 0 { return now.addingTimeInterval(-n * seconds) }
            }
            let full = ISO8601DateFormatter()
            if let date = full.date(from: text) { return date }
            let fractional = ISO8601DateFormatter()
            fractional.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
            if let date = fractional.date(from: text) { return date }
            let day = ISO8601DateFormatter()
            day.formatOptions = [.withFullDate]
            return day.date(from: text)
        }

        func run() async throws {
            let query = AuditChain.Query(object: object.flatMap { ObjectID(parsing: $0) }?.description, tenant: tenant,
                                         since: since.flatMap { Self.time($0, now: Date()) }, action: action, limit: limit)
            let entries = try await database.withSession { session in
                try await Migrations.checkNotNewer(session) == 0 ? [] : try await AuditChain.entries(query, session)
            }
            switch output.format {
            case .json:
                Console.write(JSONOutput.render(.object([
                    "formatVersion": .number(1),
                    "entries": .array(entries.map { e in
                        guard case .object(var fields) = e.body else { return e.body }
                        fields["seq"] = JSONValue(Int(e.seq))
                        return .object(fields)
                    }),
                ])))
            case .text, .markdown:
                guard !entries.isEmpty else {
                    Console.write("no audit entries\(object == nil && tenant == nil && since == nil && action == nil ? "" : " match")\n")
                    return
                }
                let rows = entries.map { e in
                    [String(e.seq), e.at, e.actor, e.action, e.object ?? "-", e.revision.map { String($0.prefix(12)) } ?? "-",
                     Text.escapingControls(Self.summary(e.detail))]
                }
                let table = [["SEQ", "TIME", "ACTOR", "ACTION", "OBJECT", "REVISION", "DETAIL"]] + rows
                Console.write(output.format == .markdown ? Columns.markdown(table) : Columns.render(table))
            }
        }

        /// The detail on one line: `key=value` pairs, nested values as
        /// compact JSON, long digests and signatures shortened.
        static func summary(_ detail: JSONValue) -> String {
            guard case .object(let fields) = detail else { return detail == .null ? "" : detail.canonical }
            return fields.keys.sorted().map { key in
                let value = fields[key]!
                return "\(key)=" + (ValueText.isContainer(value) ? value.canonical : ValueText.inline(value) ?? value.canonical)
            }.joined(separator: " ")
        }
    }

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Recompute every entry's hash and check the chain; detects edited and deleted entries.",
            discussion: "Exit status: 0 intact, 1 tampered (each problem is printed), 2 error."
        )

        @OptionGroup var database: DatabaseOptions
        @OptionGroup var output: OutputOptions

        func run() async throws {
            let result = try await database.withSession { session in
                try await Migrations.checkNotNewer(session) == 0 ? nil : try await AuditChain.verify(session)
            }
            if output.format == .json {
                Console.write(JSONOutput.render(.object([
                    "formatVersion": .number(1),
                    "intact": .bool(result?.isIntact ?? true),
                    "entries": JSONValue(result?.entries ?? 0),
                    "problems": JSONValue(strings: result?.problems ?? []),
                ])))
                if result?.isIntact == false { throw ExitCode(1) }
                return
            }
            guard let result else {
                Console.write("no audit log: nothing has been applied to this database yet\n")
                return
            }
            if result.isIntact {
                Console.write("audit log intact: \(result.entries) entries, every hash and link verified\n")
                return
            }
            for problem in result.problems { Console.write("tampered: \(problem)\n") }
            Console.write("audit log NOT intact: \(result.problems.count) problem(s) in \(result.entries) entries\n")
            throw ExitCode(1)
        }
    }
}
