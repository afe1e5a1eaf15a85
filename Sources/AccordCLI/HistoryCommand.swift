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
                        "reason": JSONValue(e.reason), "uncommittedBase": JSONValue(e.uncommittedBase),
                    ])
                }),
            ])))
        case .text, .markdown:
            guard !entries.isEmpty else {
                Console.write("no revisions applied yet\n")
                return
            }
            let noted = entries.contains { $0.reason != nil }
            let rows = entries.map { e in
                let changes = e.result.isRefusal ? "-"
                    : "+\(e.created) ~\(e.updated) -\(e.deleted)" + (e.retained > 0 ? " retained \(e.retained)" : "") + (e.failed > 0 ? " !\(e.failed)" : "")
                return [e.finishedAt, Self.commit(e), e.result.rawValue, String(e.objects), changes,
                        e.merkleRoot.isEmpty ? "-" : e.merkleRoot] + (noted ? [Text.escapingControls(e.reason ?? "")] : [])
            }
            let table = [["TIME", "COMMIT", "RESULT", "OBJECTS", "CHANGES", "MERKLE ROOT"] + (noted ? ["REASON"] : [])] + rows
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
        subcommands: [Verify.self]
    )

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
