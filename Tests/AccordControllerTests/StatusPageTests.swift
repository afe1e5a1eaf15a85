@testable import AccordController
import AccordCore
@testable import AccordHTTP
import AccordStore
import AccordTestSupport
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

/// The HTML status page (SPEC §12): every page and filter in process
/// against a controller that applied the example platform (and 120 more
/// workers, for paging), hostile values rendered harmlessly, and the
/// overview and an object page in a real headless Chromium.
@Suite(TestDatabase.required, .serialized, .timeLimit(.minutes(10)))
struct StatusPageTests {
    /// A value that must never reach a page as markup.
    static let hostile = #"<script>alert("x&'y")</script>"#
    static let hostileEscaped = "&lt;script&gt;alert(&quot;x&amp;&#39;y&quot;)&lt;/script&gt;"

    static func get(_ client: some TestClientProtocol, _ uri: String, status: HTTPResponse.Status = .ok,
                    sourceLocation: SourceLocation = #_sourceLocation) async throws -> String {
        try await client.execute(uri: uri, method: .get) { response in
            #expect(response.status == status, "\(uri): \(String(buffer: response.body).prefix(2000))", sourceLocation: sourceLocation)
            #expect(response.headers[.contentType] == "text/html; charset=utf-8", sourceLocation: sourceLocation)
            let body = String(buffer: response.body)
            #expect(body.hasPrefix("<!doctype html>") && body.hasSuffix("</html>\n"), "\(uri)", sourceLocation: sourceLocation)
            #expect(!body.contains("<script"), "\(uri) carries a script", sourceLocation: sourceLocation)
            #expect(!body.contains(">nil<") && !body.contains("Optional("), "\(uri) shows a missing value as nil", sourceLocation: sourceLocation)
            return body
        }
    }

