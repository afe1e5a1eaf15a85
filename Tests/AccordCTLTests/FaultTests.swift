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
@Suite(TestDatabase.required)
struct FaultTests {
    /// 60 tenants with 10 workers each, one erasure per tenant; revision
    /// `a` and `b` differ in every worker's replicas.
    static func platform(replicas: Int) -> [String: String] {
        var files = GeneratedPlatform.files(tenants: 0)
        for t in 0..<60 {
            var text = "apiVersion: accord.dev/v1\nkind: Tenant\nmetadata: {name: t\(t)}\nspec: {displayName: T\(t), plan: pro, region: eu, gdpr: {retentionPolicy: std}}\n"
            for w in 0..<10 {
                text += "---\napiVersion: accord.dev/v1\nkind: Worker\nmetadata: {name: w\(w), tenant: t\(t)}\nspec: {role: r, model: m, replicas: \(replicas + w)}\n"
            }
            text += "---\napiVersion: accord.dev/v1\nkind: Erasure\nmetadata: {name: e\(t), tenant: t\(t)}\n"
            text += "spec: {subjectEmailHash: \"sha256:\(String(repeating: "b", count: 64))\", requestedAt: 2026-11-18T09:00:00Z, legalBasis: gdpr-art17}\n"
            files["tenants/t\(t).yaml"] = text
        }
        return files
    }

    static func check(_ session: Session, _ label: String) async throws {
        let violations = try await FaultInvariants.violations(session)
        #expect(violations.isEmpty, "\(label): \(violations.joined(separator: "; "))")
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
        let runs = 30
        for run in 0..<runs {
            let process = Process()
            process.executableURL = try CLITests.binary()
            process.arguments = ["apply", "--repo", fx.root.path, "--ref", run % 2 == 0 ? a : b, "--full"]
            process.environment = env
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            try await Task.sleep(for: .milliseconds(Int(rng.next() % 1_000)))
            if process.isRunning {
                kill(process.processIdentifier, SIGKILL)
                killed += 1
            }
            process.waitUntilExit()
            try await db.withSession { try await Self.check($0, "run \(run)") }
        }
        print("fault figures: \(runs) applies, \(killed) killed by SIGKILL at random points, invariants held after each")
        #expect(killed >= 20, "most runs are killed mid-way (the rest finished first)")

        let finish = try CLITests.accordctl(["apply", "--repo", fx.root.path, "--ref", b], environment: ["DATABASE_URL": db.urlText])
        #expect(finish.status == 0, "\(finish.stdout)\(finish.stderr)")
        let diff = try CLITests.accordctl(["diff", "--repo", fx.root.path, "--ref", b], environment: ["DATABASE_URL": db.urlText])
        #expect(diff.status == 0, "\(diff.stdout)")
        try await db.withSession { session in
            try await Self.check(session, "after convergence")
            #expect(try await session.scalar("SELECT count(*)::text FROM accord.erasure_certificates") == "60", "one certificate per erasure")
            #expect(try await session.scalar("SELECT count(*)::text FROM accord.audit_log WHERE action = 'erase'") == "60")
            #expect(try await session.scalar("SELECT count(*)::text FROM accord.tenant_keys") == "60", "one key per tenant, version 1")
        }
    }

    @Test func aPostgresCrashRestartMidApplyLosesNothingAndTheNextApplyConverges() async throws {
        let cluster = try PrivateCluster.start()
        defer { cluster.stop() }
        let fx = try CLITests.repo(files: GeneratedPlatform.files(tenants: 200))
        let env = ["DATABASE_URL": cluster.url]
        let process = Process()
        process.executableURL = try CLITests.binary()
        process.arguments = ["apply", "--repo", fx.root.path]
        process.environment = ProcessInfo.processInfo.environment.merging(env) { $1 }
        let err = Pipe()
        process.standardOutput = FileHandle.nullDevice
        process.standardError = err
        try process.run()
        // Crash the server once the apply is writing.
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline, process.isRunning {
            let written = try? await cluster.session { try await $0.scalar("SELECT count(*)::text FROM accord.inventory") }
            if let written, written != "0" { break }
            try await Task.sleep(for: .milliseconds(5))
        }
        try cluster.restartImmediately()
        let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 2, "the interrupted apply reports an error: \(stderr)")
        #expect(!stderr.contains("accord:accord@"), "no password in the error")
        try await cluster.session { try await Self.check($0, "after the crash") }

        let again = try CLITests.accordctl(["apply", "--repo", fx.root.path], environment: env)
        #expect(again.status == 0, "\(again.stderr)")
        let diff = try CLITests.accordctl(["diff", "--repo", fx.root.path], environment: env)
        #expect(diff.status == 0, "\(diff.stdout)")
    }
}
