@testable import AccordController
import AccordCore
import AccordStore
import AccordTestSupport
import Crypto
import Foundation
import Hummingbird
import Logging
import Synchronization
import Testing

/// A receiver on loopback, started and stopped by the test: it records
/// every request (path, headers, body) and answers with `status`; a
/// webhook's signature is checked with the shared secret.
final class TestReceiver: Sendable {
    struct Received: Sendable {
        let path: String
        let headers: [String: String]
        let body: String
        var json: JSONValue { (try? JSONParser.parse(body)) ?? .null }
    }

    let secret: [UInt8]
    let status = Mutex(200)
    /// How long each answer takes.
    let delay = Mutex(Duration.zero)
    private let log = Mutex<[Received]>([])
    private let task = Mutex<Task<Void, Error>?>(nil)
    private let boundPort = Mutex(0)

    init(secret: String) { self.secret = Array(secret.utf8) }

    var received: [Received] { log.withLock { $0 } }
    var port: Int { boundPort.withLock { $0 } }

    /// Starts listening (on `port`, or any free port the first time).
    func start(port: Int = 0) async throws {
        let router = Router()
        router.post("/**") { [self] request, _ -> Response in
            let body = try await request.body.collect(upTo: 1 << 20)
            var headers: [String: String] = [:]
            for field in request.headers { headers[field.name.canonicalName] = field.value }
            log.withLock { $0.append(Received(path: request.uri.path, headers: headers, body: String(buffer: body))) }
            let wait = delay.withLock { $0 }
            if wait > .zero { try await Task.sleep(for: wait) }
            return Response(status: .init(code: status.withLock { $0 }))
        }
        let bound = Mutex<Int?>(nil)
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)),
                              onServerRunning: { channel in bound.withLock { $0 = channel.localAddress?.port } },
                              logger: Logger(label: "test-receiver"))
        task.withLock { $0 = Task { try await app.run() } }
        // Under the suite's load a server can take seconds to come up; 30 s is a bound, not a speed.
        for _ in 0..<1500 where bound.withLock({ $0 }) == nil { try await Task.sleep(for: .milliseconds(20)) }
        let p = try #require(bound.withLock { $0 })
        boundPort.withLock { $0 = p }
    }

    /// Stops listening: connections are refused until `start` again.
    func stop() async {
        let t = task.withLock { t in defer { t = nil }; return t }
        t?.cancel()
        _ = try? await t?.value
    }

    /// Whether a webhook request carries the body's HMAC under the secret.
    func signatureIsValid(_ r: Received) -> Bool {
        let mac = HMAC<SHA256>.authenticationCode(for: Array(r.body.utf8), using: SymmetricKey(data: secret))
        return r.headers["x-accord-signature-256"] == "sha256=" + mac.map { String(format: "%02x", $0) }.joined()
    }
}

/// Notifications end to end (SPEC §11): events written with the changes
/// that cause them, delivered by the leader in order, once, to real
/// receivers on loopback that go down and come back.
@Suite(TestDatabase.required, .serialized, .timeLimit(.minutes(10)))
struct NotificationTests {
    static func notification(_ name: String, _ spec: String) -> String {
        "apiVersion: accord.dev/v1\nkind: Notification\nmetadata:\n  name: \(name)\nspec:\n" + spec
    }

    /// The harness with a secrets directory holding `files`.
    static func secrets(_ h: Harness, _ files: [String: String]) throws -> String {
        let dir = h.scratch.appendingPathComponent("secrets")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        for (name, text) in files { try SecretFixture.write(text + "\n", to: dir.appendingPathComponent(name)) }
        return dir.path
    }

    static func tenantsOnboarded(_ r: TestReceiver) -> [String] {
        r.received.filter { $0.json["event"] == .string("TenantOnboarded") }.compactMap { $0.json["object"]?.stringValue }
    }