    /// The object links of a list page, in order.
    static func rows(_ body: String) -> [String] {
        body.matches(of: /<th scope="row"><a href="\/objects\/([^"]+)">/).map { String($0.output.1) }
    }

    @Test func everyPageAndFilterRendersWhatTheDatabaseHoldsAndEscapesEverything() async throws {
        let h = try await Harness()
        let db = h.db
        defer { Task { await db.drop() } }
        for (path, text) in GeneratedPlatform.files(tenants: 12, prefix: "p") { try h.work.write("generated/\(path)", text) }
        let commit = try h.commitAndPush("twelve more tenants")
        try await withController(try h.config(), logs: LogBuffer()) { c in
            #expect(try await eventually { await c.isLeaderReady() })
            #expect(try await eventually { try await h.scalar("SELECT status FROM platform.erasures") == "completed" })
            // A failure recorded for an object whose name and message are hostile (written past the manifests' checks).
            try await h.execute("""
                INSERT INTO accord.object_status (kind, tenant, name, reason, message, stalled, revision, attempted_at)
                VALUES ('Worker', 'acme-corp', '\(Self.hostile.replacingOccurrences(of: "'", with: "''"))', 'ApplyFailed',
                        'refused: \(Self.hostile.replacingOccurrences(of: "'", with: "''"))', true, '\(commit)', now())
                """)
            let app = Application(router: HTTPServer.router(c.http))
            try await app.test(.router) { client in
                // The overview: the source, counts by kind with links to the failing ones, passes, stores, erasures.
                let overview = try await Self.get(client, "/")
                #expect(overview.contains("<title>Overview · Accord</title>"))
                #expect(overview.contains("<code>\(commit)</code>"), "the applied revision")
                #expect(overview.contains(#"<th scope="row"><a href="/objects?kind=Worker">Worker</a></th><td class="num">131</td>"#), "\(overview)")
                #expect(overview.contains(#"<a class="bad" href="/objects?kind=Worker&amp;condition=stalled">1</a>"#))
                #expect(overview.contains("analytics-eu") && overview.contains("0 open"))
                #expect(overview.contains(#"<meta name="viewport""#) && overview.contains(#"<nav aria-label="Sections">"#))
                c.expectNoSecret(overview, "/")

                // The list: filters, paging by cursor, each object once.
                let all = try await Self.get(client, "/objects")
                #expect(all.contains("<caption>160 objects · the first 100</caption>"), "\(all.prefix(3000))")
                let workers1 = try await Self.get(client, "/objects?kind=workers")
                #expect(Self.rows(workers1).count == 100 && workers1.contains("131 objects match"))
                let next = try #require(workers1.firstMatch(of: /<a rel="next" href="([^"]+)">/).map { String($0.output.1) })
                let workers2 = try await Self.get(client, next.replacingOccurrences(of: "&amp;", with: "&"))
                #expect(Self.rows(workers2).count == 31 && !workers2.contains(#"rel="next""#) && workers2.contains(">First page</a>"))
                let listed = Self.rows(workers1) + Self.rows(workers2)
                #expect(Set(listed).count == 131 && listed.allSatisfy { $0.hasPrefix("Worker/") })
                #expect(Self.rows(try await Self.get(client, "/objects?tenant=northwind")).sorted() == [
                    "Tenant/northwind", "Worker/northwind/crm-updater", "Worker/northwind/lead-enricher", "Worker/northwind/lead-qualifier",
                    "Worker/northwind/outreach-drafter", "Workflow/northwind/lead-followup"])
                let stalled = try await Self.get(client, "/objects?condition=stalled")
                #expect(Self.rows(stalled) == ["Worker/acme-corp/%3Cscript%3Ealert%28%22x%26%27y%22%29%3C%2Fscript%3E"], "\(stalled)")
                #expect(stalled.contains(">Worker/acme-corp/\(Self.hostileEscaped)</a>") && stalled.contains("refused: \(Self.hostileEscaped)"))
                #expect(Self.rows(try await Self.get(client, "/objects?kind=Worker&tenant=p3&condition=ready")).count == 10)
                #expect(try await Self.get(client, "/objects?kind=Gadget", status: .badRequest).contains("&quot;Gadget&quot; is not a kind"))
                #expect(try await Self.get(client, "/objects?tenants=x", status: .badRequest).contains("Unknown parameter"))
                #expect(try await Self.get(client, "/objects?condition=red", status: .badRequest).contains("is not a condition"))
                #expect(try await Self.get(client, "/objects?kind=\(StatusPage.queryValue(Self.hostile))", status: .badRequest)
                    .contains("&lt;script&gt;alert("))

                // Objects: conditions, revisions, live state, audit entries; an erasure with its certificate.
                let hostilePage = try await Self.get(client, "/objects/Worker/acme-corp/\(PagePath.part(Self.hostile))")
                #expect(hostilePage.contains("<title>Worker/acme-corp/\(Self.hostileEscaped) · Accord</title>"), "\(hostilePage)")
                #expect(hostilePage.contains("<th scope=\"row\">Stalled</th><td>True</td><td>ApplyFailed</td>"))
                let tenant = try await Self.get(client, "/objects/Tenant/northwind")
                #expect(tenant.contains("<td>create</td>") && tenant.contains("Northwind Traders") && tenant.contains("<th scope=\"row\">Ready</th><td>True</td>"))
                let erasure = try await Self.get(client, "/objects/Erasure/acme-corp/dsr-2026-11-0007")
                let sha = try #require(try await h.scalar("SELECT body::json->'detail'->>'certificateSha256' FROM accord.audit_log WHERE action = 'erase'"))
                #expect(erasure.contains("<dt>SHA-256</dt><dd><code>\(sha)</code></dd>"), "\(erasure)")
                #expect(erasure.contains("accordctl certificate acme-corp/dsr-2026-11-0007"))
                _ = try await Self.get(client, "/objects/Tenant/nobody", status: .notFound)
                _ = try await Self.get(client, "/objects/Gadget/x", status: .notFound)

                // Erasures by deadline and certificates; models and promotions; history with Merkle roots.
                let erasures = try await Self.get(client, "/erasures")
                #expect(erasures.contains("0 open erasures") && erasures.contains("<code>\(sha)</code>"))
                let models = try await Self.get(client, "/models")
                #expect(models.contains(#"<a href="/objects/Model/lead-scorer">lead-scorer</a>"#) && models.contains("initial: none → "), "\(models)")
                let root = try #require(try await h.scalar("SELECT merkle_root FROM accord.revisions ORDER BY id DESC LIMIT 1"))
                #expect(try await Self.get(client, "/history").contains("<code>\(root)</code>"))
            }
        }
    }

    @Test func thePageCanBeTurnedOffAndIsBehindTheToken() async throws {
        let h = try await Harness()
        let db = h.db
        defer { Task { await db.drop() } }
        let off = Application(router: HTTPServer.router(.init(config: try h.config(["status-page": "false"]), state: ControllerState(),
                                                              doorbell: Doorbell(), registry: .init(), logger: .init(label: "t"))))
        try await off.test(.router) { client in
            try await client.execute(uri: "/", method: .get) { #expect($0.status == .notFound) }
            try await client.execute(uri: "/objects", method: .get) { #expect($0.status == .notFound) }
        }
        let tokenFile = h.scratch.appendingPathComponent("api-token")
        try SecretFixture.write("page-token-of-32-characters-long\n", to: tokenFile)
        let guarded = Application(router: HTTPServer.router(.init(config: try h.config(["api-token-file": tokenFile.path]), state: ControllerState(),
                                                                  doorbell: Doorbell(), registry: .init(), logger: .init(label: "t"))))
        try await guarded.test(.router) { client in
            for uri in ["/", "/objects", "/objects/Tenant/acme-corp", "/erasures", "/models", "/history"] {
                try await client.execute(uri: uri, method: .get) { #expect($0.status == .unauthorized, "\(uri)") }
            }
            // With the token: the database has nothing applied yet, and the page says so.
            try await client.execute(uri: "/", method: .get, headers: [.authorization: "Bearer page-token-of-32-characters-long"]) { response in
                #expect(response.status == .serviceUnavailable)
                #expect(String(buffer: response.body).contains("Nothing has been applied to this database yet."))
            }
        }
    }

    /// Chromium, when this machine has it; with CI=true it must.
    static func chromium() -> String? {
        for path in ["/usr/bin/chromium", "/usr/bin/chromium-browser"] where FileManager.default.isExecutableFile(atPath: path) { return path }
        return nil
    }

    @Test func aRealBrowserLoadsTheOverviewAndAnObjectPage() async throws {
        guard let chromium = Self.chromium() else {
            if TestDatabase.isCI { Issue.record("CI=true but chromium is not installed (hack/install-deps installs it)") }
            return
        }
        let h = try await Harness()
        let db = h.db
        defer { Task { await db.drop() } }
        let logs = LogBuffer()
        try await withController(try h.config(), logs: logs) { c in
            #expect(try await eventually { await c.isLeaderReady() })
            #expect(try await eventually { try await h.scalar("SELECT status FROM platform.erasures") == "completed" })
            let server = Task { try await HTTPServer.application(c.http).run() }
            defer { server.cancel() }
            #expect(try await eventually { logs.lines(msg: "listening").contains { $0["port"]?.stringValue != "0" } })
            let ports = logs.lines(msg: "listening").compactMap { $0["port"]?.stringValue }
            let port = try #require(ports.last)
            let shots = h.scratch.appendingPathComponent("shots")
            try FileManager.default.createDirectory(at: shots, withIntermediateDirectories: true)
            for (path, title, name) in [("/", "Overview · Accord", "analytics-eu"),
                                        ("/objects/Erasure/acme-corp/dsr-2026-11-0007", "Erasure/acme-corp/dsr-2026-11-0007 · Accord", "<dt>SHA-256</dt>")] {
                let url = "http://127.0.0.1:\(port)\(path)"
                let flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--hide-scrollbars",
                             "--user-data-dir=\(h.scratch.appendingPathComponent("chromium").path)"]
                let dom = try await ToolRun.run(URL(fileURLWithPath: chromium), flags + ["--dump-dom", url], environment: ProcessInfo.processInfo.environment, timeout: .seconds(120))
                #expect(dom.status == 0, "\(dom.stderr)")
                #expect(dom.stdout.contains("<title>\(title)</title>"), "\(dom.stdout.prefix(2000))")
                #expect(dom.stdout.contains(name))
                let shot = shots.appendingPathComponent(path == "/" ? "overview.png" : "erasure.png")
                let run = try await ToolRun.run(URL(fileURLWithPath: chromium), flags + ["--window-size=1280,1000", "--screenshot=\(shot.path)", url], environment: ProcessInfo.processInfo.environment, timeout: .seconds(120))
                #expect(run.status == 0, "\(run.stderr)")
                let png = try Data(contentsOf: shot)
                #expect(png.count > 10_000 && png.prefix(8) == Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]), "a PNG")
                // `ACCORD_WRITE_DOCS=1` keeps the overview for the README.
                if path == "/", ProcessInfo.processInfo.environment["ACCORD_WRITE_DOCS"] == "1" {
                    let docs = Harness.root.appendingPathComponent("docs/status-page.png")
                    try? FileManager.default.removeItem(at: docs)
                    try FileManager.default.copyItem(at: shot, to: docs)
                }
            }
        }
    }
}
