@testable import AccordController
import AccordCore
import AccordStore
import AccordTestSupport
import Foundation
import Testing

/// PostgreSQL crashes and recovers under a running controller: it loses its
/// connections and the leader lock in the middle of a pass, reconnects with
/// backoff, leads again and converges, with nothing half-applied. The
/// cluster is durable (`fsync` and `synchronous_commit` on): every object
/// seen committed before the crash is there after recovery.
@Suite(TestDatabase.required, .serialized, .timeLimit(.minutes(10)))
struct DatabaseFaultTests {
    @Test func aPostgresCrashRestartMidPassIsRetriedAndConverges() async throws {
        let cluster = try PrivateCluster.start(["ACCORD_PG_DURABLE": "1"])
        defer { cluster.stop() }
        let h = try await Harness()
        let db = h.db
        defer { Task { await db.drop() } }
        let inventory = { try await cluster.session { try await $0.scalar("SELECT count(*)::text FROM accord.inventory") } }

        try await withController(try h.config(databaseURL: cluster.url)) { c in
            let ready = try await eventually { await c.isLeaderReady() }
            #expect(ready)
            let before = try #require(try await inventory())
            // Each statement writing workers takes two seconds more, so that the crash, which comes once
            // the tenants are in, surely lands while the pass is still writing.
            try await cluster.session { s in
                try await s.execute("""
                    CREATE FUNCTION public.slowly() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_sleep(2); RETURN NULL; END $$
                    """)
                try await s.execute("CREATE TRIGGER slowly AFTER INSERT ON platform.workers FOR EACH STATEMENT EXECUTE FUNCTION public.slowly()")
            }

            // A commit big enough that the pass is still writing when the server goes down.
            for (path, text) in GeneratedPlatform.files(tenants: 200) { try h.work.write("generated/" + path, text) }
            let commit = try h.commitAndPush("200 tenants with 10 workers each")
            let writing = try await eventually(within: .seconds(60)) {
                (try? await inventory()).flatMap { Int($0) }.map { $0 >= Int(before)! + 200 } ?? false
            }
            #expect(writing, "the pass wrote its first batches")
            let atCrash = try #require(try await inventory())
            try cluster.restartImmediately()
            let afterCrash = try await cluster.session { try await FaultInvariants.violations($0) }
            #expect(afterCrash.isEmpty, "after the crash: \(afterCrash.joined(separator: "; "))")
            let recovered = try #require(try await inventory())
            #expect(Int(recovered)! >= Int(atCrash)!, "the \(atCrash) objects seen committed before the crash survive it (\(recovered) after)")

            // Reconnected, leading again, and the commit applied in full.
            let converged = try await eventually(within: .seconds(120)) {
                guard await c.state.current.revision == commit, await c.isLeaderReady() else { return false }
                return try await cluster.session { try await $0.scalar("SELECT count(*)::text FROM platform.workers WHERE tenant LIKE 't%'") } == "2000"
            }
            let state = await c.state.current
            #expect(converged, "last result: \(state.lastPassResult?.rawValue ?? "none"), error: \(state.lastError ?? "none")")
            let violations = try await cluster.session { try await FaultInvariants.violations($0) }
            #expect(violations.isEmpty, "\(violations.joined(separator: "; "))")
            #expect(c.logs.text.contains("database connection failed; trying again") || c.logs.text.contains("the pass failed; retrying"))
            #expect(c.metricsText.contains("accord_leader 1"))
            let total = try #require(try await inventory())
            #expect(Int(atCrash)! < Int(total)!, "the server went down before the pass finished (\(atCrash) of \(total) objects recorded)")
            print("fault figures: PostgreSQL crash-restarted under the controller with \(atCrash) of \(total) objects recorded; converged")
        }
    }
}
