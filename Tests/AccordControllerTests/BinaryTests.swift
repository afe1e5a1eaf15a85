import AccordBuildInfo
import AccordCore
import AccordEngine
import AccordStore
import AccordTestSupport
import Foundation
import Testing

/// The built `accord-controller` as operators run it: settings, signals, exit status.
final class ControllerProcess {
    let process = Process()
    let logFile: URL

    static func binary() throws -> URL {
        let candidates = [
            URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("accord-controller"),
            URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("accord-controller"),
            Harness.root.appendingPathComponent(".build/debug/accord-controller"),
        ]
        guard let found = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0.path) }) else {
            throw Harness.Failure(description: "accord-controller is not built next to the tests; run `swift build --build-tests` first")
        }
        return found
    }

    init(_ args: [String], environment: [String: String] = [:]) throws {
        logFile = FileManager.default.temporaryDirectory.appendingPathComponent("accord-controller-\(UUID().uuidString).log")
        _ = FileManager.default.createFile(atPath: logFile.path, contents: nil)
        process.executableURL = try Self.binary()
        process.arguments = args
        var env = ProcessInfo.processInfo.environment
        for key in env.keys where key.hasPrefix("ACCORD_") || key == "DATABASE_URL" { env[key] = nil }
        process.environment = env.merging(environment) { $1 }
        process.standardOutput = FileHandle.nullDevice
        process.standardError = try FileHandle(forWritingTo: logFile)
        try process.run()
    }

    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        try? FileManager.default.removeItem(at: logFile)
    }

    var logs: String { (try? String(contentsOf: logFile, encoding: .utf8)) ?? "" }

    func signal(_ signal: Int32) { kill(process.processIdentifier, signal) }

    /// Waits for the exit; nil when it does not come within `within`.
    func exit(within: Duration) async throws -> Int32? {
        let deadline = ContinuousClock.now.advanced(by: within)
        while process.isRunning {
            if ContinuousClock.now >= deadline { return nil }
            try await Task.sleep(for: .milliseconds(50))
        }
        let urls = (process.arguments ?? []).filter { $0.hasPrefix("postgres") } + [process.environment?["DATABASE_URL"]].compactMap { $0 }
        let leaks = SecretScan.leaks(logs, passwords: urls.compactMap { SecretScan.password(of: $0) })
        #expect(leaks.isEmpty, "accord-controller logged \(leaks.joined(separator: ", "))")
        return process.terminationStatus
    }
}

extension Harness {
    struct Failure: Error, CustomStringConvertible { let description: String }

    func arguments(_ extra: [String] = []) -> [String] {
        ["--repo", work.root.path, "--database-url", db.urlText, "--interval", "200ms", "--leader-poll", "200ms",
         "--listen", "127.0.0.1:0", "--kek-file", scratch.appendingPathComponent("kek").path,
         "--signing-key-file", Self.signingKeyFile, "--trusted-keys-dir", scratch.appendingPathComponent("trusted").path] + extra
    }
}

