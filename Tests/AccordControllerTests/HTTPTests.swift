import AccordBuildInfo
@testable import AccordController
import AccordCore
import AccordHTTP
import AccordStore
import AccordTestSupport
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import Metrics
import Prometheus
import Testing

/// The endpoints in process, through HummingbirdTesting's router client.
@Suite struct HTTPTests {
    static let secret = "hook-secret-for-tests"

    static func secretFile() throws -> String {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("hook-\(UUID().uuidString)")
        try SecretFixture.write(secret + "\n", to: url)
        return url.path
    }

    struct Fixture {
        let deps: HTTPServer.Dependencies
        let metrics: ControllerMetrics
        let app: Application<RouterResponder<BasicRequestContext>>
    }

    static let token = "tok-0123456789abcdef-for-tests"

    static func fixture(webhook: Bool = true, apiToken: Bool = false) throws -> Fixture {
        var flags = ["repo": FileManager.default.temporaryDirectory.path, "database-url": "postgres://u@127.0.0.1:1/db"]
        if webhook { flags["webhook-secret-file"] = try secretFile() }
        if apiToken {
            let url = FileManager.default.temporaryDirectory.appendingPathComponent("api-token-\(UUID().uuidString)")
            try SecretFixture.write(token + "\n", to: url)
            flags["api-token-file"] = url.path
        }
        let config = try ControllerConfig.resolve(flags: flags, environment: [:])
        let registry = PrometheusCollectorRegistry()
        let deps = HTTPServer.Dependencies(config: config, state: ControllerState(), doorbell: Doorbell(), registry: registry,
                                           logger: Logger(label: "test"))
        return Fixture(deps: deps, metrics: ControllerMetrics(factory: PrometheusMetricsFactory(registry: registry)),
                       app: Application(router: HTTPServer.router(deps)))
    }

