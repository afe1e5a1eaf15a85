import AccordCore
@testable import AccordStore
import AccordTestSupport
import Foundation
import Testing

/// Faults injected into `accordctl apply`: SIGKILL at random points over
/// many runs, and a PostgreSQL crash-restart in the middle of an apply.
/// After each fault every object is as before or as after, no tenant has
/// two active keys, no erasure two certificates, and the next apply
/// converges. Figures are printed for docs/reliability.md.
@Suite(TestDatabase.required, .timeLimit(.minutes(10)))
struct FaultTests {
    /// 60 tenants with 10 workers each, one erasure per tenant; revision
    /// `a` and `b` differ in every worker's replicas.
    static func platform(replicas: Int) -> [String: String] {
        var files = GeneratedPlatform.files(tenants: 0)
        for t in 0..<60 {
            var text = GeneratedPlatform.tenant("t\(t)", replicas: replicas)
            text += "---\napiVersion: accord.dev/v1\nkind: Erasure\nmetadata: {name: e\(t), tenant: t\(t)}\n"
            text += "spec: {subjectEmailHash: \"sha256:\(String(repeating: "b", count: 64))\", requestedAt: 2026-11-18T09:00:00Z, legalBasis: gdpr-art17}\n"
            files["tenants/t\(t).yaml"] = text
        }
        return files
    }

    /// The invariants; false (and a failed expectation) when one does not hold.
    @discardableResult
    static func check(_ session: Session, _ label: String, revisions: Set<String>? = nil,
                      migrating: FaultInvariants.Migrating = .mustBeComplete) async throws -> Bool {
        let violations = try await FaultInvariants.violations(session, revisions: revisions, migrating: migrating)
        #expect(violations.isEmpty, "\(label): \(violations.joined(separator: "; "))")
        return violations.isEmpty
    }

    /// Workers at revision `a` and at `b` (replicas 1 + n or 2 + n for
    /// worker `wn`), and workers that are neither or whose replicas are not
    /// those of the revision their inventory entry names: each worker must
    /// be wholly as before or as after.
    static func workers(_ session: Session, a: String, b: String) async throws -> (a: Int, b: Int, wrong: [String]) {
        var counts = (a: 0, b: 0, wrong: [String]())
        // Killed while migrating: no workers yet.
        guard try await session.scalar("SELECT to_regclass('platform.workers')::text") != nil else { return counts }
        for row in try await session.rows("""
            SELECT w.tenant || '/' || w.name, w.replicas::int8, substr(w.name, 2)::int8, i.applied_revision
            FROM platform.workers w JOIN accord.inventory i ON i.kind = 'Worker' AND i.tenant = w.tenant AND i.name = w.name
            """) {
            let (id, replicas, n, revision) = try row.decode((String, Int, Int, String?).self)
            if replicas == n + 1 && revision == a {
                counts.a += 1
            } else if replicas == n + 2 && revision == b {
                counts.b += 1
            } else {
                counts.wrong.append("\(id): replicas \(replicas), entry written by \(revision.map { String($0.prefix(8)) } ?? "none")")
            }
        }
        return counts
    }

