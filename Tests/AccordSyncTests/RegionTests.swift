import AccordCore
import AccordEngine
@testable import AccordStore
@testable import AccordSync
import AccordTestSupport
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Testing

/// Regions (SPEC §9) against four real databases on the test server —
/// control, eu, us and apac: each tenant's stores, data keys, erasure and
/// retention deletions only in its region's database; a region that is
/// down, or hung, stalls only its own tenants. One test at a time: each
/// migrates four databases, and side by side they starved the suite's
/// other tests at its busiest moment.
@Suite(TestDatabase.required, .serialized, .timeLimit(.minutes(5)), .tags(.heavy))
struct RegionTests {
    typealias T = ApplyTests
    static let subject = ErasureTests.subject

    static func apply(_ desired: [DesiredObject], _ fx: RegionFixture, _ regions: RegionDatabases, revision: String = "r1",
                      configure: (inout Pass.Options) -> Void = { _ in }) async throws -> Pass.Report {
        let pass = T.pass(desired, revision: revision, configure: configure)
        return try await fx.withSession(regions) { try await pass.run($0) }
    }

    static func scalar(_ db: ScratchDatabase, _ sql: String) async throws -> String {
        try await db.withSession { try await $0.scalar(sql) } ?? ""
    }

    /// The tenant schemas, and the tenants with data keys, of one database.
    static func placement(_ db: ScratchDatabase) async throws -> String {
        let schemas = try await scalar(db, "SELECT coalesce(string_agg(nspname, ',' ORDER BY nspname), '') FROM pg_namespace WHERE nspname LIKE 'tenant\\_%'")
        let keys = try await scalar(db, "SELECT coalesce(string_agg(DISTINCT tenant, ',' ORDER BY tenant), '') FROM accord.tenant_keys")
        return "schemas=\(schemas) keys=\(keys)"
    }

    /// A fingerprint of every row of every table of a database, so a test
    /// sees any write at all.
    static func fingerprint(_ db: ScratchDatabase) async throws -> [String: String] {
        try await db.withSession { session in
            let tables = try await session.rows("""
                SELECT format('%I.%I', n.nspname, c.relname) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1
                """).map { try $0.decode(String.self) }
            var out: [String: String] = [:]
            for table in tables {
                out[table] = try await session.scalar("SELECT count(*)::text || ':' || md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) FROM \(table) t")
            }
            return out
        }
    }