@Suite(.timeLimit(.minutes(3))) struct BinarySettingsTests {
    /// Both executables say their release and the commit they were built
    /// from (`-modified` when tracked files differed from it).
    @Test func bothBinariesSayTheirVersionAndCommit() async throws {
        let git = try await ToolRun.run(URL(fileURLWithPath: "/usr/bin/git"), ["-C", Harness.root.path, "rev-parse", "HEAD"], environment: [:])
        let head = git.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        try #require(git.status == 0 && head.count == 40, "the tests run in a git checkout: \(git.stderr)")
        let controller = try ControllerProcess.binary()
        let accordctl = controller.deletingLastPathComponent().appendingPathComponent("accordctl")
        for (binary, prefix) in [(controller, "accord-controller "), (accordctl, "")] {
            let run = try await ToolRun.run(binary, ["--version"], environment: [:])
            let line = run.stdout.trimmingCharacters(in: CharacterSet.newlines)
            #expect(run.status == 0 && (line == "\(prefix)\(AccordBuild.version) (commit \(head))"
                                        || line == "\(prefix)\(AccordBuild.version) (commit \(head)-modified)"), "\(binary.lastPathComponent): \(line)")
        }
        #expect(AccordBuild.commit.hasPrefix(head), "the test binary is built from the same commit")
    }

    /// Both executables allocate through jemalloc (Package.swift): asked
    /// through its own setting, the allocator in the process prints its
    /// statistics at exit, which glibc's malloc ignores.
    @Test func bothBinariesAllocateThroughJemalloc() async throws {
        let controller = try ControllerProcess.binary()
        let accordctl = controller.deletingLastPathComponent().appendingPathComponent("accordctl")
        for binary in [controller, accordctl] {
            let run = try await ToolRun.run(binary, ["--version"], environment: ["MALLOC_CONF": "stats_print:true"])
            #expect(run.status == 0, "\(binary.lastPathComponent): \(run.stderr)")
            #expect(run.stderr.contains("___ Begin jemalloc statistics ___"), "\(binary.lastPathComponent) does not allocate through jemalloc")
        }
    }

    /// A guard against a hang, not a speed bound: these run beside the whole
    /// parallel suite, whose tests start keygens and git processes.
    static let exitBound: Duration = .seconds(60)

    @Test func aBadSettingExitsTwoBeforeAnythingStarts() async throws {
        let run = try ControllerProcess(["--repo", "/", "--no-prune", "--interval", "soon"], environment: ["DATABASE_URL": "postgres://u:pw-not-shown-123@127.0.0.1:1/db"])
        #expect(try await run.exit(within: Self.exitBound) == 2)
        #expect(run.logs == "accord-controller: error: --interval (ACCORD_INTERVAL): must be a duration such as 30s, 5m or 250ms; got \"soon\"\n")

        let noDB = try ControllerProcess(["--repo", "/"])
        #expect(try await noDB.exit(within: Self.exitBound) == 2)
        #expect(noDB.logs.contains("--database-url (DATABASE_URL): required"))

        let env = try ControllerProcess([], environment: ["ACCORD_REPO": "/", "DATABASE_URL": "postgres://h/db", "ACCORD_LOG_FORMAT": "yaml"])
        #expect(try await env.exit(within: Self.exitBound) == 2)
        #expect(env.logs.contains("--log-format (ACCORD_LOG_FORMAT): must be json or logfmt"))

        // What the argument parser refuses is a bad setting too: 2, not 64.
        for args in [["--repo", "/", "--resyc", "5m"], ["--repo", "/", "--interval"], ["--bogus"]] {
            let usage = try ControllerProcess(args, environment: ["DATABASE_URL": "postgres://h/db"])
            #expect(try await usage.exit(within: Self.exitBound) == 2, "\(args)")
            #expect(usage.logs.hasPrefix("accord-controller: error: "), "\(args): \(usage.logs)")
        }
    }
}

@Suite(TestDatabase.required, .serialized, .timeLimit(.minutes(5)), .tags(.timeBounded))
struct BinaryTests {
    /// One controller run that applies the repository and stops on SIGTERM.
    static func applyOnceAndStop(_ h: Harness) async throws {
        let first = try ControllerProcess(h.arguments(["--log-format", "logfmt"]))
        #expect(try await eventually { first.logs.contains("msg=reconciled") })
        first.signal(SIGTERM)
        #expect(try await first.exit(within: .seconds(10)) == 0)
    }

