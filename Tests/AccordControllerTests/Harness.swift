@testable import AccordController
import AccordCore
import AccordHTTP
import AccordStore
import AccordTestSupport
import Foundation
import Logging
import Prometheus
import Testing

/// A controller in process against a scratch database and a real bare
/// repository (served to it as a `file://` URL, so it keeps a mirror), with
/// a work tree that pushes commits to it.
final class Harness: Sendable {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let kekBytes: [UInt8] = (0..<32).map { UInt8(($0 * 37 + 11) % 256) }
    static let keys = root.appendingPathComponent("examples/keys")
    static var signingKeyFile: String { ExampleKeys.path("controller-signing.pem") }

    let db: ScratchDatabase
    let work: GitFixture
    let bare: URL
    let scratch: URL

    init() async throws {
        db = try await TestDatabase.scratch()
        scratch = FileManager.default.temporaryDirectory.appendingPathComponent("accord-ctl-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        bare = scratch.appendingPathComponent("origin.git")
        try GitFixture.run(["git", "init", "-q", "--bare", "-b", "main", bare.path])
        work = try GitFixture(copying: Self.root.appendingPathComponent("examples/platform"))
        try work.commit("the example platform")
        try work.git("remote", "add", "origin", bare.path)
        try work.git("push", "-q", "origin", "main")
        try SecretFixture.write(Data(Self.kekBytes), to: scratch.appendingPathComponent("kek"))
        try SecretFixture.write("hook-secret-for-e2e\n", to: scratch.appendingPathComponent("hook"))
        // A git token every controller of the suite is configured with (its
        // file:// remote needs none): the log scans look for it.
        try SecretFixture.write(SecretScan.gitToken + "\n", to: scratch.appendingPathComponent("git-token"))
        let trusted = scratch.appendingPathComponent("trusted")
        try FileManager.default.createDirectory(at: trusted, withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: Self.keys.appendingPathComponent("model-signing.pub.pem"),
                                         to: trusted.appendingPathComponent("model-signing.pub.pem"))
    }

    deinit { try? FileManager.default.removeItem(at: scratch) }


    var webhookSecret: [UInt8] { Array("hook-secret-for-e2e".utf8) }

    /// Replaces exactly one occurrence of `old` in `path` of the work tree.
    func edit(_ path: String, _ old: String, _ new: String) throws {
        let url = work.root.appendingPathComponent(path)
        let text = try String(contentsOf: url, encoding: .utf8)
        precondition(text.components(separatedBy: old).count == 2, "\(old) must occur once in \(path)")
        try text.replacingOccurrences(of: old, with: new).write(to: url, atomically: true, encoding: .utf8)
    }

    /// Commits the work tree and pushes it to the bare repository.
    @discardableResult
    func commitAndPush(_ message: String) throws -> String {
        let commit = try work.commit(message)
        try work.git("push", "-q", "origin", "main")
        return commit
    }

    /// `edit`, then `commitAndPush`.
    @discardableResult
    func push(_ path: String, _ old: String, _ new: String, message: String = "change") throws -> String {
        try edit(path, old, new)
        return try commitAndPush(message)
    }

    func config(_ flags: [String: String] = [:], databaseURL: String? = nil) throws -> ControllerConfig {
        var all = [
            "repo": "file://" + bare.path, "branch": "main", "database-url": databaseURL ?? db.urlText,
            "interval": "100ms", "resync": "1h", "kek-file": scratch.appendingPathComponent("kek").path,
            "webhook-secret-file": scratch.appendingPathComponent("hook").path,
            "signing-key-file": Self.signingKeyFile, "trusted-keys-dir": scratch.appendingPathComponent("trusted").path,
            "retry-min": "200ms", "retry-max": "2s", "leader-poll": "200ms", "listen": "127.0.0.1:0",
        ]
        all.merge(flags) { $1 }
        // With a regions file the control database is the file's.
        if flags["regions-file"] != nil { all["database-url"] = nil }
        return try ControllerConfig.resolve(flags: all, environment: ["ACCORD_CACHE_DIR": scratch.appendingPathComponent("cache").path,
                                                                      "ACCORD_GIT_PASSWORD_FILE": scratch.appendingPathComponent("git-token").path])
    }

    func scalar(_ sql: String) async throws -> String? {
        try await db.withSession { try await $0.scalar(sql) }
    }

    func execute(_ sql: String) async throws {
        try await db.withSession { try await $0.script(sql) }
    }
}

/// One running controller: its services (built as the executable builds
/// them) and its logs.
struct Running: Sendable {
    let services: ControllerServices
    let logs: LogBuffer

    var config: ControllerConfig { services.config }
    var state: ControllerState { services.state }
    var doorbell: Doorbell { services.doorbell }
    var registry: PrometheusCollectorRegistry { services.registry }
    var http: HTTPServer.Dependencies { services.http }
    var deliveries: DeliveryLog { services.http.deliveries }

    var metricsText: String { registry.emitToString() }

    /// Fails the test when an answer of the HTTP API shows a secret: the
    /// suite's keys, the webhook secret, or this controller's database
    /// password.
    func expectNoSecret(_ body: String, _ what: String, sourceLocation: SourceLocation = #_sourceLocation) {
        let leaks = SecretScan.leaks(body, passwords: [config.databaseURL.password].compactMap { $0 })
        #expect(leaks.isEmpty, "\(what) shows \(leaks.joined(separator: ", "))", sourceLocation: sourceLocation)
    }

    func isLeaderReady() async -> Bool {
        let s = await state.current
        return s.role == .leader && s.ready
    }
}


/// Runs a controller until `body` returns, then shuts it down as SIGTERM would.
func withController<T: Sendable>(_ config: ControllerConfig, logs: LogBuffer = LogBuffer(), redactor: LogRedactor = LogRedactor(secrets: []),
                                 _ body: (Running) async throws -> T) async throws -> T {
    let services = ControllerServices.build(config: config) { label in
        StructuredLogHandler(label: label, level: .trace, format: .json, sink: logs, redactor: redactor)
    }
    let running = Running(services: services, logs: logs)
    return try await withThrowingTaskGroup(of: Void.self, returning: T.self) { group in
        group.addTask { try await services.controller.run() }
        // Every in-process controller's log, scanned once it has stopped.
        func scanLogs() {
            let leaks = SecretScan.leaks(logs.text, passwords: [config.databaseURL.password].compactMap { $0 })
            #expect(leaks.isEmpty, "the controller logged \(leaks.joined(separator: ", "))")
        }
        do {
            let result = try await body(running)
            running.doorbell.shutdown()
            try await group.waitForAll()
            scanLogs()
            return result
        } catch {
            running.doorbell.shutdown()
            try? await group.waitForAll()
            scanLogs()
            throw error
        }
    }
}

/// Polls `check` every 50 ms until it holds or `within` passes. The default
/// is generous: the whole suite runs in parallel on small machines, and a
/// first pass there can take many seconds; the tests that measure a bound
/// (five seconds for a hand-over) pass their own.
func eventually(within: Duration = .seconds(90), _ check: () async throws -> Bool) async throws -> Bool {
    let deadline = ContinuousClock.now.advanced(by: within)
    while ContinuousClock.now < deadline {
        if try await check() { return true }
        try await Task.sleep(for: .milliseconds(50))
    }
    return try await check()
}