    @Test func eventsReachAWebhookInOrderOnceAcrossAStoppedControllerAndADownReceiver() async throws {
        let h = try await Harness()
        let db = h.db
        defer { Task { await db.drop() } }
        let receiver = TestReceiver(secret: "hmac-key-for-tests")
        try await receiver.start()
        let port = receiver.port
        await receiver.stop()
        let secrets = try Self.secrets(h, ["hooks-key": "hmac-key-for-tests"])
        try h.work.write("notifications/hooks.yaml", Self.notification("hooks", """
              type: webhook
              address: http://127.0.0.1:\(port)/accord/events
              secret: hooks-key
              events: [TenantOnboarded, ErasureCompleted, DriftReverted]

            """))
        let first = try h.commitAndPush("notify the compliance hook")
        let flags = ["secrets-dir": secrets, "interval": "100ms"]

        // The receiver is down while the first controller applies: the events wait in the outbox,
        // and the controller stops before anything was delivered.
        let logs = LogBuffer()
        try await withController(try h.config(flags), logs: logs) { c in
            #expect(try await eventually { await c.isLeaderReady() })
            #expect(try await eventually { !logs.lines(msg: "notification not delivered; retrying with backoff, the events after it wait").isEmpty },
                    "\(logs.text)")
            let statuses = try await db.withSession { try await ObjectStatus.read($0, id: ObjectID(kind: .notification, name: "hooks")) }
            let status = try #require(statuses.first)
            #expect(!status.ready && status.conditions.first?.reason == "DeliveryFailed", "\(status.conditions)")
            #expect(c.metricsText.contains(#"accord_notification_failures_total{notification="hooks"}"#), "\(c.metricsText)")
        }
        let pending = try await h.scalar("SELECT count(*)::text FROM accord.outbox WHERE notification = 'hooks' AND sent_at IS NULL")
        // Four example tenants onboarded, the example erasure certified.
        let written = try await h.scalar("SELECT string_agg(event || ' ' || object, ', ' ORDER BY id) FROM accord.outbox") ?? ""
        #expect(pending == "5", "\(written)")
        #expect(try await h.scalar("SELECT count(*)::text FROM accord.outbox WHERE sent_at IS NOT NULL") == "0")

