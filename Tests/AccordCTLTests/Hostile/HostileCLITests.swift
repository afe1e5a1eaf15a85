import AccordTestSupport
import Foundation
import Testing

/// Hostile repositories through `accordctl diff` and `apply` against a live
/// database holding the example platform: each is refused with an error that
/// names its place, nothing crashes, and no row of the platform or of
/// Accord's own bookkeeping changes.
@Suite(.timeLimit(.minutes(10))) struct HostileCLITests {
    typealias CLI = CLITests

    /// A directory outside every repository: a manifest and a secret that a
    /// followed link would reveal.
    static func outsideDirectory() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("accord-outside-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("dir"), withIntermediateDirectories: true)
        let manifest = HostileRepository.tenant("outsider") + "# \(HostileRepository.secret)\n"
        try Data(manifest.utf8).write(to: dir.appendingPathComponent("secret.yaml"))
        try Data(manifest.utf8).write(to: dir.appendingPathComponent("dir/outsider.yaml"))
        return dir
    }

    /// A dump of Accord's tables without what a refused revision records.
    static func withoutRefusals(_ dump: [String]) -> [String] {
        var table = ""
        return dump.filter { line in
            if line.hasPrefix("table ") {
                table = line
                return true
            }
            switch table {
            case #"table "accord"."audit_head""#: return false
            case #"table "accord"."audit_log""#: return !line.contains(",refuse,,")
            case #"table "accord"."revisions""#: return !line.contains(",invalid,\"\",") && !line.contains(",refused,\"\",")
            default: return true
            }
        }
    }

    @Test func corpusIsLargeEnough() throws {
        #expect(HostileRepository.cases(outside: "/x").count >= 30)
    }

    @Test(TestDatabase.required)
    func hostileRepositoriesAreRefusedAndChangeNothing() async throws {
        let db = try await TestDatabase.scratch()
        defer { Task { await db.drop() } }
        let outside = try Self.outsideDirectory()
        defer { try? FileManager.default.removeItem(at: outside) }
        let base = try CLI.repo(copying: "examples/platform")
        let first = try await CLI.accordctl(["apply", "--repo", base.root.path, "--database-url", db.urlText])
        try #require(first.status == 0, "\(first.stderr)")
        var before = try await LiveDump.take(db)
        try #require(before.platform.count > 20 && before.accord.count > 10)

        for hostile in HostileRepository.cases(outside: outside.path) {
            let fx = try hostile.fixture()
            for command in ["diff", "apply"] {
                // Applying files on disk needs --allow-uncommitted: given, so the case reaches what it attacks.
                let allow = command == "apply" && hostile.arguments.contains("--worktree") ? ["--allow-uncommitted"] : []
                let run = try await CLI.accordctl([command, "--repo", fx.root.path, "--database-url", db.urlText] + hostile.arguments + allow,
                                            environment: ["NO_COLOR": "1"])
                let output = run.stdout + run.stderr
                #expect(run.status == hostile.status, "\(hostile) \(command): \(output.prefix(600))")
                for fragment in hostile.expected where !(command == "apply" && hostile.status == 0) {
                    #expect(output.contains(fragment), "\(hostile) \(command): no \(fragment.debugDescription) in \(output.prefix(600))")
                }
                for text in hostile.forbidden {
                    #expect(!output.contains(text), "\(hostile) \(command): the output shows \(text.debugDescription)")
                }
                #expect(!output.contains("Fatal error") && !output.contains("Crash"), "\(hostile) \(command)")
            }
            let after = try await LiveDump.take(db)
            #expect(after.platform == before.platform, "\(hostile): the platform's rows changed")
            if hostile.status != 0 {
                // Only the refusal is recorded: history's `invalid` row and its `refuse` audit entry (and the chain's head).
                let (kept, was) = (Self.withoutRefusals(after.accord), Self.withoutRefusals(before.accord))
                let added = kept.filter { !was.contains($0) }.map { $0.prefix(300) }
                #expect(kept == was, "\(hostile): Accord's bookkeeping changed: \(added)")
            }
            before = after
        }
        #expect(try await db.withSession { try await $0.scalar("SELECT count(*)::text FROM platform.tenants WHERE name IN ('outsider', 'fresh')") } == "0")
    }
}
