@testable import AccordController
import AccordCore
import AccordHTTP
import AccordStore
import AccordTestSupport
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

/// Two replicas on one database: one leads, the other stands by and takes
/// over within five seconds when the leader dies or loses its connection.
@Suite(TestDatabase.required, .serialized, .timeLimit(.minutes(5)), .tags(.timeBounded))
struct LeaderTests {
    @Test func aStandbyTakesOverWhenTheLeaderDies() async throws {
        let h = try await Harness()
        let db = h.db
        defer { Task { await db.drop() } }
        let config = try h.config()
        // A leads, in a task of its own that is then cancelled: its
        // connections close as they do when the process dies.
        try await withThrowingTaskGroup(of: Void.self) { group in
            let started = AsyncStream<Running>.makeStream()
            group.addTask {
                try await withController(config) { a in
                    started.continuation.yield(a)
                    try await Task.sleep(for: .seconds(3600))
                }
            }
            var iterator = started.stream.makeAsyncIterator()
            let a = try #require(await iterator.next())
            #expect(try await eventually { await a.isLeaderReady() })
            try await withController(config) { b in
                #expect(try await eventually { await b.state.current.role == .standby })
                let died = ContinuousClock.now
                group.cancelAll()
                #expect(try await eventually(within: .seconds(5)) { await b.state.current.role == .leader })
                #expect(ContinuousClock.now - died < .seconds(5))
                #expect(try await eventually { await b.isLeaderReady() })
                // The new leader reconciles: a commit is applied.
                try h.push("workers/brightpath.yaml", "replicas: 1", "replicas: 2")
                #expect(try await eventually {
                    try await h.scalar("SELECT replicas::text FROM platform.workers WHERE name = 'support-triage'") == "2"
                })
            }
            try? await group.waitForAll()
        }
    }

    @Test func aWebhookThatReachesTheStandbyIsPassedOnToTheLeader() async throws {
        let h = try await Harness()
        let db = h.db
        defer { Task { await db.drop() } }
        let config = try h.config(["interval": "1h"])
        try await withController(config) { a in
            let leading = try await eventually { await a.isLeaderReady() }
            #expect(leading)
            try await withController(config) { b in
                let standing = try await eventually { await b.state.current.role == .standby }
                #expect(standing)
                try h.push("workers/brightpath.yaml", "replicas: 1", "replicas: 3")
                try await Task.sleep(for: .seconds(1))
                #expect(try await h.scalar("SELECT replicas::text FROM platform.workers WHERE name = 'support-triage'") == "1",
                        "nothing was fetched: the poll interval is an hour")
                let app = Application(router: HTTPServer.router(b.http))
                let body = ByteBuffer(string: #"{"ref":"refs/heads/main"}"#)
                let signed = WebhookSignature.sign(Array(buffer: body), secret: h.webhookSecret)
                try await app.test(.router) { client in
                    try await client.execute(uri: "/hooks/git", method: .post,
                                             headers: [HTTPFields.Element.Name("X-Hub-Signature-256")!: signed], body: body) {
                        #expect($0.status == .accepted)
                    }
                }
                #expect(try await eventually(within: .seconds(30)) {
                    try await h.scalar("SELECT replicas::text FROM platform.workers WHERE name = 'support-triage'") == "3"
                }, "the leader fetched on the standby's webhook")
                #expect(b.logs.text.contains("standby: webhook passed on to the leader"))
                #expect(a.logs.text.contains("webhook passed on by a standby"))
            }
        }
    }

    @Test func aLeaderWhoseConnectionDropsHandsOver() async throws {
        let h = try await Harness()
        let db = h.db
        defer { Task { await db.drop() } }
        let config = try h.config()
        try await withController(config) { a in
            #expect(try await eventually { await a.isLeaderReady() })
            try await withController(config) { b in
                #expect(try await eventually { await b.state.current.role == .standby })
                let pid = try #require(try await h.db.withSession { try await LeaderLock.holderPID($0) })
                let dropped = ContinuousClock.now
                try await h.execute("SELECT pg_terminate_backend(\(pid))")
                // Someone leads again, on another connection, within five seconds.
                #expect(try await eventually(within: .seconds(5)) {
                    let holder = try await h.db.withSession { try await LeaderLock.holderPID($0) }
                    let roles = [await a.state.current.role, await b.state.current.role]
                    return holder != nil && holder != pid && roles.filter { $0 == .leader }.count == 1
                })
                #expect(ContinuousClock.now - dropped < .seconds(5))
                #expect(a.logs.text.contains("leadership lost"))
                try h.push("workers/brightpath.yaml", "replicas: 1", "replicas: 4")
                #expect(try await eventually {
                    try await h.scalar("SELECT replicas::text FROM platform.workers WHERE name = 'support-triage'") == "4"
                })
            }
        }
    }
}

