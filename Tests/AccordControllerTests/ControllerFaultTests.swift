import AccordCore
import AccordStore
import AccordTestSupport
import Foundation
import Testing

/// The controller killed with SIGKILL at random points while it applies a
/// stream of commits: after each kill nothing is half-applied, and a
/// restarted controller converges on the last commit.
@Suite(TestDatabase.required, .serialized)
struct ControllerFaultTests {
    @Test func twentyControllersKilledAtRandomPointsLeaveNothingHalfDoneAndTheNextConverges() async throws {
        let h = try await Harness()
        let db = h.db
        defer { Task { await db.drop() } }
        var rng = SeededRandom(seed: 21)
        var replicas = 4
        var killedWhileWorking = 0
        for run in 0..<20 {
            // A new commit before each start, so every controller has work.
            try h.push("workers/northwind.yaml", "replicas: \(replicas)", "replicas: \(replicas + 1)", message: "run \(run)")
            replicas += 1
            let controller = try ControllerProcess(h.arguments())
            try await Task.sleep(for: .milliseconds(100 + Int(rng.next() % 1_400)))
            let applied = try await h.scalar("SELECT replicas::text FROM platform.workers WHERE name = 'lead-enricher'")
            if applied != String(replicas) { killedWhileWorking += 1 }
            controller.signal(SIGKILL)
            _ = try await controller.exit(within: .seconds(10))
            let violations = try await db.withSession { try await FaultInvariants.violations($0) }
            #expect(violations.isEmpty, "after kill \(run): \(violations.joined(separator: "; "))")
        }
        print("fault figures: 20 controllers killed with SIGKILL, \(killedWhileWorking) before applying their commit, invariants held after each")

        let last = try ControllerProcess(h.arguments())
        #expect(try await eventually { last.logs.contains("reconciled") }, "the restarted controller runs its own pass")
        #expect(try await eventually {
            try await h.scalar("SELECT replicas::text FROM platform.workers WHERE name = 'lead-enricher'") == String(replicas)
        }, "a restarted controller converges on the last commit")
        last.signal(SIGTERM)
        let status = try await last.exit(within: .seconds(10))
        #expect(status == 0, "exit \(status.map(String.init) ?? "none"): \(last.logs.suffix(1500))")
        let violations = try await db.withSession { try await FaultInvariants.violations($0) }
        #expect(violations.isEmpty, "\(violations)")
        #expect(try await h.scalar("SELECT count(*)::text FROM accord.audit_log WHERE action = 'erase'") == "1")
    }
}