    @Test func eachTenantsStoresAndKeysLiveOnlyInItsRegionsDatabase() async throws {
        let fx = try await RegionFixture.make()
        defer { Task { await fx.drop() } }
        let desired = try Manifests.examples().desired()
        let first = try await Self.apply(desired, fx, try fx.databases())
        #expect(first.outcome?.failed.isEmpty == true, "\(first.outcome?.failed ?? [])")
        #expect(first.outcome?.applied.count == 25)

        // acme-corp (schema) and brightpath (shared) are in eu, northwind (shared) in us, kestrel-health (schema) in apac.
        #expect(try await Self.placement(fx.regions[.eu]!) == "schemas=tenant_acme_corp keys=acme-corp,brightpath")
        #expect(try await Self.placement(fx.regions[.us]!) == "schemas= keys=northwind")
        #expect(try await Self.placement(fx.regions[.apac]!) == "schemas=tenant_kestrel_health keys=kestrel-health")
        #expect(try await Self.placement(fx.control) == "schemas= keys=", "the control database holds no tenant data")
        // The registry is in the control database only.
        #expect(try await Self.scalar(fx.control, "SELECT count(*)::text FROM platform.tenants") == "4")
        for db in fx.regions.values {
            #expect(try await Self.scalar(db, "SELECT ((SELECT count(*) FROM platform.tenants) + (SELECT count(*) FROM platform.workers) + (SELECT count(*) FROM accord.inventory))::text") == "0")
        }
        // The inventory names where each object lives: a tenant's region, control for everything else.
        #expect(try await Self.scalar(fx.control, "SELECT string_agg(name || '=' || database, ',' ORDER BY name) FROM accord.inventory WHERE kind = 'Tenant'")
                == "acme-corp=eu,brightpath=eu,kestrel-health=apac,northwind=us")
        #expect(try await Self.scalar(fx.control, "SELECT string_agg(DISTINCT database, ',') FROM accord.inventory WHERE kind <> 'Tenant'") == "control")
        // Each onboarding's audit entry names the key its region's database holds.
        let audited = try await Self.scalar(fx.control, "SELECT body::jsonb->'detail'->'dataKey'->>'keyId' FROM accord.audit_log WHERE object = 'Tenant/northwind' AND action = 'create'")
        let held = try await Self.scalar(fx.regions[.us]!, "SELECT key_id FROM accord.tenant_keys WHERE tenant = 'northwind'")
        #expect(!audited.isEmpty && audited == held)
        // The stores read back from the regions: nothing to do, by the fast path and by a full pass.
        let again = try await Self.apply(desired, fx, try fx.databases())
        #expect(again.plan.steps.isEmpty && again.outcome?.bookkeeping == 0)
        let full = try await Self.apply(desired, fx, try fx.databases(), configure: { $0.full = true })
        #expect(full.plan.steps.isEmpty, "\(full.plan.steps.map(\.id))")
        // The status reads each tenant's key from its region.
        let keys = try await fx.withSession(try fx.databases(readOnly: true)) { try await TenantKeys.info($0) }
        #expect(keys.keys.sorted() == ["acme-corp", "brightpath", "kestrel-health", "northwind"])
        // A store dropped in a region is repaired there.
        try await fx.regions[.apac]!.withSession { try await $0.execute("DROP TABLE tenant_kestrel_health.traces") }
        let repaired = try await Self.apply(desired, fx, try fx.databases())
        #expect(repaired.outcome?.applied.map(\.id.description) == ["Tenant/kestrel-health"])
        #expect(try await Self.scalar(fx.regions[.apac]!, "SELECT (to_regclass('tenant_kestrel_health.traces') IS NOT NULL)::text") == "true")
    }

    @Test func erasureAndRetentionTouchOnlyTheTenantsRegion() async throws {
        let fx = try await RegionFixture.make()
        defer { Task { await fx.drop() } }
        var manifests = try Manifests.examples()
        let erasure = manifests.files.removeValue(forKey: "erasures/acme-corp.yaml")!
        _ = try await Self.apply(manifests.desired(), fx, try fx.databases(), configure: { $0.clock = { ErasureTests.at(hours: 1) } })
        let old = "to_timestamp(\(ErasureTests.at(hours: 1).timeIntervalSince1970)) - interval '200 days'"
        // The subject in acme-corp (eu, schema), brightpath (eu, shared) and northwind (us, shared); old traces everywhere.
        try await fx.regions[.eu]!.withSession { session in
            try await session.script("""
                INSERT INTO tenant_acme_corp.users (subject_email_hash) VALUES ('\(Self.subject)'), ('\(Self.subject)');
                INSERT INTO tenant_acme_corp.traces (subject_email_hash, created_at) VALUES ('\(Self.subject)', now()), (NULL, \(old));
                INSERT INTO shared.users (tenant_id, subject_email_hash) VALUES ('brightpath', '\(Self.subject)');
                """)
        }
        try await fx.regions[.us]!.withSession { session in
            try await session.script("""
                INSERT INTO shared.users (tenant_id, subject_email_hash) VALUES ('northwind', '\(Self.subject)');
                INSERT INTO shared.traces (tenant_id, created_at) VALUES ('northwind', \(old));
                """)
        }
        try await fx.regions[.apac]!.withSession {
            try await $0.execute("INSERT INTO tenant_kestrel_health.traces (tenant_id, subject_email_hash, created_at) VALUES ('kestrel-health', '\(Self.subject)', \(old))")
        }
        let usBefore = try await Self.fingerprint(fx.regions[.us]!)
        let apacBefore = try await Self.fingerprint(fx.regions[.apac]!)
        let controlStores = "SELECT ((SELECT count(*) FROM shared.users) + (SELECT count(*) FROM shared.traces) + (SELECT count(*) FROM accord.erasure_deletions))::text"

        manifests.files["erasures/acme-corp.yaml"] = erasure
        let report = try await Self.apply(manifests.desired(), fx, try fx.databases(), revision: "r2",
                                          configure: { $0.clock = { ErasureTests.at(hours: 2) } })
        #expect(report.erasures.completed.map(\.id.description) == ["Erasure/acme-corp/dsr-2026-11-0007"], "\(report.erasures.failed)")
        #expect(report.erasures.completed.first?.deleted == 3)
        // In eu: acme-corp's rows of the subject gone, brightpath's kept; the old acme-corp trace gone by retention (standard-eu).
        let eu = fx.regions[.eu]!
        #expect(try await Self.scalar(eu, "SELECT count(*)::text FROM tenant_acme_corp.users WHERE subject_email_hash = '\(Self.subject)'") == "0")
        #expect(try await Self.scalar(eu, "SELECT count(*)::text FROM shared.users WHERE tenant_id = 'brightpath'") == "1")
        #expect(try await Self.scalar(eu, "SELECT count(*)::text FROM tenant_acme_corp.traces") == "0")
        #expect(try await Self.scalar(eu, "SELECT count(*)::text FROM accord.erasure_deletions") == "0", "the running count is cleared once recorded")
        #expect(report.retention.counts.map { "\($0.tenant)/\($0.store)=\($0.rows)" } == ["acme-corp/traces=1"])
        // Every table of the other regions' databases is as it was; the control database holds no tenant rows.
        #expect(try await Self.fingerprint(fx.regions[.us]!) == usBefore)
        #expect(try await Self.fingerprint(fx.regions[.apac]!) == apacBefore)
        #expect(try await Self.scalar(fx.control, controlStores) == "0")
        // The certificate is in the control database, and its PostgreSQL part says which region it ran in.
        let result = try await Self.scalar(fx.control, "SELECT postgres_result->>'region' FROM accord.erasure_runs")
        #expect(result == "eu")
        // Row-level security in a region: a tenant sees only its own rows, and another region's tenants' rows are not there at all.
        let visible = try await eu.withSession { session in
            try await session.execute("CREATE ROLE region_reader_\(eu.url.database) NOLOGIN")
            try await session.execute("GRANT USAGE ON SCHEMA shared TO region_reader_\(eu.url.database)")
            try await session.execute("GRANT SELECT ON shared.users TO region_reader_\(eu.url.database)")
            return try await session.transaction { () -> String in
                try await session.execute("SET LOCAL ROLE region_reader_\(eu.url.database)")
                try await session.execute("SELECT set_config('accord.tenant', 'northwind', true)")
                return try await session.scalar("SELECT count(*)::text FROM shared.users") ?? ""
            }
        }
        #expect(visible == "0")
        try await eu.withSession { try await $0.script("DROP OWNED BY region_reader_\(eu.url.database); DROP ROLE region_reader_\(eu.url.database)") }
    }

    @Test func aRegionDownStallsOnlyItsTenantsAndTheRestApplies() async throws {
        let fx = try await RegionFixture.make()
        defer { Task { await fx.drop() } }
        let desired = try Manifests.examples().desired()
        // Nothing listens on port 1: apac's database is down from the start.
        let down = [Region.apac: "postgres://accord@127.0.0.1:1/apac?connect_timeout=2&sslmode=disable"]
        let first = try await Self.apply(desired, fx, try fx.databases(urls: down))
        let failed = Dictionary(uniqueKeysWithValues: (first.outcome?.failed ?? []).map { ($0.id.description, $0.reason) })
        #expect(failed["Tenant/kestrel-health"] == .regionUnavailable, "\(failed)")
        #expect(failed.filter { $0.value != .dependencyNotReady }.count == 1, "only the apac tenant fails; its workers wait for it: \(failed)")
        #expect(failed.keys.filter { !$0.contains("kestrel-health") }.isEmpty)
        #expect(first.outcome?.applied.contains { $0.id.description == "Tenant/northwind" } == true)
        #expect(try await Self.placement(fx.regions[.eu]!) == "schemas=tenant_acme_corp keys=acme-corp,brightpath")
        let message = try await Self.scalar(fx.control, "SELECT message FROM accord.object_status WHERE name = 'kestrel-health' AND kind = 'Tenant'")
        #expect(message.contains("region apac's database is unavailable") && message.contains("127.0.0.1:1"), "\(message)")

        // Back up: the apac tenant is onboarded and its stall cleared.
        let back = try await Self.apply(desired, fx, try fx.databases())
        #expect(back.outcome?.failed.isEmpty == true, "\(back.outcome?.failed ?? [])")
        #expect(try await Self.placement(fx.regions[.apac]!) == "schemas=tenant_kestrel_health keys=kestrel-health")

        // Down again: the full pass finds the apac tenant's stores unreadable and reports it alone; nothing else changes.
        let again = try await Self.apply(desired, fx, try fx.databases(urls: down), configure: { $0.full = true })
        #expect(again.outcome?.failed.map { "\($0.id) \($0.reason)" } == ["Tenant/kestrel-health RegionUnavailable"])
        #expect(again.plan.steps.map(\.id.description) == ["Tenant/kestrel-health"])
        // And up: nothing to apply, and the stall is cleared.
        let up = try await Self.apply(desired, fx, try fx.databases())
        #expect(up.plan.steps.isEmpty && up.outcome?.failed.isEmpty == true)
        #expect(try await Self.scalar(fx.control, "SELECT count(*)::text FROM accord.object_status") == "0")

        // An onboarded tenant's workers stall with its region, though their rows are in the control database.
        var scaled = try Manifests.examples()
        scaled.edit("workers/kestrel-health.yaml", "  replicas: 0", "  replicas: 1")
        scaled.edit("workers/northwind.yaml", "  replicas: 4", "  replicas: 5")
        let stalled = try await Self.apply(scaled.desired(), fx, try fx.databases(urls: down), revision: "r2")
        // (A pass that reads the tenant finds its stores unreadable: the tenant fails and its worker waits for it.)
        #expect(stalled.outcome?.failed.map { "\($0.id) \($0.reason)" }
                == ["Tenant/kestrel-health RegionUnavailable", "Worker/kestrel-health/intake-summarizer DependencyNotReady"],
                "\(stalled.outcome?.failed ?? [])")
        #expect(stalled.outcome?.applied.map(\.id.description) == ["Worker/northwind/lead-enricher"])
        #expect(try await Self.scalar(fx.control, "SELECT replicas::text FROM platform.workers WHERE name = 'intake-summarizer'") == "0")
        let workerUp = try await Self.apply(scaled.desired(), fx, try fx.databases(), revision: "r2")
        #expect(workerUp.outcome?.applied.map(\.id.description) == ["Worker/kestrel-health/intake-summarizer"] && workerUp.outcome?.failed.isEmpty == true)
        #expect(try await Self.scalar(fx.control, "SELECT count(*)::text FROM accord.object_status") == "0")
    }

    @Test func aHungRegionIsCutOffByTheTimeout() async throws {
        let fx = try await RegionFixture.make()
        defer { Task { await fx.drop() } }
        // A server that accepts connections and never answers: a listening
        // socket nobody reads (the kernel completes each handshake).
        let listener = try HungServer()
        defer { listener.close() }
        let port = String(listener.port)
        let hung = [Region.us: "postgres://accord@127.0.0.1:\(port)/us?sslmode=disable"]
        // The other regions' databases migrated beforehand: under the bound below only the pass's own statements run.
        for region in [Region.eu, .apac] { try await fx.regions[region]!.withSession { try await Migrations.run($0) } }
        let report = try await Self.apply(try Manifests.examples().desired(), fx, try fx.databases(urls: hung, timeoutSeconds: 5))
        let failed = (report.outcome?.failed ?? []).filter { $0.reason != .dependencyNotReady }
        #expect(failed.map(\.id.description) == ["Tenant/northwind"])
        #expect(failed.first?.message.contains("no answer within 5 s") == true, "\(failed.first?.message ?? "")")
        #expect(try await Self.placement(fx.regions[.apac]!) == "schemas=tenant_kestrel_health keys=kestrel-health")
    }

    @Test func aTenantMovesToAnotherRegionWithItsDataOnlyWhenAnnotated() async throws {
        let fx = try await RegionFixture.make()
        defer { Task { await fx.drop() } }
        var manifests = try Manifests.examples()
        _ = try await Self.apply(manifests.desired(), fx, try fx.databases())
        // northwind (shared) has rows in us; eu holds brightpath's shared rows too.
        try await fx.regions[.us]!.withSession { session in
            try await session.script("""
                INSERT INTO shared.users (tenant_id, subject_email_hash) VALUES ('northwind', '\(Self.subject)'), ('northwind', NULL);
                INSERT INTO shared.traces (tenant_id) VALUES ('northwind');
                INSERT INTO shared.traces (tenant_id) SELECT 'northwind' FROM generate_series(1, \(RegionMove.copyChunk * 2 + 345));
                """)
        }
        try await fx.regions[.eu]!.withSession { try await $0.execute("INSERT INTO shared.users (tenant_id) VALUES ('brightpath')") }
        let key = try await Self.scalar(fx.regions[.us]!, "SELECT key_id FROM accord.tenant_keys WHERE tenant = 'northwind'")

        // Without the annotation the move is refused, nothing written.
        manifests.edit("tenants/northwind.yaml", "  region: us", "  region: eu")
        let refused = try await Self.apply(manifests.desired(), fx, try fx.databases(), revision: "r2")
        #expect(refused.refusal?.by == .residency, "\(String(describing: refused.refusal))")
        #expect(try await Self.scalar(fx.control, "SELECT region FROM platform.tenants WHERE name = 'northwind'") == "us")

        // With it: the rows and the key move to eu, counted, and leave us.
        manifests.edit("tenants/northwind.yaml", "    accord.dev/owner: customer-success-na", "    accord.dev/owner: customer-success-na\n    accord.dev/migrate-region: \"true\"")
        let moved = try await Self.apply(manifests.desired(), fx, try fx.databases(), revision: "r3")
        #expect(moved.refusal == nil && moved.outcome?.failed.isEmpty == true, "\(moved.outcome?.failed ?? [])")
        #expect(try await Self.scalar(fx.control, "SELECT region FROM platform.tenants WHERE name = 'northwind'") == "eu")
        let eu = fx.regions[.eu]!, us = fx.regions[.us]!
        #expect(try await Self.scalar(eu, "SELECT count(*)::text FROM shared.users WHERE tenant_id = 'northwind'") == "2")
        // More rows than one chunk of the copy: every one moved.
        #expect(try await Self.scalar(eu, "SELECT count(*)::text FROM shared.traces WHERE tenant_id = 'northwind'") == String(RegionMove.copyChunk * 2 + 346))
        #expect(try await Self.scalar(eu, "SELECT count(*)::text FROM shared.users WHERE tenant_id = 'brightpath'") == "1", "eu's other tenants untouched")
        #expect(try await Self.scalar(eu, "SELECT key_id FROM accord.tenant_keys WHERE tenant = 'northwind'") == key, "the same key, moved")
        #expect(try await Self.scalar(us, "SELECT ((SELECT count(*) FROM shared.users) + (SELECT count(*) FROM shared.traces) + (SELECT count(*) FROM accord.tenant_keys))::text") == "0",
                "nothing of northwind left in us")
        let detail = try JSONParser.parse(try await Self.scalar(fx.control, "SELECT body FROM accord.audit_log WHERE object = 'Tenant/northwind' AND action = 'update' ORDER BY seq DESC LIMIT 1"))["detail"]
        #expect(detail?["regionMoved"]?["from"] == .string("us") && detail?["regionMoved"]?["to"] == .string("eu"), "\(String(describing: detail))")
        #expect(detail?["regionMoved"]?["rows"]?["users"] == .number(2) && detail?["regionMoved"]?["rows"]?["data_keys"] == .number(1))
        #expect(try await Self.scalar(fx.control, "SELECT count(*)::text FROM accord.region_moves") == "0")
        #expect(try await Self.scalar(fx.control, "SELECT database FROM accord.inventory WHERE kind = 'Tenant' AND name = 'northwind'") == "eu")
        // A tenant with its own schema: the schema moves (apac → us) and is dropped in apac.
        try await fx.regions[.apac]!.withSession { try await $0.execute("INSERT INTO tenant_kestrel_health.tasks (tenant_id) VALUES ('kestrel-health')") }
        manifests.edit("tenants/kestrel-health.yaml", "  region: apac", "  region: us")
        manifests.edit("tenants/kestrel-health.yaml", "    accord.dev/owner: customer-success-apac", "    accord.dev/owner: customer-success-apac\n    accord.dev/migrate-region: \"true\"")
        let schemaMoved = try await Self.apply(manifests.desired(), fx, try fx.databases(), revision: "r4")
        #expect(schemaMoved.outcome?.failed.isEmpty == true, "\(schemaMoved.outcome?.failed ?? [])")
        #expect(try await Self.scalar(us, "SELECT count(*)::text FROM tenant_kestrel_health.tasks") == "1")
        #expect(try await Self.placement(fx.regions[.apac]!) == "schemas= keys=")
        #expect(try await Self.placement(us) == "schemas=tenant_kestrel_health keys=kestrel-health")
        // Applied again: nothing to do.
        let again = try await Self.apply(manifests.desired(), fx, try fx.databases(), revision: "r4")
        #expect(again.plan.steps.isEmpty, "\(again.plan.steps.map(\.id))")
    }

    @Test func keysRotateInTheTenantsRegion() async throws {
        let fx = try await RegionFixture.make([.eu, .us, .apac])
        defer { Task { await fx.drop() } }
        let desired = try Manifests.examples().desired()
        _ = try await Self.apply(desired, fx, try fx.databases())
        // Every tenant's key is past its rotation age a year on.
        let later = Date().addingTimeInterval(400 * 86_400)
        let report = try await Self.apply(desired, fx, try fx.databases(), configure: { $0.clock = { later } })
        #expect(report.rotation.rotated.map(\.tenant).sorted() == ["acme-corp", "brightpath", "kestrel-health", "northwind"])
        #expect(try await Self.scalar(fx.regions[.us]!, "SELECT string_agg(version::text || (retired_at IS NULL)::text, ',' ORDER BY version) FROM accord.tenant_keys") == "1false,2true")
        #expect(try await Self.scalar(fx.control, "SELECT count(*)::text FROM accord.audit_log WHERE action = 'rotate-key'") == "4")
        #expect(try await Self.scalar(fx.control, "SELECT count(*)::text FROM accord.tenant_keys") == "0")
    }
}

/// A TCP port on loopback that takes connections (the kernel's backlog)
/// and never says a word.
final class HungServer {
    let fd: Int32
    let port: UInt16

    struct Failure: Error { let call: String }

    init() throws {
        let s = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard s >= 0 else { throw Failure(call: "socket") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(s, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(s, 64) == 0 else { throw Failure(call: "bind/listen") }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(s, $0, &length) }
        }
        fd = s
        port = UInt16(bigEndian: address.sin_port)
    }

    func close() { _ = Glibc.close(fd) }
}