    @Test func thirtyAppliesKilledAtRandomPointsLeaveNothingHalfDoneAndConverge() async throws {
        let db = try await TestDatabase.scratch()
        defer { Task { await db.drop() } }
        let fx = try CLITests.repo(files: Self.platform(replicas: 1))
        let a = try fx.head
        for (path, text) in Self.platform(replicas: 2) { try fx.write(path, text) }
        _ = try fx.commit("b")
        let b = try fx.head
        var env = ProcessInfo.processInfo.environment.merging(["DATABASE_URL": db.urlText]) { $1 }
        env["ACCORD_KEK_FILE"] = CLITests.kekFile
        env["ACCORD_TRUSTED_KEYS_DIR"] = ExampleKeys.trustedDirectory
        env["ACCORD_SIGNING_KEY_FILE"] = ExampleKeys.path("controller-signing.pem")

        var rng = SeededRandom(seed: 8)
        var killed = 0
        var mixed = 0
        var workersChecked = 0
        var broken = 0
        let runs = 30
        let password = SecretScan.password(of: db.urlText).map { [$0] } ?? []
        for run in 0..<runs {
            let process = Process()
            process.executableURL = try CLITests.binary()
            process.arguments = ["apply", "--repo", fx.root.path, "--ref", run % 2 == 0 ? a : b, "--full"]
            process.environment = env
            // What a killed apply managed to print is scanned for secrets too.
            let output = OutputFile()
            defer { output.remove() }
            let handle = try output.handle()
            process.standardOutput = handle
            process.standardError = handle
            try process.run()
            try await Task.sleep(for: .milliseconds(Int(rng.next() % 1_000)))
            if process.isRunning {
                kill(process.processIdentifier, SIGKILL)
                killed += 1
            }
            guard await process.exited(within: .seconds(120), "apply \(run)") else { return }
            let leaks = SecretScan.leaks(output.text, passwords: password)
            #expect(leaks.isEmpty, "run \(run) printed \(leaks.joined(separator: ", "))")
            try await db.withSession { session in
                let held = try await Self.check(session, "run \(run)", revisions: [a, b], migrating: .mayBeIncomplete)
                let workers = try await Self.workers(session, a: a, b: b)
                if !held || !workers.wrong.isEmpty { broken += 1 }
                #expect(workers.wrong.isEmpty, "run \(run): \(workers.wrong.count) workers neither as at a nor as at b: \(workers.wrong.prefix(5))")
                if workers.a > 0 && workers.b > 0 { mixed += 1 }
                workersChecked += workers.a + workers.b + workers.wrong.count
            }
        }
        print("fault figures: \(runs) applies, \(killed) killed by SIGKILL at random points, \(mixed) left a mix of revision a and b workers; "
              + "\(workersChecked) worker rows checked against their revision; objects lost or half-applied: after \(broken) of \(runs) runs")
        #expect(killed >= 20, "most runs are killed mid-way (the rest finished first)")

        let finish = try await CLITests.accordctl(["apply", "--repo", fx.root.path, "--ref", b], environment: ["DATABASE_URL": db.urlText])
        #expect(finish.status == 0, "\(finish.stdout)\(finish.stderr)")
        let diff = try await CLITests.accordctl(["diff", "--repo", fx.root.path, "--ref", b], environment: ["DATABASE_URL": db.urlText])
        #expect(diff.status == 0, "\(diff.stdout)")
        try await db.withSession { session in
            try await Self.check(session, "after convergence", revisions: [a, b])
            let workers = try await Self.workers(session, a: a, b: b)
            #expect(workers.b == 600 && workers.a == 0 && workers.wrong.isEmpty, "every worker at b: \(workers.a), \(workers.b), \(workers.wrong.prefix(5))")
            let stored = try await SecretScan.storedLeaks(session, passwords: password)
            #expect(stored.isEmpty, "\(stored.prefix(5))")
            #expect(try await session.scalar("SELECT count(*)::text FROM accord.erasure_certificates") == "60", "one certificate per erasure")
            #expect(try await session.scalar("SELECT count(*)::text FROM accord.audit_log WHERE action = 'erase'") == "60")
            #expect(try await session.scalar("SELECT count(*)::text FROM accord.tenant_keys") == "60", "one key per tenant, version 1")
        }
    }

    /// `accordctl ARGS` started with every key the tests use and
    /// `ACCORD_TEST_STOP_AT=stopAt`, returned once it holds itself there
    /// (or has exited, or two minutes passed: the caller checks `isStopped`).
    static func launchHeld(_ args: [String], environment env: [String: String], stopAt: String,
                           out: OutputFile, err: OutputFile) async throws -> Process {
        let process = Process()
        process.executableURL = try CLITests.binary()
        process.arguments = args
        var environment = ProcessInfo.processInfo.environment.merging(env) { $1 }
        environment["ACCORD_KEK_FILE"] = CLITests.kekFile
        environment["ACCORD_TRUSTED_KEYS_DIR"] = ExampleKeys.trustedDirectory
        environment["ACCORD_SIGNING_KEY_FILE"] = ExampleKeys.path("controller-signing.pem")
        environment["ACCORD_TEST_STOP_AT"] = stopAt
        process.environment = environment
        process.standardOutput = try out.handle()
        process.standardError = try err.handle()
        try process.run()
        let deadline = ContinuousClock.now + .seconds(120)
        while ContinuousClock.now < deadline, process.isRunning, !Self.isStopped(process.processIdentifier) {
            try await Task.sleep(for: .milliseconds(5))
        }
        return process
    }