        // A new leader with the receiver back: everything arrives, in the order it was written.
        try await receiver.start(port: port)
        defer { Task { await receiver.stop() } }
        try await withController(try h.config(flags), logs: logs) { c in
            #expect(try await eventually { receiver.received.count >= 5 }, "\(logs.text)")
            let onboarded = Self.tenantsOnboarded(receiver)
            #expect(onboarded == ["Tenant/acme-corp", "Tenant/brightpath", "Tenant/kestrel-health", "Tenant/northwind"])
            let completed = try #require(receiver.received.first { $0.json["event"] == .string("ErasureCompleted") })
            #expect(completed.json["object"] == .string("Erasure/acme-corp/dsr-2026-11-0007"), "\(completed.body)")
            #expect(completed.json["revision"] == .string(first))
            #expect(completed.json["detail"]?["certificate"]?["sha256"]?.stringValue?.count == 64, "\(completed.body)")
            #expect(completed.json["detail"]?["certificate"]?["verify"]?.stringValue?.hasPrefix("accordctl certificate acme-corp/") == true)
            for r in receiver.received {
                #expect(receiver.signatureIsValid(r), "\(r.headers)")
                #expect(r.path == "/accord/events" && r.json["formatVersion"] == .number(1) && r.json["time"]?.stringValue != nil)
            }

            // The receiver goes down mid-stream: three more tenants wait, then arrive after it is back.
            await receiver.stop()
            for (path, text) in GeneratedPlatform.files(tenants: 3, prefix: "late") { try h.work.write("late/\(path)", text) }
            try h.commitAndPush("three late tenants")
            #expect(try await eventually {
                try await h.scalar("SELECT count(*)::text FROM accord.outbox WHERE event = 'TenantOnboarded' AND sent_at IS NULL") == "3"
            }, "\(logs.text)")
            #expect(try await eventually { (try await h.scalar("SELECT attempts::text FROM accord.outbox WHERE sent_at IS NULL ORDER BY id LIMIT 1")) != "0" })
            try await receiver.start(port: port)
            #expect(try await eventually { Self.tenantsOnboarded(receiver).count == 7 }, "\(logs.text)")
            #expect(Array(Self.tenantsOnboarded(receiver).suffix(3)) == ["Tenant/late0", "Tenant/late1", "Tenant/late2"])
            #expect(try await eventually { c.metricsText.contains(#"accord_notifications_pending{notification="hooks"} 0"#) }, "\(c.metricsText)")
            #expect(c.metricsText.contains(#"accord_notifications_sent_total{notification="hooks"} 8"#), "\(c.metricsText)")

            // A write made outside Accord is reverted, and said so.
            try await h.execute("UPDATE platform.tenants SET plan = 'starter' WHERE name = 'acme-corp'")
            #expect(try await eventually { receiver.received.contains { $0.json["event"] == .string("DriftReverted") } }, "\(logs.text)")
            let drift = try #require(receiver.received.first { $0.json["event"] == .string("DriftReverted") })
            #expect(drift.json["object"] == .string("Tenant/acme-corp") && drift.json["tenant"] == .string("acme-corp"))
            #expect(drift.json["message"]?.stringValue?.contains("plan") == true, "\(drift.body)")
        }
        // Never twice: every id arrived once (the receiver was stopped only between deliveries).
        let ids = receiver.received.compactMap { $0.json["id"]?.stringValue }
        #expect(ids.count == Set(ids).count, "\(ids)")
        #expect(ids.compactMap { Int64($0) } == ids.compactMap { Int64($0) }.sorted(), "in the order written: \(ids)")
        let statuses = try await db.withSession { try await ObjectStatus.read($0, id: ObjectID(kind: .notification, name: "hooks")) }
        #expect(statuses.first?.ready == true, "\(statuses.first?.conditions ?? [])")
        #expect(statuses.first?.live["deliveries"]?["sent"] == .number(Double(ids.count)))
    }

    @Test func aReceiverThatRefusesStallsTheNotificationUntilItsManifestChanges() async throws {
        let h = try await Harness()
        let db = h.db
        defer { Task { await db.drop() } }
        let receiver = TestReceiver(secret: "k")
        receiver.status.withLock { $0 = 401 }
        try await receiver.start()
        defer { Task { await receiver.stop() } }
        let secrets = try Self.secrets(h, ["k": "k"])
        let manifest = { (path: String) in Self.notification("hooks", "  type: webhook\n  address: http://127.0.0.1:\(receiver.port)\(path)\n  secret: k\n  kinds: [Tenant]\n") }
        try h.work.write("notifications/hooks.yaml", manifest("/v1"))
        try h.commitAndPush("a hook with the wrong key")
        let logs = LogBuffer()
        try await withController(try h.config(["secrets-dir": secrets]), logs: logs) { c in
            #expect(try await eventually { receiver.received.count == 1 }, "\(logs.text)")
            #expect(try await eventually { c.metricsText.contains(#"accord_notification_stalled{notification="hooks"} 1"#) }, "\(c.metricsText)")
            // Not retried: one refused attempt, however long we wait.
            try await Task.sleep(for: .seconds(3))
            #expect(receiver.received.count == 1)
            let status = try #require(try await db.withSession { try await ObjectStatus.read($0, id: ObjectID(kind: .notification, name: "hooks")) }.first)
            #expect(status.stalled && status.conditions.first?.reason == "DeliveryRefused", "\(status.conditions)")
            #expect(status.message.hasPrefix("the receiver refused a delivery: HTTP 401"), "\(status.message)")
            #expect(status.live["deliveries"]?["pending"] == .number(4))
            #expect(!logs.lines(msg: "notification stalled: its receiver refused the delivery; nothing more is sent until the Notification's manifest changes").isEmpty)

            // The manifest is fixed: the stall clears and everything waiting goes out, in order.
            receiver.status.withLock { $0 = 200 }
            try h.work.write("notifications/hooks.yaml", manifest("/v2"))
            try h.commitAndPush("the hook's new path")
            #expect(try await eventually { receiver.received.filter { $0.path == "/v2" }.count == 4 }, "\(logs.text)")
            #expect(receiver.received.filter { $0.path == "/v2" }.map { $0.json["object"]?.stringValue ?? "" }
                == ["Tenant/acme-corp", "Tenant/brightpath", "Tenant/kestrel-health", "Tenant/northwind"])
            #expect(try await eventually { c.metricsText.contains(#"accord_notification_stalled{notification="hooks"} 0"#) })
        }
    }

    @Test func aSlowReceiverHoldsBackOnlyItsOwnEvents() async throws {
        let h = try await Harness()
        let db = h.db
        defer { Task { await db.drop() } }
        let slow = TestReceiver(secret: "k"), fast = TestReceiver(secret: "k")
        slow.delay.withLock { $0 = .seconds(4) }
        try await slow.start()
        try await fast.start()
        defer { Task { await slow.stop(); await fast.stop() } }
        let secrets = try Self.secrets(h, ["k": "k"])
        // "a-slow" sorts first: delivered one notification after another, "fast" would wait 16 s.
        for (name, r) in [("a-slow", slow), ("fast", fast)] {
            try h.work.write("notifications/\(name).yaml", Self.notification(name, "  type: webhook\n  address: http://127.0.0.1:\(r.port)/hook\n  secret: k\n  kinds: [Tenant]\n"))
        }
        try h.commitAndPush("two receivers, one slow")
        let logs = LogBuffer()
        try await withController(try h.config(["secrets-dir": secrets]), logs: logs) { (_: Running) async throws in
            #expect(try await eventually { slow.received.count >= 1 }, "\(logs.text)")
            let started = ContinuousClock.now
            #expect(try await eventually(within: .seconds(30)) { fast.received.count == 4 }, "\(logs.text)")
            #expect(ContinuousClock.now - started < .seconds(6), "the fast receiver waited for the slow one")
            #expect(slow.received.count < 4, "the slow one is still on its way")
            #expect(try await eventually { slow.received.count == 4 })
            #expect(slow.received.map { $0.json["object"]?.stringValue ?? "" } == fast.received.map { $0.json["object"]?.stringValue ?? "" })
        }
    }

    @Test func githubGetsPendingThenTheOutcomeOnEachAppliedCommit() async throws {
        let h = try await Harness()
        let db = h.db
        defer { Task { await db.drop() } }
        let github = TestReceiver(secret: "")
        github.status.withLock { $0 = 201 }
        try await github.start()
        defer { Task { await github.stop() } }
        let secrets = try Self.secrets(h, ["gh-token": "ghp_test_token"])
        try h.work.write("notifications/commits.yaml", Self.notification("commits", """
              type: github
              address: http://127.0.0.1:\(github.port)/api/v3/repos/example/platform-state
              secret: gh-token

            """))
        let first = try h.commitAndPush("commit statuses")
        let logs = LogBuffer()
        try await withController(try h.config(["secrets-dir": secrets, "external-url": "https://accord.example.com/"]), logs: logs) { _ in
            // The commit that brings the notification began before it existed: only its outcome is heard.
            #expect(try await eventually { github.received.count == 1 }, "\(logs.text)")
            let applied = try h.push("tenants/northwind.yaml", "displayName: Northwind Traders", "displayName: Northwind Traders Ltd")
            #expect(try await eventually { github.received.count == 3 }, "\(logs.text)")
            for r in github.received {
                #expect(r.headers["authorization"] == "Bearer ghp_test_token" && r.headers["accept"] == "application/vnd.github+json")
                #expect(r.json["context"] == .string("accord/apply"))
                #expect(r.json["target_url"] == .string("https://accord.example.com/history"), "\(r.body)")
            }
            #expect(github.received.map(\.path) == [first, applied, applied].map { "/api/v3/repos/example/platform-state/statuses/\($0)" })
            #expect(github.received.map { $0.json["state"]?.stringValue ?? "" } == ["success", "pending", "success"])

            // An invalid commit: its status is a failure saying why.
            try h.work.write("tenants/broken.yaml", "apiVersion: accord.dev/v1\nkind: Tenant\nmetadata:\n  name: broken\nspec:\n  plan: gold\n")
            let broken = try h.commitAndPush("a broken tenant")
            #expect(try await eventually { github.received.contains { $0.path.hasSuffix(broken) && $0.json["state"] == .string("failure") } },
                    "\(logs.text)")
            let failure = try #require(github.received.first { $0.path.hasSuffix(broken) && $0.json["state"] == .string("failure") })
            #expect(failure.json["description"]?.stringValue?.contains("not applied (invalid)") == true, "\(failure.body)")
            #expect((failure.json["description"]?.stringValue?.count ?? 0) <= 140)
        }
        // Once per (commit, state): a second controller over the same commits sends only what the
        // first left undelivered, and every state of every commit arrives exactly once.
        try await withController(try h.config(["secrets-dir": secrets]), logs: logs) { c in
            #expect(try await eventually { await c.isLeaderReady() })
            #expect(try await eventually { try await h.scalar("SELECT count(*)::text FROM accord.outbox WHERE sent_at IS NULL") == "0" })
            try await Task.sleep(for: .seconds(1))
        }
        let sent = github.received.map { "\($0.path) \($0.json["state"]?.stringValue ?? "")" }
        #expect(sent.count == Set(sent).count, "\(sent)")
        #expect(String(sent.count) == (try await h.scalar("SELECT count(*)::text FROM accord.outbox WHERE notification = 'commits'")))
    }
}
