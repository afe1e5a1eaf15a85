import AccordCore
import AccordStore
import ArgumentParser
import Foundation

struct Status: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show objects with their conditions (Ready, Reconciling, Stalled), generations and revisions.",
        discussion: """
            OBJECT narrows the list: a kind (Worker, workers), or one object (Tenant/acme, Worker/acme/analyst); \
            kinds in any case, singular or plural. The first row, Source/git, is the repository the controller \
            follows (when one runs against this database): the revision applied, the revision fetched (ATTEMPTED), \
            and why a fetched revision is not applied — its fetch failed, its manifests are invalid (the first \
            errors), or the deletion guard refused its plan; `status source` shows it alone. With a regions file \
            (--regions-file), a row Region/NAME for each region's database says whether it answers; `status regions` \
            shows them alone. \
            Exit status: 0; 1 with --fail-on-not-ready when an object shown is not Ready; \
            2 on error (including an object Accord does not know).
            """
    )

    @Argument(help: "KIND, or KIND/NAME, or KIND/TENANT/NAME.")
    var object: String?

    @OptionGroup var database: DatabaseOptions
    @OptionGroup var output: OutputOptions

    @Flag(help: "Exit 1 when an object shown is not Ready (for CI gates).")
    var failOnNotReady = false

    /// `region` or `regions`: the regions alone.
    var regionsOnly: Bool {
        guard let object = object?.lowercased() else { return false }
        return object == "region" || object == "regions"
    }

    /// `source`, `sources` or `Source/git`: the source alone.
    var sourceOnly: Bool {
        guard let object = object?.lowercased() else { return false }
        return object == "source" || object == "sources" || object == SourceStatus.id.lowercased()
    }

    func validate() throws {
        guard let object, !sourceOnly, !regionsOnly, Kind(named: object) == nil else { return }
        if case .failure(let problem) = ObjectID.parse(object) { throw ValidationError(problem.description) }
    }

    func run() async throws {
        let kind = object.flatMap { Kind(named: $0) }
        let id = object.flatMap { ObjectID(parsing: $0) }
        let sourceOnly = self.sourceOnly, regionsOnly = self.regionsOnly
        let (statuses, source, regions) = try await database.withSession { session in
            // Each region's database, checked now (with a regions file).
            let regions = object == nil || regionsOnly ? await RegionRow.check(session) : []
            guard try await Migrations.isCurrent(session), !regionsOnly else { return ([ObjectStatus](), SourceStatus?.none, regions) }
            let source = object == nil || sourceOnly ? try await SourceStatus.read(session) : nil
            return (sourceOnly ? [] : try await ObjectStatus.read(session, kind: kind, id: id), source, regions)
        }
        if regionsOnly, regions.isEmpty {
            Console.error(CLIError("no regions: give --regions-file or set ACCORD_REGIONS_FILE"))
            throw ExitCode(2)
        }
        if sourceOnly, source == nil {
            Console.error(CLIError("no source recorded: no controller has fetched a repository for this database"))
            throw ExitCode(2)
        }
        if let id, statuses.isEmpty {
            Console.error(CLIError("\(id) is not managed by Accord and has no recorded failure"))
            throw ExitCode(2)
        }
        switch output.format {
        case .json:
            Console.write(JSONOutput.render(.object([
                "formatVersion": .number(1),
                "objects": .array((source.map { [$0.json] } ?? []) + regions.map(\.json) + statuses.map(Self.json)),
            ])))
        case .text, .markdown:
            Console.write(Self.table(statuses, source: source, regions: regions, markdown: output.format == .markdown))
            if output.format == .text {
                if id != nil, let one = statuses.first { Console.write(Self.details(one)) }
                if sourceOnly, let source { Console.write(source.details) }
            }
        }
        if failOnNotReady, statuses.contains(where: { !$0.ready }) || source?.ready == false || regions.contains(where: { !$0.up }) {
            throw ExitCode(1)
        }
    }

    static func json(_ s: ObjectStatus) -> JSONValue { s.json }

    /// One object's live row under the table: `field: value` lines.
    static func details(_ s: ObjectStatus) -> String {
        guard !s.live.isEmpty else { return "" }
        var out = "\nlive:\n"
        for key in s.live.keys.sorted() {
            if case .object(let inner) = s.live[key]! {
                out += "  \(key):\n"
                for k in inner.keys.sorted() { out += "    \(k): \(inner[k]!.display)\n" }
            } else {
                out += "  \(key): \(s.live[key]!.display)\n"
            }
        }
        return out
    }

    /// A revision as the table shows it: 12 digits; a managed object
    /// without one was applied from uncommitted files (`apply --worktree`).
    static func revision(_ revision: String?, _ s: ObjectStatus) -> String {
        revision.map { String($0.prefix(12)) } ?? (s.generation > 0 ? "uncommitted" : "-")
    }

    static func table(_ statuses: [ObjectStatus], source: SourceStatus? = nil, regions: [RegionRow] = [], markdown: Bool) -> String {
        // With a regions file, where each object's data lives (the inventory's record; a region row's own database).
        let placed = statuses.contains { $0.database != nil }
        var header = ["OBJECT", "READY", "STALLED", "GEN", "OBSERVED", "APPLIED", "ATTEMPTED", "MESSAGE"]
        var rows = (source.map { [$0.row] } ?? []) + regions.map(\.row) + statuses.map { s in
            [s.id, s.ready ? "True" : "False", s.stalled ? "True" : "False", String(s.generation), String(s.observedGeneration),
             Self.revision(s.lastAppliedRevision, s), Self.revision(s.lastAttemptedRevision, s),
             Text.escapingControls(s.message)]
        }
        if placed {
            header.insert("DATABASE", at: 1)
            let databases = (source.map { _ in ["control"] } ?? []) + regions.map(\.region.rawValue) + statuses.map { $0.database ?? "-" }
            for i in rows.indices { rows[i].insert(databases[i], at: 1) }
        }
        if markdown { return Columns.markdown([header] + rows) }
        guard !rows.isEmpty else { return "no objects: nothing has been applied to this database yet\n" }
        return Columns.render([header] + rows)
    }
}