    /// Whether the process is stopped (state `T` in `/proc/PID/stat`).
    static func isStopped(_ pid: Int32) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return false }
        return stat[stat.index(close, offsetBy: 2)...].hasPrefix("T")
    }

    /// On a durable cluster (`fsync`, `synchronous_commit` and
    /// `full_page_writes` on, as in production), the server stops as if it
    /// crashed while an apply with every key writes 450 tenants and 4,500
    /// workers — right after its second tenant transaction committed
    /// (`ACCORD_TEST_STOP_AT` holds the apply there while the server goes
    /// down): every object a client had seen committed just before the
    /// crash is there after recovery, nothing is half-applied, the audit
    /// chain verifies, and the next apply converges.
    @Test func aPostgresCrashRestartMidApplyLosesNothingAndTheNextApplyConverges() async throws {
        let cluster = try PrivateCluster.start(["ACCORD_PG_DURABLE": "1"])
        defer { cluster.stop() }
        #expect(try await cluster.session { try await $0.scalar("SELECT current_setting('fsync') || ' ' || current_setting('synchronous_commit')") }
                == "on on", "a durable cluster")
        let fx = try CLITests.repo(files: GeneratedPlatform.files(tenants: 450, ownSchemaEvery: 10))
        let env = ["DATABASE_URL": cluster.url]
        let out = OutputFile(), err = OutputFile()
        defer { out.remove(); err.remove() }
        // The apply stops itself right after its second tenant transaction commits; the server
        // crashes then, and the apply goes on with its connection gone.
        let process = try await Self.launchHeld(["apply", "--repo", fx.root.path], environment: env, stopAt: "batch-committed:Tenant:2",
                                                out: out, err: err)
        #expect(Self.isStopped(process.processIdentifier), "the apply reached its second tenant transaction and stopped there")
        // What a client sees committed at that moment is what must survive.
        let seen = try await cluster.session { s in
            Set(try await s.rows("SELECT kind || '/' || tenant || '/' || name FROM accord.inventory").map { try $0.decode(String.self) })
        }
        try cluster.restartImmediately()
        kill(process.processIdentifier, SIGCONT)
        #expect(seen.count == 402, "the policy, the model and two transactions of 200 tenants: \(seen.count)")

        // A statement whose connection the server cut must not hang the apply.
        guard await process.exited(within: .seconds(120), "the apply interrupted by the crash") else { return }
        let stderr = err.text
        #expect(process.terminationStatus == 2, "the interrupted apply reports an error: \(stderr)")
        let password = SecretScan.password(of: cluster.url).map { [$0] } ?? []
        let leaks = SecretScan.leaks(out.text + stderr, passwords: password)
        #expect(leaks.isEmpty, "no secret in the interrupted apply's output: \(leaks)")
        let afterCrash = try await cluster.session { s in
            Set(try await s.rows("SELECT kind || '/' || tenant || '/' || name FROM accord.inventory").map { try $0.decode(String.self) })
        }
        let lost = seen.subtracting(afterCrash)
        #expect(lost.isEmpty, "every object seen committed before the crash is there after recovery: \(lost.count) lost, e.g. \(lost.sorted().prefix(3))")
        print("durability figures: \(seen.count) objects seen committed before the crash, \(afterCrash.count) after recovery, \(lost.count) lost")
        _ = try await cluster.session { try await Self.check($0, "after the crash") }

        let again = try await CLITests.accordctl(["apply", "--repo", fx.root.path], environment: env)
        #expect(again.status == 0, "\(again.stderr)")
        let diff = try await CLITests.accordctl(["diff", "--repo", fx.root.path], environment: env)
        #expect(diff.status == 0, "\(diff.stdout)")
        try await cluster.session { session in
            try await Self.check(session, "after convergence")
            let stored = try await SecretScan.storedLeaks(session, passwords: password)
            #expect(stored.isEmpty, "\(stored.prefix(5))")
        }
    }
}