    @Test func healthAndReadinessSayTheRole() async throws {
        let fx = try Self.fixture()
        try await fx.app.test(.router) { client in
            try await client.execute(uri: "/healthz", method: .get) { #expect($0.status == .ok) }
            try await client.execute(uri: "/readyz", method: .get) { response in
                #expect(response.status == .serviceUnavailable)
                #expect(String(buffer: response.body).contains(#""role":"starting""#))
            }
            await fx.deps.state.become(.standby)
            try await client.execute(uri: "/readyz", method: .get) { response in
                #expect(response.status == .ok)
                #expect(String(buffer: response.body).contains(#""role":"standby""#))
            }
            await fx.deps.state.become(.leader)
            try await client.execute(uri: "/readyz", method: .get) { response in
                #expect(response.status == .serviceUnavailable, "a leader is ready after its first pass")
                #expect(String(buffer: response.body).contains(#""role":"leader""#))
            }
            await fx.deps.state.passed(revision: "abc", result: .ok, error: nil, retries: RetryBook(backoff: Backoff()))
            try await client.execute(uri: "/readyz", method: .get) { response in
                #expect(response.status == .ok)
                #expect(String(buffer: response.body).contains(#""revision":"abc""#))
            }
        }
    }

    @Test func webhookSignatures() async throws {
        let fx = try Self.fixture()
        let body = ByteBuffer(string: #"{"ref":"refs/heads/main"}"#)
        let good = WebhookSignature.sign(Array(buffer: body), secret: Array(Self.secret.utf8))
        let header = HTTPFields.Element.Name("X-Hub-Signature-256")!
        try await fx.app.test(.router) { client in
            try await client.execute(uri: "/hooks/git", method: .post, body: body) { #expect($0.status == .unauthorized) }
            try await client.execute(uri: "/hooks/git", method: .post, headers: [header: "sha256=" + String(repeating: "0", count: 64)],
                                     body: body) { #expect($0.status == .unauthorized) }
            #expect(await fx.deps.doorbell.wait(for: .zero).isEmpty, "a refused webhook enqueues nothing")

            try await client.execute(uri: "/hooks/git", method: .post, headers: [header: good], body: body) { response in
                #expect(response.status == .accepted)
            }
            #expect(await fx.deps.doorbell.wait(for: .zero) == [.webhook])

            let huge = ByteBuffer(repeating: UInt8(ascii: "a"), count: WebhookSignature.maxBody + 1)
            let hugeSignature = WebhookSignature.sign(Array(buffer: huge), secret: Array(Self.secret.utf8))
            try await client.execute(uri: "/hooks/git", method: .post, headers: [header: hugeSignature], body: huge) { response in
                #expect(response.status == .contentTooLarge)
            }
            #expect(await fx.deps.doorbell.wait(for: .zero).isEmpty)
        }
    }

    static let form = "application/x-www-form-urlencoded"

    /// Correctly signed bodies that are not a GitHub event: each answers 400
    /// with the reason and queues nothing.
    static let notAnEvent: [(what: String, body: [UInt8], contentType: String?)] = [
        ("plain text", Array("not json".utf8), nil),
        ("an empty body", [], nil),
        ("a JSON array", Array("[1,2,3]".utf8), nil),
        ("a JSON string", Array(#""push""#.utf8), nil),
        ("a JSON number", Array("42".utf8), nil),
        ("JSON null", Array("null".utf8), nil),
        ("a truncated object", Array(#"{"ref":"refs/heads/main""#.utf8), nil),
        ("an object with trailing text", Array(#"{"ref":"main"} {"#.utf8), nil),
        ("invalid UTF-8", [0x7B, 0x22, 0x72, 0xC3, 0x28, 0x22, 0x3A, 0x31, 0x7D], nil),
        ("a NUL byte for a value", Array("{\"ref\":\u{0}}".utf8), nil),
        ("YAML, not JSON", Array("ref: refs/heads/main\n".utf8), nil),
        ("nesting beyond the parser's depth", Array(String(repeating: "[", count: 100_000).utf8), nil),
        ("a form without a payload field", Array("ref=main".utf8), form),
        ("a form payload that is not JSON", Array("payload=not%20json".utf8), form),
        ("a form payload that is an array", Array("payload=%5B%5D".utf8), form),
        ("JSON sent with the form content type", Array(#"{"ref":"main"}"#.utf8), form),
    ]

    static func signed(_ body: [UInt8], delivery: String? = nil, event: String = "push", contentType: String? = nil) -> HTTPFields {
        var headers: HTTPFields = [HTTPFields.Element.Name("X-Hub-Signature-256")!: WebhookSignature.sign(body, secret: Array(secret.utf8)),
                                   HTTPFields.Element.Name("X-GitHub-Event")!: event]
        if let delivery { headers[HTTPFields.Element.Name("X-GitHub-Delivery")!] = delivery }
        if let contentType { headers[.contentType] = contentType }
        return headers
    }

    @Test func aSignedBodyThatIsNotAJSONObjectIsRefused() async throws {
        let fx = try Self.fixture()
        try await fx.app.test(.router) { client in
            for c in Self.notAnEvent {
                try await client.execute(uri: "/hooks/git", method: .post, headers: Self.signed(c.body, contentType: c.contentType),
                                         body: ByteBuffer(bytes: c.body)) { response in
                    let text = String(buffer: response.body)
                    #expect(response.status == .badRequest, "\(c.what): \(response.status) \(text)")
                    #expect(text.contains("JSON") || text.contains("payload"), "\(c.what): \(text)")
                }
                #expect(await fx.deps.doorbell.wait(for: .zero).isEmpty, "\(c.what): nothing is queued")
            }
            // What GitHub sends: a JSON object, as the body or as the form's payload field; a ping too.
            let accepted: [([UInt8], String?, String)] = [
                (Array(#"{"ref":"refs/heads/main","after":"0123"}"#.utf8), "application/json", "push"),
                (Array(#"{"zen":"Keep it logically awesome.","hook_id":1}"#.utf8), nil, "ping"),
                (Array("payload=%7B%22zen%22%3A%22Keep+it+logically+awesome.%22%7D".utf8), Self.form, "ping"),
            ]
            for (body, contentType, event) in accepted {
                try await client.execute(uri: "/hooks/git", method: .post, headers: Self.signed(body, event: event, contentType: contentType),
                                         body: ByteBuffer(bytes: body)) { response in
                    #expect(response.status == .accepted, "\(String(decoding: body, as: UTF8.self)): \(String(buffer: response.body))")
                }
                #expect(await fx.deps.doorbell.wait(for: .zero) == [.webhook])
            }
        }
        print("webhook figures: \(Self.notAnEvent.count) signed bodies that are not a JSON object refused with 400")
    }

    @Test func aDeliveryAlreadySeenIsAnsweredWithoutAFetch() async throws {
        let fx = try Self.fixture()
        let body = Array(#"{"ref":"refs/heads/main"}"#.utf8)
        let ping = Array(#"{"zen":"Design for failure.","hook_id":7}"#.utf8)
        let id = "72d3162e-cc78-11e3-81ab-4c9367dc0958"
        let replays = try await fx.app.test(.router) { client in
            var replays = 0
            func post(_ body: [UInt8], _ headers: HTTPFields) async throws -> (HTTPResponse.Status, String, Bool) {
                let (status, text) = try await client.execute(uri: "/hooks/git", method: .post, headers: headers, body: ByteBuffer(bytes: body)) {
                    ($0.status, String(buffer: $0.body))
                }
                return (status, text, await fx.deps.doorbell.wait(for: .zero) == [.webhook])
            }
            // GitHub's ping on a new hook, then the first push.
            var (status, text, queued) = try await post(ping, Self.signed(ping, delivery: "ping-" + id, event: "ping"))
            #expect(status == .accepted && queued)
            (status, text, queued) = try await post(body, Self.signed(body, delivery: id))
            #expect(status == .accepted && queued, "\(text)")

            // The same delivery again (a replay, or GitHub's redelivery): answered, nothing queued.
            for headers in [Self.signed(body, delivery: id), Self.signed(ping, delivery: "ping-" + id, event: "ping")] {
                let replayed = headers[HTTPFields.Element.Name("X-GitHub-Event")!] == "ping" ? ping : body
                (status, text, queued) = try await post(replayed, headers)
                #expect(status == .ok, "\(text)")
                #expect(text.contains(#""queued":false"#) && text.contains("already delivered"), "\(text)")
                #expect(!queued, "a replayed delivery queues nothing")
                replays += 1
            }

            // A new delivery id is a new event.
            (status, _, queued) = try await post(body, Self.signed(body, delivery: "another-" + id))
            #expect(status == .accepted && queued)

            // Without a delivery id a signed request is accepted, every time.
            for _ in 0..<2 {
                (status, _, queued) = try await post(body, Self.signed(body))
                #expect(status == .accepted && queued)
            }

            // Refused requests do not use up their delivery id.
            let unsigned: HTTPFields = [HTTPFields.Element.Name("X-GitHub-Delivery")!: "refused-" + id]
            (status, _, queued) = try await post(body, unsigned)
            #expect(status == .unauthorized && !queued)
            let notJSON = Array("not json".utf8)
            (status, _, queued) = try await post(notJSON, Self.signed(notJSON, delivery: "refused-" + id))
            #expect(status == .badRequest && !queued)
            (status, _, queued) = try await post(body, Self.signed(body, delivery: "refused-" + id))
            #expect(status == .accepted && queued, "the first accepted request with that id")
            (status, _, queued) = try await post(body, Self.signed(body, delivery: "refused-" + id))
            #expect(status == .ok && !queued)
            replays += 1

            // An id longer than any GitHub sends is refused rather than remembered.
            (status, text, queued) = try await post(body, Self.signed(body, delivery: String(repeating: "x", count: 129)))
            #expect(status == .badRequest && !queued, "\(text)")
            return replays
        }
        #expect(fx.deps.deliveries.count == 4)
        print("webhook figures: \(replays) replayed deliveries answered without a fetch")
    }

    @Test func theDeliveryLogKeepsTheLatestIDs() {
        let log = DeliveryLog(capacity: 3)
        #expect(["a", "b", "c"].allSatisfy(log.insert))
        #expect(!log.insert("a") && !log.insert("c"))
        #expect(log.insert("d"), "a fourth id pushes out the oldest")
        #expect(log.insert("a"), "the oldest is forgotten")
        #expect(!log.insert("c") && !log.insert("d"))
        #expect(log.count == 3)

        let full = DeliveryLog()
        #expect(full.capacity == 10_000)
        #expect((0..<10_001).filter { full.insert("id-\($0)") }.count == 10_001)
        #expect(full.count == 10_000)
        #expect(!full.insert("id-10000") && !full.insert("id-1"))
        #expect(full.insert("id-0"), "the first of 10,001 ids has been forgotten")
    }

    @Test func withoutASecretTheWebhookIsOff() async throws {
        let fx = try Self.fixture(webhook: false)
        try await fx.app.test(.router) { client in
            try await client.execute(uri: "/hooks/git", method: .post, body: ByteBuffer(string: "{}")) { #expect($0.status == .notFound) }
        }
    }

    /// With `--api-token-file`, `/api/*` and `/metrics` answer only the
    /// bearer token; health, readiness and the webhook (its own HMAC) stay
    /// open. Without it, the same requests all pass.
    @Test func theAPITokenGuardsTheAPIAndTheMetricsOnly() async throws {
        let fx = try Self.fixture(apiToken: true)
        #expect(fx.deps.config.description.contains("apiToken=on") && !fx.deps.config.description.contains(Self.token))
        try await fx.app.test(.router) { client in
            for uri in ["/api/v1/objects", "/metrics"] {
                for header in [nil, "Bearer wrong-token-of-the-same-sort", "Basic \(Self.token)", "Bearer", "Bearer \(Self.token)x",
                               "Bearer \(Self.token.dropLast())", Self.token] as [String?] {
                    var headers = HTTPFields()
                    if let header { headers[.authorization] = header }
                    try await client.execute(uri: uri, method: .get, headers: headers) { response in
                        #expect(response.status == .unauthorized, "\(uri) with \(header ?? "no header")")
                        #expect(response.headers[.wwwAuthenticate] == #"Bearer realm="accord-controller""#)
                        #expect(String(buffer: response.body).contains(header == nil ? "missing bearer token" : "wrong bearer token"))
                        #expect(!String(buffer: response.body).contains(Self.token))
                    }
                }
                for header in ["Bearer \(Self.token)", "bearer \(Self.token)", "BEARER  \(Self.token)"] {
                    try await client.execute(uri: uri, method: .get, headers: [.authorization: header]) { response in
                        // The API reads a database that is not there: 503, past the gate.
                        #expect(response.status == (uri == "/metrics" ? .ok : .serviceUnavailable), "\(uri) with \(header)")
                    }
                }
            }
            try await client.execute(uri: "/healthz", method: .get) { #expect($0.status == .ok) }
            try await client.execute(uri: "/readyz", method: .get) { #expect($0.status == .serviceUnavailable, "open: starting, not refused") }
            try await client.execute(uri: "/hooks/git", method: .post, body: ByteBuffer(string: "{}")) { response in
                #expect(response.status == .unauthorized && response.headers[.wwwAuthenticate] == nil, "the webhook's own signature check")
            }
        }
        let open = try Self.fixture(apiToken: false)
        #expect(open.deps.config.description.contains("apiToken=off"))
        try await open.app.test(.router) { client in
            try await client.execute(uri: "/metrics", method: .get) { #expect($0.status == .ok) }
            try await client.execute(uri: "/api/v1/objects", method: .get) { #expect($0.status == .serviceUnavailable) }
        }
    }

    @Test func metricsInPrometheusText() async throws {
        let fx = try Self.fixture()
        fx.metrics.reconciled(kind: .worker, result: .applied, count: 3)
        fx.metrics.passDuration(.milliseconds(120), pass: .full, result: .ok)
        fx.metrics.appliedRevision("0123abcd")
        fx.metrics.appliedRevision("4567ef01")
        fx.metrics.gitFetchFailed()
        fx.metrics.setErasures(ErasureCounts.Counts(open: 4, warning: 1, escalation: 1, overdue: 1))
        fx.metrics.setStores(jobs: [(store: "analytics-eu", state: "verified", jobs: 2)], up: ["analytics-eu": true])
        fx.metrics.setLeader(true)
        fx.metrics.setQueueDepth(0)
        fx.metrics.setNotifications([Outbox.Report(name: "dpo", type: "webhook", sent: 3, failures: 1, pending: 2, lastSentAt: nil,
                                                   lastError: "HTTP 503", lastErrorAt: nil, stalled: nil, nextAttemptAt: nil)])
        fx.metrics.notificationSent("dpo")
        fx.metrics.setRegions([.eu: .init(up: true, reason: nil, checkedAt: Date()), .us: .init(up: false, reason: "down", checkedAt: Date())])
        try await fx.app.test(.router) { client in
            try await client.execute(uri: "/metrics", method: .get) { response in
                let text = String(buffer: response.body)
                // Every family the controller exports is in the catalog, with its # HELP line; nothing else is exported.
                let lines = text.split(separator: "\n").map(String.init)
                let families = lines.filter { $0.hasPrefix("# TYPE ") }.map { String($0.split(separator: " ")[2]) }
                #expect(Set(families) == Set(MetricsCatalog.all.map(\.name)), "exported \(families.sorted())")
                for (i, line) in lines.enumerated() where line.hasPrefix("# TYPE ") {
                    let name = line.split(separator: " ")[2]
                    #expect(i > 0 && lines[i - 1].hasPrefix("# HELP \(name) "), "\(name) has its help")
                }
                #expect(text.contains(#"accord_region_up{region="eu"} 1"#) && text.contains(#"accord_region_up{region="us"} 0"#), "\(text)")
                #expect(text.contains(#"accord_build_info{version="\#(AccordVersion.current)",commit="\#(AccordBuild.commit)"} 1"#), "\(text)")
                #expect(text.contains(#"accord_store_up{store="analytics-eu"} 1"#))
                #expect(text.contains(#"accord_notifications_sent_total{notification="dpo"} 1"#), "\(text)")
                #expect(text.contains(#"accord_notification_failures_total{notification="dpo"} 0"#))
                #expect(text.contains(#"accord_notifications_pending{notification="dpo"} 2"#))
                #expect(response.status == .ok)
                #expect(response.headers[.contentType]?.hasPrefix("text/plain") == true)
                #expect(text.contains(#"accord_reconciles_total{kind="Worker",result="applied"} 3"#))
                #expect(text.contains(#"accord_reconcile_duration_seconds_bucket{pass="full",result="ok",le="0.25"} 1"#))
                #expect(text.contains(#"accord_last_applied_revision_info{revision="4567ef01"} 1"#))
                #expect(!text.contains("0123abcd"), "the previous revision's series is gone")
                #expect(text.contains("accord_git_fetch_failures_total 1"))
                #expect(text.contains("accord_erasures_open 4") && text.contains("accord_erasures_overdue 1"))
                #expect(text.contains("accord_erasures_sla_warning 1") && text.contains("accord_erasures_sla_escalated 1"))
                #expect(text.contains("accord_queue_depth 0"))
            }
        }
    }
}