/// Left-aligned columns separated by two spaces; the last column is not padded.
/// Tables of the commands: aligned columns on a terminal, or a Markdown
/// table (`-o markdown`), the first row the header.
enum Columns {
    static func markdown(_ rows: [[String]]) -> String {
        guard let width = rows.first?.count else { return "" }
        return rows.enumerated().map { i, r in
            "| " + r.map { $0.replacingOccurrences(of: "|", with: "\\|") }.joined(separator: " | ") + " |"
                + (i == 0 ? "\n|" + String(repeating: "---|", count: width) : "")
        }.joined(separator: "\n") + "\n"
    }

    static func render(_ rows: [[String]]) -> String {
        guard let width = rows.first?.count else { return "" }
        var widths = [Int](repeating: 0, count: width)
        for r in rows { for (i, cell) in r.enumerated() where i < width - 1 { widths[i] = max(widths[i], cell.count) } }
        return rows.map { r in
            r.enumerated().map { i, cell in
                i == width - 1 ? cell : cell.padding(toLength: widths[i], withPad: " ", startingAt: 0)
            }.joined(separator: "  ")
        }.joined(separator: "\n") + "\n"
    }
}

/// A region's database as `status` shows it (SPEC §9): `Region/eu`,
/// ready when it answers now.
struct RegionRow: Sendable {
    let region: Region
    let up: Bool
    let message: String

    /// Every region of the session's regions file, checked now; none without one.
    static func check(_ session: Session) async -> [RegionRow] {
        guard let regions = session.regions else { return [] }
        let health = await regions.check()
        return regions.regions.map { region in
            let url = regions.urls[region].map { "\($0.host):\($0.port)/\($0.database)" } ?? "no URL"
            let h = health[region]
            return RegionRow(region: region, up: h?.up == true,
                             message: h?.up == true ? "the database answers (\(url))" : "unavailable (\(url)): \(h?.reason ?? "not checked")")
        }
    }

    var row: [String] {
        ["Region/\(region.rawValue)", up ? "True" : "False", "False", "-", "-", "-", "-", Text.escapingControls(message)]
    }

    var json: JSONValue {
        .object(["kind": .string("Region"), "id": .string("Region/\(region.rawValue)"), "name": .string(region.rawValue),
                 "ready": .bool(up), "message": .string(message)])
    }
}