    /// SIGTERM while a pass is inside its one transaction: it commits, the
    /// lock is released, the exit status is 0, within ten seconds.
    /// A trusted-keys directory with nothing usable is said at start, with
    /// each file skipped and why; the controller runs on (rollbacks apply).
    @Test func aTrustedKeysDirectoryWithoutAKeyIsAWarningAtStart() async throws {
        let h = try await Harness()
        let db = h.db
        defer { Task { await db.drop() } }
        let keys = h.scratch.appendingPathComponent("no-keys")
        try FileManager.default.createDirectory(at: keys, withIntermediateDirectories: true)
        try Data("not a key\n".utf8).write(to: keys.appendingPathComponent("notes.txt"))
        var arguments = h.arguments()
        arguments[arguments.firstIndex(of: "--trusted-keys-dir")! + 1] = keys.path
        let controller = try ControllerProcess(arguments)
        #expect(try await eventually { controller.logs.contains("holds no usable key") })
        let logs = controller.logs
        #expect(logs.contains("the trusted keys directory \(keys.path): skipped notes.txt: not named *.pem or *.pub"), "\(logs.prefix(2000))")
        #expect(logs.contains("the trusted keys directory \(keys.path) holds no usable key (*.pem or *.pub): no model version will be promoted"))
        #expect(try await eventually { controller.logs.contains("reconciled") }, "it runs on: \(controller.logs.suffix(3000))")
        controller.signal(SIGTERM)
        #expect(try await controller.exit(within: .seconds(10)) == 0)
    }

