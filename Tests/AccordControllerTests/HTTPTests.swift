@testable import AccordController
import AccordHTTP
import AccordStore
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
        try Data((secret + "\n").utf8).write(to: url)
        return url.path
    }

    struct Fixture {
        let deps: HTTPServer.Dependencies
        let metrics: ControllerMetrics
        let app: Application<RouterResponder<BasicRequestContext>>
    }

    static func fixture(webhook: Bool = true) throws -> Fixture {
        var flags = ["repo": FileManager.default.temporaryDirectory.path, "database-url": "postgres://u@127.0.0.1:1/db"]
        if webhook { flags["webhook-secret-file"] = try secretFile() }
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
            await fx.deps.state.passed(revision: "abc", result: "ok", error: nil, retries: RetryBook(backoff: Backoff()))
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

    @Test func withoutASecretTheWebhookIsOff() async throws {
        let fx = try Self.fixture(webhook: false)
        try await fx.app.test(.router) { client in
            try await client.execute(uri: "/hooks/git", method: .post, body: ByteBuffer(string: "{}")) { #expect($0.status == .notFound) }
        }
    }

    @Test func metricsInPrometheusText() async throws {
        let fx = try Self.fixture()
        fx.metrics.reconciled(kind: .worker, result: "applied", count: 3)
        fx.metrics.passDuration(.milliseconds(120), pass: "full", result: "ok")
        fx.metrics.appliedRevision("0123abcd")
        fx.metrics.appliedRevision("4567ef01")
        fx.metrics.gitFetchFailed()
        fx.metrics.setErasures(ErasureCounts.Counts(open: 4, warning: 1, escalation: 1, overdue: 1))
        try await fx.app.test(.router) { client in
            try await client.execute(uri: "/metrics", method: .get) { response in
                let text = String(buffer: response.body)
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
