@testable import AccordController
import AccordCore
import AccordStore
import AccordTestSupport
import Foundation
import Testing

/// The controller with a regions file (SPEC §9) whose apac database is
/// down: every other region's tenants are applied, the controller stays
/// ready, and `/metrics` says which region is down.
@Suite(TestDatabase.required, .timeLimit(.minutes(8)))
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
        }
    }
}