    @Test func sigtermMidReconcileFinishesThePassAndExitsZero() async throws {
        let h = try await Harness()
        let db = h.db
        defer { Task { await db.drop() } }
        try await Self.applyOnceAndStop(h)

        // The next pass sleeps inside its transaction where it updates workers.
        try await h.execute("""
            CREATE FUNCTION public.slow_workers() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN PERFORM pg_sleep(2); RETURN NULL; END $$;
            CREATE TRIGGER slow_workers AFTER UPDATE ON platform.workers FOR EACH STATEMENT EXECUTE FUNCTION public.slow_workers()
            """)
        let url = h.work.root.appendingPathComponent("workers/northwind.yaml")
        let text = try String(contentsOf: url, encoding: .utf8)
        try text.replacingOccurrences(of: "replicas: 4", with: "replicas: 6").write(to: url, atomically: true, encoding: .utf8)
        let changed = try h.work.commit("scale enricher")

        let second = try ControllerProcess(h.arguments())
        #expect(try await eventually {
            try await h.scalar("SELECT count(*)::text FROM pg_stat_activity WHERE wait_event = 'PgSleep' AND datname = current_database()") == "1"
        })
        let signalled = ContinuousClock.now
        second.signal(SIGTERM)
        #expect(try await second.exit(within: .seconds(10)) == 0)
        #expect(ContinuousClock.now - signalled < .seconds(10))
        #expect(try await h.scalar("SELECT replicas::text FROM platform.workers WHERE name = 'lead-enricher'") == "6", "the pass in hand finished")
        #expect(try await h.scalar("SELECT revision FROM accord.revisions ORDER BY id DESC LIMIT 1") == changed)
        #expect(try await h.scalar("SELECT count(*)::text FROM pg_locks WHERE locktype = 'advisory' AND database = (SELECT oid FROM pg_database WHERE datname = current_database())") == "0", "every lock released")
        #expect(second.logs.contains("\"msg\":\"stopped\""))
    }

    /// A pass far longer than the 10 s shutdown bound (200 new tenants with
    /// schemas of their own, so ten transactions of 20, each slowed by 1.5 s): SIGTERM stops it between
    /// two transactions, the process exits 0 within 10 s, every tenant is
    /// whole or absent, and the next run finishes the rest.
    @Test func sigtermStopsALongPassBetweenTransactionsWithinTenSeconds() async throws {
        let h = try await Harness()
        let db = h.db
        defer { Task { await db.drop() } }
        try await Self.applyOnceAndStop(h)
        let before = try #require(Int(try await h.scalar("SELECT count(*)::text FROM platform.tenants") ?? ""))

        try await h.execute("""
            CREATE FUNCTION public.slow_tenants() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN PERFORM pg_sleep(1.5); RETURN NULL; END $$;
            CREATE TRIGGER slow_tenants AFTER INSERT ON platform.tenants FOR EACH STATEMENT EXECUTE FUNCTION public.slow_tenants()
            """)
        let bulk = 10 * ExecutionOrder.schemaTenantsPerBatch
        let yaml = (0..<bulk).map { i in
            """
            apiVersion: accord.dev/v1
            kind: Tenant
            metadata:
              name: bulk-\(i)
            spec:
              displayName: Bulk \(i)
              plan: starter
              isolation: schema
              region: eu

            """
        }.joined(separator: "---\n")
        try yaml.write(to: h.work.root.appendingPathComponent("tenants/bulk.yaml"), atomically: true, encoding: .utf8)
        let commit = try h.work.commit("200 tenants with schemas of their own")

        let second = try ControllerProcess(h.arguments(["--log-format", "logfmt"]))
        // Wait until the pass is inside its second transaction's sleep.
        #expect(try await eventually(within: .seconds(60)) {
            let started = try await h.scalar("SELECT count(*)::text FROM platform.tenants WHERE name LIKE 'bulk-%'") != "0"
            let sleeping = try await h.scalar("SELECT count(*)::text FROM pg_stat_activity WHERE wait_event = 'PgSleep' AND datname = current_database()") == "1"
            return started && sleeping
        })
        let signalled = ContinuousClock.now
        second.signal(SIGTERM)
        #expect(try await second.exit(within: .seconds(10)) == 0)
        #expect(ContinuousClock.now - signalled < .seconds(10))
        #expect(second.logs.contains("the pass stopped between two transactions"))

        let written = try #require(Int(try await h.scalar("SELECT count(*)::text FROM platform.tenants WHERE name LIKE 'bulk-%'") ?? ""))
        #expect(written > 0 && written < bulk, "stopped mid-pass: \(written) of \(bulk)")
        #expect(written % ExecutionOrder.schemaTenantsPerBatch == 0, "whole transactions only: \(written)")
        #expect(try await h.scalar("""
            SELECT count(*)::text FROM platform.tenants t
            LEFT JOIN accord.inventory i ON i.kind = 'Tenant' AND i.name = t.name
            LEFT JOIN accord.tenant_keys k ON k.tenant = t.name
            WHERE i.name IS NULL OR k.tenant IS NULL
            """) == "0", "every tenant written has its inventory entry and its data key")
        #expect(try await h.scalar("SELECT count(*)::text FROM accord.inventory WHERE kind = 'Tenant' AND name LIKE 'bulk-%'") == String(written))
        #expect(try await h.scalar("SELECT result || ' ' || revision FROM accord.revisions ORDER BY id DESC LIMIT 1") == "interrupted \(commit)")
        #expect(try await h.scalar("SELECT count(*)::text FROM pg_locks WHERE locktype = 'advisory' AND database = (SELECT oid FROM pg_database WHERE datname = current_database())") == "0", "every lock released")

        // The next run takes up the rest.
        try await h.execute("DROP TRIGGER slow_tenants ON platform.tenants")
        let third = try ControllerProcess(h.arguments(["--log-format", "logfmt"]))
        #expect(try await eventually(within: .seconds(60)) {
            try await h.scalar("SELECT result FROM accord.revisions ORDER BY id DESC LIMIT 1") == "applied"
        })
        #expect(try await h.scalar("SELECT count(*)::text FROM platform.tenants") == String(before + bulk))
        third.signal(SIGTERM)
        #expect(try await third.exit(within: .seconds(10)) == 0)
    }

    /// Two processes: the leader is killed with SIGKILL; the standby leads within five seconds.
    @Test func killingTheLeaderHandsOverToTheStandby() async throws {
        let h = try await Harness()
        let db = h.db
        defer { Task { await db.drop() } }
        let a = try ControllerProcess(h.arguments())
        #expect(try await eventually { a.logs.contains("leader: holding the leader lock") && a.logs.contains("\"msg\":\"reconciled\"") })
        let b = try ControllerProcess(h.arguments())
        #expect(try await eventually { b.logs.contains("standby: waiting for the leader lock") })
        let killed = ContinuousClock.now
        a.signal(SIGKILL)
        #expect(try await eventually(within: .seconds(5)) { b.logs.contains("leader: holding the leader lock") })
        #expect(ContinuousClock.now - killed < .seconds(5))
        b.signal(SIGTERM)
        #expect(try await b.exit(within: .seconds(10)) == 0)
    }
}