/// Secrets never reach a log line or an error: the controller runs with no
/// redaction at all, through a pass, webhooks good and bad, a refused
/// object and an unreachable database, and the logs are searched.
@Suite(TestDatabase.required, .serialized, .timeLimit(.minutes(5)))
struct SecretTests {
    @Test func noSecretInLogsOrErrors() async throws {
        let h = try await Harness()
        let db = h.db
        defer { Task { await db.drop() } }
        let password = "Pw-never-logged-93a1f"
        var url = URLComponents(string: h.db.urlText)!
        url.password = password // the test server trusts local connections: any password connects
        let logs = LogBuffer()
        let config = try h.config(["log-level": "trace"], databaseURL: url.string!)
        try await withController(config, logs: logs) { c in
            // The first pass at the suite's busiest moment (four-database region suites beside it): a generous bound.
            #expect(try await eventually(within: .seconds(240)) { await c.isLeaderReady() }, "\(logs.text.suffix(3000))")
            let app = Application(router: HTTPServer.router(c.http))
            let body = ByteBuffer(string: "{}")
            let header = HTTPFields.Element.Name("X-Hub-Signature-256")!
            try await app.test(.router) { client in
                try await client.execute(uri: "/hooks/git", method: .post, headers: [header: "sha256=00"], body: body) { _ in }
                let signed = WebhookSignature.sign(Array(buffer: body), secret: h.webhookSecret)
                try await client.execute(uri: "/hooks/git", method: .post, headers: [header: signed], body: body) { _ in }
                try await client.execute(uri: "/api/v1/objects", method: .get) { c.expectNoSecret(String(buffer: $0.body), "/api/v1/objects") }
            }
            try await h.execute("ALTER TABLE platform.workers ADD CONSTRAINT few_replicas CHECK (name <> 'support-triage' OR replicas < 3)")
            try h.push("workers/brightpath.yaml", "replicas: 1", "replicas: 3")
            #expect(try await eventually { await !c.state.current.retries.isEmpty })
            // The refused object's status, as the API and the database show it.
            try await app.test(.router) { client in
                for uri in ["/readyz", "/api/v1/objects"] {
                    try await client.execute(uri: uri, method: .get) { c.expectNoSecret(String(buffer: $0.body), uri) }
                }
            }
            let stored = try await db.withSession { try await SecretScan.storedLeaks($0, passwords: [password]) }
            #expect(stored.isEmpty, "\(stored)")
        }
        // An unreachable database: the error names the URL without its password.
        var unreachable = url
        unreachable.port = 1
        let failing = try h.config(["log-level": "trace"], databaseURL: unreachable.string!)
        try await withController(failing, logs: logs) { c in
            let failed = try await eventually { await c.state.current.lastError != nil }
            #expect(failed)
            let message = await c.state.current.lastError ?? ""
            #expect(!message.isEmpty && !message.contains(password))
            // The database's error as the API answers it: /readyz's lastError, /api/v1/objects' 503.
            let app = Application(router: HTTPServer.router(c.http))
            try await app.test(.router) { client in
                for uri in ["/readyz", "/api/v1/objects"] {
                    try await client.execute(uri: uri, method: .get) { response in
                        let body = String(buffer: response.body)
                        #expect(response.status == .serviceUnavailable, "\(uri): \(body)")
                        c.expectNoSecret(body, uri)
                    }
                }
            }
        }
        let text = logs.text
        #expect(text.contains("database connection failed"))
        #expect(text.contains("webhook refused"))
        #expect(text.contains("few_replicas"))
        let kek = Harness.kekBytes
        for secret in [password, "hook-secret-for-e2e", Data(kek).base64EncodedString(), kek.map { String(format: "%02x", $0) }.joined()] {
            #expect(!text.contains(secret), "a secret appears in the logs")
        }
        #expect(!text.contains(String(decoding: kek, as: UTF8.self)))
        let pem = try String(contentsOfFile: Harness.signingKeyFile, encoding: .utf8)
        for line in pem.split(separator: "\n") where !line.hasPrefix("-----") {
            #expect(!text.contains(line), "the signing key appears in the logs")
        }
    }
}
