@testable import AccordController
import AccordCore
import AccordGit
import AccordHTTP
import AccordTestSupport
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

/// The repository fails the controller: the remote cannot be reached, the
/// mirror is damaged or gone. The last applied state stays, the controller
/// says so and backs off, and it recovers by itself.
@Suite(TestDatabase.required, .serialized, .timeLimit(.minutes(10)), .tags(.timeBounded))
struct SourceFaultTests {
    /// The controller's SourceUnavailable condition, as `/readyz` shows it.
    func sourceCondition(_ c: Running) async throws -> [String: JSONValue]? {
        let app = Application(router: HTTPServer.router(c.http))
        return try await app.test(.router) { client in
            try await client.execute(uri: "/readyz", method: .get) { response -> [String: JSONValue]? in
                c.expectNoSecret(String(buffer: response.body), "/readyz")
                guard case .object(let top) = try JSONParser.parse(String(buffer: response.body)),
                      case .array(let conditions)? = top["conditions"] else { return nil }
                for case .object(let c) in conditions where c["type"] == .string("SourceUnavailable") { return c }
                return nil
            }
        }
    }

    @Test func anUnreachableRemoteKeepsTheLastStateBacksOffAndRecovers() async throws {
        let h = try await Harness()
        let db = h.db
        defer { Task { await db.drop() } }
        let config = try h.config(["resync": "1s"])
        try await withController(config) { c in
            #expect(try await eventually { await c.isLeaderReady() })
            let applied = try #require(await c.state.current.revision)
            let before = try await sourceCondition(c)
            #expect(before?["status"] == .string("False"))

            let moved = h.scratch.appendingPathComponent("origin-away.git")
            try FileManager.default.moveItem(at: h.bare, to: moved)
            #expect(try await eventually { (await c.state.current.source?.failures ?? 0) >= 4 })
            let source = try #require(await c.state.current.source)
            #expect(source.unavailable)
            // Backoff: retry-min 200ms doubling — the fourth failure waits at least 1.6 s, not the 100 ms poll.
            let wait = try #require(source.nextFetchAt).timeIntervalSince(source.lastFetchAt)
            #expect(wait >= 1.5 && wait <= 2.1, "waits \(wait) s after \(source.failures) failures")
            let condition = try #require(try await sourceCondition(c))
            #expect(condition["status"] == .string("True"))
            #expect(condition["reason"] == .string("FetchFailed"))
            #expect(condition["message"]?.stringValue?.contains("origin.git") == true)
            #expect(c.metricsText.contains("accord_source_unavailable 1"))

            // The last applied revision stays, and resyncs still revert drift against it.
            try await h.execute("""
                SET session_replication_role = replica;
                UPDATE platform.workers SET replicas = 40 WHERE name = 'risk-analyst';
                SET session_replication_role = origin
                """)
            #expect(try await eventually {
                try await h.scalar("SELECT replicas::text FROM platform.workers WHERE name = 'risk-analyst'") == "2"
            })
            #expect(await c.state.current.revision == applied)
            #expect(await c.state.current.source?.unavailable == true)

            // A commit pushed while the controller cannot see it, then the remote comes back.
            try h.edit("tenants/northwind.yaml", "  plan: pro\n", "  plan: pro\n  suspended: true\n")
            let commit = try h.work.commit("suspend northwind")
            try h.work.git("push", "-q", moved.path, "main")
            try FileManager.default.moveItem(at: moved, to: h.bare)
            #expect(try await eventually { await c.state.current.revision == commit })
            #expect(try await h.scalar("SELECT status FROM platform.tenants WHERE name = 'northwind'") == "suspended")
            let recovered = try #require(await c.state.current.source)
            #expect(!recovered.unavailable && recovered.failures == 0 && recovered.nextFetchAt == nil)
            let after = try await sourceCondition(c)
            #expect(after?["status"] == .string("False"))
            #expect(c.metricsText.contains("accord_source_unavailable 0"))
            #expect(c.logs.text.contains("the repository is reachable again"))
        }
    }

    @Test func aDamagedOrDeletedMirrorIsClonedAnew() async throws {
        let h = try await Harness()
        let db = h.db
        defer { Task { await db.drop() } }
        let config = try h.config()
        let mirror = GitMirror.path(of: config.repo, cacheDirectory: config.cacheDirectory)
        try await withController(config) { c in
            #expect(try await eventually { await c.isLeaderReady() })

            // Refs kept, objects gone: the fetch's check finds the tips unreadable.
            try MirrorDamage.deleteObjects(mirror)
            let first = try h.push("tenants/northwind.yaml", "  plan: pro\n", "  plan: pro\n  suspended: true\n")
            #expect(try await eventually { await c.state.current.revision == first })
            #expect(c.logs.text.contains("the mirror was damaged and has been cloned anew"))

            // Deleted outright.
            try FileManager.default.removeItem(atPath: mirror)
            let second = try h.push("tenants/northwind.yaml", "  suspended: true\n", "  suspended: false\n")
            #expect(try await eventually { await c.state.current.revision == second })
            #expect(try await h.scalar("SELECT status FROM platform.tenants WHERE name = 'northwind'") == "active")
        }
    }

    @Test func aMirrorThatFailsItsReaderIsClonedAnewAndTheRevisionApplied() async throws {
        let h = try await Harness()
        let db = h.db
        defer { Task { await db.drop() } }
        let config = try h.config()
        let mirror = GitMirror.path(of: config.repo, cacheDirectory: config.cacheDirectory)
        // A mirror whose tips look whole (commit and root tree) but whose subtrees and blobs are gone:
        // only the pass that reads the manifests finds out.
        _ = try await GitMirror.sync(url: config.repo, cacheDirectory: config.cacheDirectory, credentials: GitCredentials())
        try MirrorDamage.deleteObjects(mirror)
        try MirrorDamage.copyLooseObjects(["HEAD", "HEAD^{tree}"], from: h.work, into: mirror)
        try await withController(config) { c in
            let applied = try await eventually { await c.state.current.lastPassResult == .ok }
            #expect(applied)
            #expect(try await h.scalar("SELECT count(*)::text FROM platform.tenants") == "4")
            #expect(c.logs.text.contains("the mirror was damaged and has been cloned anew"))
            #expect(c.logs.text.contains("the pass failed; retrying"))
        }
    }
}
