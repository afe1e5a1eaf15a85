import AccordCore
import AccordStore
import AccordTestSupport
import Foundation
import Testing

/// The controller killed with SIGKILL at random points while it applies a
/// stream of commits, each changing 1,500 workers so that its pass takes a
/// second or more and most kills land in the middle of it: after each kill
/// nothing is half-applied (`FaultInvariants`, every entry written by one
/// of the commits), and a restarted controller converges on the last
/// commit.
@Suite(TestDatabase.required, .serialized, .timeLimit(.minutes(10)))
struct ControllerFaultTests {
    /// Tenants `f0`… with ten workers each beside the example platform;
    /// worker `wn` has `offset + n` replicas, so every commit changes every
    /// generated worker.
    static let tenants = 150

    static func files(offset: Int) -> [String: String] {
        var files: [String: String] = [:]
        for (path, text) in GeneratedPlatform.files(tenants: tenants, prefix: "f", replicas: offset) { files["generated/" + path] = text }
        return files
    }

    /// Generated workers with the replicas of `offset`, and in all.
    static func workers(at offset: Int, _ h: Harness) async throws -> (at: Int, all: Int) {
        let at = try await h.scalar("""
            SELECT count(*)::text FROM platform.workers WHERE tenant LIKE 'f%' AND replicas = \(offset) + substr(name, 2)::int
            """)
        let all = try await h.scalar("SELECT count(*)::text FROM platform.workers WHERE tenant LIKE 'f%'")
        return (Int(at ?? "") ?? -1, Int(all ?? "") ?? -1)
    }

    @Test func twentyControllersKilledAtRandomPointsLeaveNothingHalfDoneAndTheNextConverges() async throws {
        let h = try await Harness()
        let db = h.db
        defer { Task { await db.drop() } }
        let password = SecretScan.password(of: db.urlText).map { [$0] } ?? []
        var commits: Set<String> = [try h.work.head]
        var rng = SeededRandom(seed: 21)
        var offset = 1
        var killedMidPass = 0, killedMidWrite = 0, killedBefore = 0, finishedFirst = 0, broken = 0
        let runs = 20
        for run in 0..<runs {
            // A new commit before each start, changing 1,500 workers, so every controller has a long pass to make.
            offset += 1
            for (path, text) in Self.files(offset: offset) { try h.work.write(path, text) }
            let commit = try h.work.commit("run \(run)")
            commits.insert(commit)
            let controller = try ControllerProcess(h.arguments())
            if run % 4 == 3 {
                // At a random moment of the process's life: start-up, migrations, the leader lock, the pass.
                try await Task.sleep(for: .milliseconds(100 + Int(rng.next() % 1_400)))
            } else {
                // At a random moment of the pass (about a second and a half on an idle machine, longer under load),
                // timed from its start so that start-up time does not decide where the kill lands.
                _ = try await eventually(within: .seconds(60)) { controller.logs.contains("new revision") }
                try await Task.sleep(for: .milliseconds(Int(rng.next() % 1_500)))
            }
            controller.signal(SIGKILL)
            _ = try await controller.exit(within: .seconds(10))

            // Where the kill landed: before the pass began, in it, or after it.
            let started = controller.logs.contains("new revision") && controller.logs.contains(commit)
            let applied = try await h.scalar("SELECT count(*)::text FROM accord.revisions WHERE revision = '\(commit)'") != "0"
            let workers = try await Self.workers(at: offset, h)
            if applied {
                finishedFirst += 1
            } else if started {
                killedMidPass += 1
                if workers.at > 0 { killedMidWrite += 1 }
            } else {
                killedBefore += 1
            }
            let violations = try await db.withSession { try await FaultInvariants.violations($0, revisions: commits, migrating: .mayBeIncomplete) }
            #expect(violations.isEmpty, "after kill \(run): \(violations.joined(separator: "; "))")
            if !violations.isEmpty { broken += 1 }
        }
        print("fault figures: \(runs) controllers killed with SIGKILL: \(killedMidPass) in the middle of their pass "
              + "(\(killedMidWrite) of them with part of the commit written), \(killedBefore) before it began, "
              + "\(finishedFirst) after it finished; objects lost or half-applied: after \(broken) of \(runs) kills")
        #expect(killedMidPass >= 10, "most kills land in the middle of a pass")

        let last = try ControllerProcess(h.arguments())
        #expect(try await eventually { last.logs.contains("reconciled") }, "the restarted controller runs its own pass")
        let final = offset
        #expect(try await eventually { try await Self.workers(at: final, h) == (Self.tenants * 10, Self.tenants * 10) },
                "a restarted controller converges on the last commit")
        last.signal(SIGTERM)
        let status = try await last.exit(within: .seconds(10))
        #expect(status == 0, "exit \(status.map(String.init) ?? "none"): \(last.logs.suffix(1500))")
        try await db.withSession { session in
            let violations = try await FaultInvariants.violations(session, revisions: commits)
            #expect(violations.isEmpty, "\(violations)")
            let stored = try await SecretScan.storedLeaks(session, passwords: password)
            #expect(stored.isEmpty, "\(stored.prefix(5))")
        }
        #expect(try await h.scalar("SELECT count(*)::text FROM accord.audit_log WHERE action = 'erase'") == "1")
    }
}
