@testable import AccordController
import AccordCore
@testable import AccordHTTP
import AccordStore
import AccordTestSupport
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

/// The controller with a regions file (SPEC §9) whose apac database is
/// down: every other region's tenants are applied, the controller stays
/// ready, and `/metrics` says which region is down.
@Suite(TestDatabase.required, .timeLimit(.minutes(8)), .tags(.heavy))
struct RegionControllerTests {
    @Test func aRegionDownLeavesTheControllerReadyAndTheOtherRegionsApplied() async throws {
        let h = try await Harness()
        let fx = try await RegionFixture.make()
        defer { Task { await h.db.drop(); await fx.drop() } }
        let file = try fx.file(urls: [.apac: "postgres://accord@127.0.0.1:1/apac?connect_timeout=2&sslmode=disable"])
        let config = try h.config(["regions-file": file])
        #expect(config.regions?.regions == [.apac, .eu, .us])
        let logs = LogBuffer()
        try await withController(config, logs: logs) { (c: Running) async throws in
            // Four databases migrated and a full pass, at the suite's busiest moment: a generous bound.
            #expect(try await eventually(within: .seconds(240)) { await c.isLeaderReady() }, "ready though a region is down: \(logs.text.suffix(6000))")
            let tenants = { try await fx.control.withSession { try await $0.scalar("SELECT string_agg(name, ',' ORDER BY name) FROM platform.tenants") } }
            #expect(try await eventually(within: .seconds(120)) { try await tenants() == "acme-corp,brightpath,northwind" })
            #expect(try await fx.control.withSession {
                try await $0.scalar("SELECT reason FROM accord.object_status WHERE kind = 'Tenant' AND name = 'kestrel-health'")
            } == "RegionUnavailable")
            #expect(try await eventually { c.metricsText.contains(#"accord_region_up{region="apac"} 0"#) }, "\(c.metricsText)")
            #expect(c.metricsText.contains(#"accord_region_up{region="eu"} 1"#) && c.metricsText.contains(#"accord_region_up{region="us"} 1"#))
            #expect(await c.isLeaderReady(), "\(logs.text.suffix(3000))")

            // The page and the API read each tenant's data from its region: the key, the database, the regions' health.
            let app = Application(router: HTTPServer.router(c.http))
            try await app.test(.router) { client in
                let overview = try await StatusPageTests.get(client, "/")
                #expect(overview.contains(#"<h2 id="regions">Regions</h2>"#), "\(overview)")
                #expect(overview.contains(#"<tr><th scope="row">apac</th><td class="bad">no</td>"#), "\(overview)")
                #expect(overview.contains(#"<tr><th scope="row">eu</th><td class="good">yes</td>"#), "\(overview)")
                let tenant = try await StatusPageTests.get(client, "/objects/Tenant/northwind")
                #expect(tenant.contains("<dt>Database</dt><dd>us</dd>"), "\(tenant)")
                try await client.execute(uri: "/api/v1/objects?kind=Tenant", method: .get) { response in
                    #expect(response.status == .ok)
                    let objects = try JSONParser.parse(String(buffer: response.body))["objects"]?.arrayValue ?? []
                    let northwind = objects.first { $0["id"] == .string("Tenant/northwind") }
                    #expect(northwind?["database"] == .string("us"), "\(objects)")
                    let keyID = try await fx.regions[.us]!.withSession { try await $0.scalar("SELECT key_id FROM accord.tenant_keys WHERE tenant = 'northwind'") }
                    #expect(keyID != nil && northwind?["live"]?["data_key"]?["keyId"] == JSONValue(keyID), "the key its region holds: \(String(describing: northwind))")
                }
            }
        }
    }
}
