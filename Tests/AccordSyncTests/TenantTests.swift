import AccordCore
import AccordEngine
@testable import AccordStore
import AccordTestSupport
import Foundation
import Testing

/// Onboarding and offboarding against a real PostgreSQL: stores in both
/// isolation modes, row-level security, data keys, the kill switch, model
/// resolution, and idempotent re-applies.
@Suite(TestDatabase.required)
struct TenantTests {
    typealias T = ApplyTests

    static let storeColumns = "id uuid, tenant_id text, created_at timestamp with time zone, subject_email_hash text, data jsonb"

    /// `table(columns)` of every store table in a schema, in name order.
    static func storeShape(_ db: ScratchDatabase, schema: String) async throws -> [String] {
        try await db.withSession { session in
            try await session.rows("""
                SELECT c.table_name || '(' || string_agg(c.column_name || ' ' || c.data_type, ', ' ORDER BY c.ordinal_position) || ')'
                FROM information_schema.columns c WHERE c.table_schema = $1 GROUP BY c.table_name ORDER BY c.table_name
                """, [schema]).map { try $0.decode(String.self) }
        }
    }

    static func seed(_ db: ScratchDatabase, _ schema: String, _ tenant: String, rows: Int = 2) async throws {
        try await db.withSession { session in
            for table in TenantRecord.storeTables {
                try await session.execute("""
                    INSERT INTO \(schema).\(table) (tenant_id, subject_email_hash)
                    SELECT $1, 'sha256:' || encode(sha256(convert_to($1 || g::text, 'UTF8')), 'hex') FROM generate_series(1, $2::int) g
                    """, [tenant, String(rows)])
            }
        }
    }

    static func count(_ db: ScratchDatabase, _ schema: String, tenant: String) async throws -> Int {
        var total = 0
        for table in TenantRecord.storeTables {
            total += Int(try await T.scalar(db, "SELECT count(*)::text FROM \(schema).\(table) WHERE tenant_id = '\(tenant)'") ?? "0") ?? 0
        }
        return total
    }

    @Test func bothIsolationModesHaveTheSixStoresWithTheSpecColumns() async throws {
        let db = try await TestDatabase.scratch()
        defer { Task { await db.drop() } }
        let report = try await T.apply(Manifests.examples().desired(), db)
        #expect(report.outcome?.failed.isEmpty == true)

        let expected = [
            "datasets(\(Self.storeColumns))", "provenance_records(\(Self.storeColumns))", "tasks(\(Self.storeColumns))",
            "traces(\(Self.storeColumns))", "users(\(Self.storeColumns))", "worker_memory(id uuid, tenant_id text, created_at timestamp with time zone, subject_email_hash text, memory_type text, data jsonb)",
        ]
        // acme-corp is enterprise (schema by default), kestrel-health asks for a schema; brightpath and northwind share.
        #expect(try await Self.storeShape(db, schema: "tenant_acme_corp") == expected)
        #expect(try await Self.storeShape(db, schema: "tenant_kestrel_health") == expected)
        #expect(try await Self.storeShape(db, schema: "shared") == expected)
        #expect(try await T.scalar(db, "SELECT count(*)::text FROM pg_namespace WHERE nspname LIKE 'tenant\\_%'") == "2")
        #expect(try await T.scalar(db, """
            SELECT string_agg(relname, ',' ORDER BY relname) FROM pg_class
            WHERE relnamespace = 'shared'::regnamespace AND relkind = 'r' AND relrowsecurity AND relforcerowsecurity
            """) == "datasets,provenance_records,tasks,traces,users,worker_memory", "every shared store is under forced row-level security")

        // A schema tenant's tables accept only its own rows.
        await #expect(throws: (any Error).self) {
            try await db.withSession { try await $0.execute("INSERT INTO tenant_acme_corp.users (tenant_id) VALUES ('northwind')") }
        }
        try await db.withSession { try await $0.execute("INSERT INTO tenant_acme_corp.users (subject_email_hash) VALUES (NULL)") }
        #expect(try await T.scalar(db, "SELECT tenant_id FROM tenant_acme_corp.users") == "acme-corp")
    }

    @Test func rowLevelSecurityKeepsEachTenantToItsOwnSharedRows() async throws {
        let db = try await TestDatabase.scratch()
        defer { Task { await db.drop() } }
        _ = try await T.apply(Manifests.examples().desired(), db)
        try await Self.seed(db, "shared", "brightpath", rows: 3)
        try await Self.seed(db, "shared", "northwind", rows: 5)
        let role = "accord_rls_\(UUID().uuidString.prefix(8).lowercased())"
        try await db.withSession { session in
            try await session.execute("CREATE ROLE \(role) NOLOGIN")
            try await session.execute("GRANT USAGE ON SCHEMA shared TO \(role)")
            try await session.execute("GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA shared TO \(role)")
        }
        // The role sees and changes only the tenant it set, and nothing without one.
        let seen: [String] = try await db.withSession { session in
            var out: [String] = []
            try await session.execute("SET ROLE \(role)")
            out.append(try await session.scalar("SELECT count(*)::text FROM shared.users") ?? "")
            try await session.transaction {
                _ = try await session.scalar("SELECT set_config('accord.tenant', 'brightpath', true)")
                out.append(try await session.scalar("SELECT string_agg(DISTINCT tenant_id, ',') || ' ' || count(*) FROM shared.users") ?? "")
                out.append(try await session.scalar("""
                    WITH u AS (UPDATE shared.tasks SET data = '{"touched": true}' WHERE tenant_id = 'northwind' RETURNING 1)
                    SELECT count(*)::text FROM u
                    """) ?? "")
                out.append(try await session.scalar("""
                    WITH d AS (DELETE FROM shared.traces RETURNING tenant_id) SELECT coalesce(string_agg(DISTINCT tenant_id, ','), '') || ' ' || count(*) FROM d
                    """) ?? "")
            }
            do {
                try await session.transaction {
                    _ = try await session.scalar("SELECT set_config('accord.tenant', 'brightpath', true)")
                    try await session.execute("INSERT INTO shared.users (tenant_id) VALUES ('northwind')")
                }
                out.append("inserted another tenant's row")
            } catch {
                out.append("refused: \(String(describing: error).contains("row-level security"))")
            }
            try await session.execute("RESET ROLE")
            try await session.execute("DROP OWNED BY \(role)")
            try await session.execute("DROP ROLE \(role)")
            return out
        }
        #expect(seen == ["0", "brightpath 3", "0", "brightpath 3", "refused: true"])
        #expect(try await Self.count(db, "shared", tenant: "northwind") == 30, "northwind's rows are untouched")
        #expect(try await T.scalar(db, "SELECT count(*)::text FROM shared.tasks WHERE data ? 'touched'") == "0")
    }

    @Test func dataKeysAreWrappedUnwrapAndRotateKeepingOldVersions() async throws {
        let db = try await TestDatabase.scratch()
        defer { Task { await db.drop() } }
        let desired = try Manifests.examples().desired()
        let t0 = Date(timeIntervalSince1970: 1_790_000_000)
        let first = try await T.apply(desired, db) { $0.clock = { t0 } }
        #expect(first.outcome?.keysCreated == ["Tenant/acme-corp": 1, "Tenant/brightpath": 1, "Tenant/kestrel-health": 1, "Tenant/northwind": 1])
        let original = try await db.withSession { try await TenantKeys.dataKey($0, tenant: "acme-corp", kek: TestKeys.kek) }
        #expect(original.bytes.count == 32)
        #expect(original.description == "DataKey(redacted)")
        await #expect(throws: TenantKeys.Missing.self, "another KEK is named by its fingerprint, not tried") {
            _ = try await db.withSession { try await TenantKeys.dataKey($0, tenant: "acme-corp", kek: TestKeys.otherKEK) }
        }

        // Re-applying the same state adds no key (and nothing else).
        let auditBefore = try await T.scalar(db, "SELECT count(*)::text FROM accord.audit_log")
        let again = try await T.apply(desired, db) { $0.clock = { t0.addingTimeInterval(86_400) } }
        #expect(again.outcome?.keysCreated.isEmpty == true)
        #expect(again.rotation.rotated.isEmpty)
        #expect(try await T.scalar(db, "SELECT count(*)::text FROM accord.tenant_keys") == "4")
        #expect(try await T.scalar(db, "SELECT count(*)::text FROM accord.audit_log") == auditBefore)

        // 91 days on with no KEK: the due rotations wait, each tenant Stalled saying why, no key is made.
        let later = t0.addingTimeInterval(91 * 86_400)
        let blocked = try await T.apply(desired, db) { $0.clock = { later }; $0.keys.kek = nil }
        #expect(blocked.rotation.blocked.sorted() == ["acme-corp", "brightpath", "kestrel-health"])
        #expect(blocked.rotation.rotated.isEmpty)
        #expect(try await T.scalar(db, "SELECT count(*)::text FROM accord.tenant_keys") == "4")
        let waiting = try await db.withSession { try await ObjectStatus.read($0, id: ObjectID(kind: .tenant, name: "acme-corp")) }.first
        #expect(waiting?.stalled == true)
        #expect(waiting?.message.contains("due for rotation, but no key-encryption key is configured") == true)

        // With the KEK back, 91 days on: acme-corp (90 days) rotates, northwind (180) does not, the stall clears.
        let rotated = try await T.apply(desired, db) { $0.clock = { later } }
        #expect(rotated.rotation.rotated.map { "\($0.tenant) \($0.from)→\($0.to)" }.sorted()
            == ["acme-corp 1→2", "brightpath 1→2", "kestrel-health 1→2"])
        #expect(try await T.scalar(db, """
            SELECT string_agg(tenant || ' v' || version || CASE WHEN retired_at IS NULL THEN ' active' ELSE ' retired' END, ', ' ORDER BY tenant, version)
            FROM accord.tenant_keys WHERE tenant IN ('acme-corp', 'northwind')
            """) == "acme-corp v1 retired, acme-corp v2 active, northwind v1 active")
        let (v1, v2) = try await db.withSession { session in
            (try await TenantKeys.dataKey(session, tenant: "acme-corp", version: 1, kek: TestKeys.kek),
             try await TenantKeys.dataKey(session, tenant: "acme-corp", kek: TestKeys.kek))
        }
        #expect(v1.bytes == original.bytes, "the retired version still decrypts")
        #expect(v2.bytes != original.bytes)
        #expect(try await T.scalar(db, "SELECT count(*)::text FROM accord.audit_log WHERE action = 'rotate-key' AND body::json->'detail'->>'keyId' IS NOT NULL") == "3")
        let cleared = try await db.withSession { try await ObjectStatus.read($0, id: ObjectID(kind: .tenant, name: "acme-corp")) }.first
        #expect(cleared?.stalled == false)

        // A wrapped key moved onto another tenant's row does not unwrap.
        try await db.withSession { try await $0.execute("""
            UPDATE accord.tenant_keys SET wrapped_key = (SELECT wrapped_key FROM accord.tenant_keys WHERE tenant = 'acme-corp' AND version = 2)
            WHERE tenant = 'northwind'
            """) }
        await #expect(throws: TenantKeyWrapping.Failure.self) {
            _ = try await db.withSession { try await TenantKeys.dataKey($0, tenant: "northwind", kek: TestKeys.kek) }
        }
    }

    /// Every pass asks only for the keys that are due; a tenant stalled for
    /// a missing KEK whose key is no longer due (here the clock says so) is
    /// cleared by the next pass with a KEK, without a rotation, and left
    /// stalled by a pass without one.
    @Test func aStallForAMissingKEKClearsOnceItsKeyIsNoLongerDue() async throws {
        let db = try await TestDatabase.scratch()
        defer { Task { await db.drop() } }
        let desired = try Manifests.examples().desired()
        let t0 = Date(timeIntervalSince1970: 1_790_000_000)
        _ = try await T.apply(desired, db) { $0.clock = { t0 } }
        let stalls = "SELECT string_agg(name, ',' ORDER BY name) FROM accord.object_status WHERE kind = 'Tenant' AND reason = '\(FailureReason.keyEncryptionKeyMissing.rawValue)'"
        let blocked = try await T.apply(desired, db) { $0.clock = { t0.addingTimeInterval(91 * 86_400) }; $0.keys.kek = nil }
        #expect(blocked.rotation.blocked.sorted() == ["acme-corp", "brightpath", "kestrel-health"])
        #expect(try await T.scalar(db, stalls) == "acme-corp,brightpath,kestrel-health")

        let dayOne = t0.addingTimeInterval(86_400)
        let withoutKEK = try await T.apply(desired, db) { $0.clock = { dayOne }; $0.keys.kek = nil }
        #expect(withoutKEK.rotation.blocked.isEmpty && withoutKEK.rotation.rotated.isEmpty)
        #expect(try await T.scalar(db, stalls) == "acme-corp,brightpath,kestrel-health", "no KEK: the stalls stay")

        let withKEK = try await T.apply(desired, db) { $0.clock = { dayOne } }
        #expect(withKEK.rotation.rotated.isEmpty && withKEK.rotation.blocked.isEmpty)
        #expect(try await T.scalar(db, stalls) == nil, "keys not due: the stalls clear")
        #expect(try await T.scalar(db, "SELECT count(*)::text FROM accord.tenant_keys") == "4", "and nothing rotated")
    }

    @Test func noKeyMaterialIsStoredInTheDatabase() async throws {
        let db = try await TestDatabase.scratch()
        defer { Task { await db.drop() } }
        _ = try await T.apply(Manifests.examples().desired(), db)
        let dataKey = try await db.withSession { try await TenantKeys.dataKey($0, tenant: "northwind", kek: TestKeys.kek) }
        let everything: String = try await db.withSession { session in
            var text = ""
            for row in try await session.rows("""
                SELECT quote_ident(table_schema) || '.' || quote_ident(table_name) FROM information_schema.tables
                WHERE table_type = 'BASE TABLE' AND (table_schema IN ('accord', 'platform', 'shared') OR table_schema LIKE 'tenant\\_%')
                """) {
                let table = try row.decode(String.self)
                for r in try await session.rows("SELECT t::text FROM \(table) t") { text += try r.decode(String.self) + "\n" }
            }
            return text
        }
        #expect(everything.contains("dek-"), "the dump does hold the key ids")
        for secret in [TestKeys.kekBytes, dataKey.bytes] {
            for form in [Hex.encode(secret), Base64.encode(secret), String(Base64.encode(secret).prefix(24))] {
                #expect(!everything.contains(form), "no KEK or data key bytes, in any encoding, are stored")
            }
        }
    }

    @Test func withoutAKEKTenantsStallAndEverythingElseApplies() async throws {
        let db = try await TestDatabase.scratch()
        defer { Task { await db.drop() } }
        let desired = try Manifests.examples().desired()
        let report = try await T.apply(desired, db) { $0.keys.kek = nil }
        let failed = Dictionary(uniqueKeysWithValues: (report.outcome?.failed ?? []).map { ($0.id.description, $0) })
        #expect(failed["Tenant/acme-corp"]?.reason == .keyEncryptionKeyMissing)
        #expect(failed["Tenant/acme-corp"]?.stalled == true)
        #expect(failed["Worker/acme-corp/report-writer"]?.reason == .dependencyNotReady)
        #expect(report.outcome?.applied.map(\.id.description).sorted()
            == ["Model/lead-scorer", "Model/support-drafter", "RetentionPolicy/standard-eu", "RetentionPolicy/strict-eu",
                "Store/analytics-eu", "Store/sessions-eu", "Store/uploads-eu", "Store/vectors-eu"])
        #expect(try await T.scalar(db, "SELECT count(*)::text FROM platform.tenants") == "0", "a tenant without a key is not onboarded")
        let status = try await db.withSession { try await ObjectStatus.read($0, id: ObjectID(kind: .tenant, name: "acme-corp")) }
        #expect(status.first?.stalled == true)
        #expect(status.first?.message.contains("ACCORD_KEK_FILE") == true)

        let failures = "SELECT count(*)::text FROM accord.audit_log WHERE action LIKE '%-failed'"
        let auditBefore = try await T.scalar(db, failures)
        _ = try await T.apply(desired, db, revision: "r2") { $0.keys.kek = nil }
        #expect(try await T.scalar(db, failures) == auditBefore, "the same stall found again adds no audit entry")

        let fixed = try await T.apply(desired, db, revision: "r3")
        #expect(fixed.outcome?.failed.isEmpty == true)
        #expect(fixed.plan.count(.create) == 17)
        #expect(try await T.scalar(db, "SELECT count(*)::text FROM accord.object_status") == "0")
    }

    @Test func killSwitchStopsEveryWorkerOfATenantAndLiftingItRestoresThem() async throws {
        let db = try await TestDatabase.scratch()
        defer { Task { await db.drop() } }
        var manifests = try Manifests.examples()
        _ = try await T.apply(manifests.desired(), db)
        let statuses = "SELECT string_agg(name || '=' || status, ',' ORDER BY name) FROM platform.workers WHERE tenant = 'northwind'"
        let before = try await T.scalar(db, statuses)
        #expect(before?.contains("outreach-drafter=paused") == true)
        #expect(before?.contains("lead-qualifier=running") == true)

        manifests.edit("tenants/northwind.yaml", "  plan: pro\n", "  plan: pro\n  suspended: true\n")
        let suspended = try await T.apply(manifests.desired(), db, revision: "r2")
        #expect(suspended.plan.steps.filter { $0.id.kind == .worker }.allSatisfy { $0.cause == .dependency })
        #expect(suspended.plan.steps.filter { $0.id.kind == .worker }.count == 4)
        #expect(try await T.scalar(db, "SELECT status FROM platform.tenants WHERE name = 'northwind'") == "suspended")
        #expect(try await T.scalar(db, "SELECT count(*)::text FROM platform.workers WHERE tenant = 'northwind' AND status <> 'stopped'") == "0")
        #expect(try await T.scalar(db, "SELECT count(*)::text FROM platform.workers WHERE tenant <> 'northwind' AND status = 'stopped'") == "0")

        manifests.edit("tenants/northwind.yaml", "  suspended: true\n", "")
        _ = try await T.apply(manifests.desired(), db, revision: "r3")
        #expect(try await T.scalar(db, statuses) == before, "lifted: running again, and the paused worker paused")
    }

    @Test func aModelPromotionRedeploysItsWorkersAndNoProductionStallsThem() async throws {
        let db = try await TestDatabase.scratch()
        defer { Task { await db.drop() } }
        var manifests = try Manifests.examples()
        _ = try await T.apply(manifests.desired(), db)
        let users = try await T.scalar(db, "SELECT count(*)::text FROM platform.workers WHERE model = 'support-drafter'")

        manifests.edit("models/support-drafter.yaml", "production: \"3\"", "production: \"4\"")
        manifests.edit("models/support-drafter.yaml", "version: \"4\"\n    trafficPercent", "version: \"3\"\n    trafficPercent")
        let promoted = try await T.apply(manifests.desired(), db, revision: "r2")
        let redeploys = promoted.plan.steps.filter { $0.id.kind == .worker }
        #expect(String(redeploys.count) == users)
        #expect(redeploys.allSatisfy { $0.cause == .dependency && $0.changes.map(\.path) == ["model_version"] })
        #expect(try await T.scalar(db, "SELECT string_agg(DISTINCT model_version, ',') FROM platform.workers WHERE model = 'support-drafter'") == "4")

        manifests.edit("models/support-drafter.yaml", "  production: \"4\"\n", "")
        let unpromoted = try await T.apply(manifests.desired(), db, revision: "r3")
        let stalled = (unpromoted.outcome?.failed ?? []).filter { $0.reason == .modelNotPromoted }
        #expect(String(stalled.count) == users)
        #expect(stalled.allSatisfy { $0.stalled && $0.message.contains("Model/support-drafter has no production version") })
        #expect(try await T.scalar(db, "SELECT string_agg(DISTINCT model_version, ',') FROM platform.workers WHERE model = 'support-drafter'") == "4",
                "a stalled worker keeps running the version it had")
        let status = try await db.withSession { try await ObjectStatus.read($0, id: ObjectID(kind: .worker, tenant: "brightpath", name: "support-triage")) }
        #expect(status.first?.stalled == true)
        #expect(status.first?.conditions.first?.reason == "ModelNotPromoted")

        // The kill switch reaches stalled workers too: they stop, keeping their version.
        manifests.edit("tenants/brightpath.yaml", "spec:\n", "spec:\n  suspended: true\n")
        let suspended = try await T.apply(manifests.desired(), db, revision: "r4")
        #expect(try await T.scalar(db, "SELECT string_agg(DISTINCT status || ' ' || model_version, ',') FROM platform.workers WHERE tenant = 'brightpath'")
                == "stopped 4")
        #expect(suspended.outcome?.applied.contains { $0.id == ObjectID(kind: .worker, tenant: "brightpath", name: "support-triage") } == true)
        #expect((suspended.outcome?.failed ?? []).contains { $0.id.name == "support-triage" && $0.reason == .modelNotPromoted },
                "still reported as waiting for a production version")
        // A second pass writes nothing more.
        let again = try await T.apply(manifests.desired(), db, revision: "r4")
        #expect(again.outcome?.applied.isEmpty == true)
    }

    @Test func offboardingWithRetainKeepsDataKeysAndRowsAndStopsWorkers() async throws {
        let db = try await TestDatabase.scratch()
        defer { Task { await db.drop() } }
        var manifests = try Manifests.examples()
        _ = try await T.apply(manifests.desired(), db)
        try await Self.seed(db, "shared", "northwind")
        manifests.files["tenants/northwind.yaml"] = nil
        manifests.files["workers/northwind.yaml"] = nil
        manifests.files["workflows/northwind-lead-followup.yaml"] = nil

        // No prune is needed and the deletion guard lets it through (6 of 25 objects, none deleted).
        let report = try await T.apply(manifests.desired(), db, revision: "r2")
        #expect(report.refusal == nil)
        #expect(report.outcome?.failed.isEmpty == true)
        #expect(report.plan.steps.allSatisfy { $0.action == .retain })
        #expect(report.plan.count(.retain) == 6)
        #expect(try await T.scalar(db, "SELECT status FROM platform.tenants WHERE name = 'northwind'") == "offboarded")
        #expect(try await T.scalar(db, "SELECT string_agg(DISTINCT status, ',') FROM platform.workers WHERE tenant = 'northwind'") == "stopped")
        #expect(try await T.scalar(db, "SELECT count(*)::text FROM platform.workers WHERE tenant = 'northwind'") == "4")
        #expect(try await T.scalar(db, "SELECT count(*)::text FROM platform.workflows WHERE tenant = 'northwind'") == "1")
        #expect(try await Self.count(db, "shared", tenant: "northwind") == 12, "its data is kept")
        #expect(try await T.scalar(db, "SELECT count(*)::text FROM accord.tenant_keys WHERE tenant = 'northwind'") == "1")
        #expect(try await T.scalar(db, "SELECT count(*)::text FROM accord.audit_log WHERE action = 'retain' AND object LIKE '%northwind%'") == "6")
        #expect(try await T.preview(manifests.desired(), db, prune: true).isEmpty)

        // Back in git: active again, with the stores, rows and key it kept; its workers run again.
        let returning = try Manifests.examples()
        let back = try await T.apply(returning.desired(), db, revision: "r3")
        #expect(back.outcome?.failed.isEmpty == true)
        #expect(try await T.scalar(db, "SELECT status FROM platform.tenants WHERE name = 'northwind'") == "active")
        #expect(try await T.scalar(db, "SELECT string_agg(DISTINCT status, ',' ORDER BY status) FROM platform.workers WHERE tenant = 'northwind'") == "paused,running")
        #expect(try await Self.count(db, "shared", tenant: "northwind") == 12)
        #expect(try await T.scalar(db, "SELECT count(*)::text || ' ' || max(version)::text FROM accord.tenant_keys WHERE tenant = 'northwind'") == "1 1",
                "the kept key, no new one")
    }

    /// An enterprise tenant that does not say its isolation gets its own schema.
    @Test func anEnterpriseTenantGetsItsOwnSchemaByDefault() async throws {
        let db = try await TestDatabase.scratch()
        defer { Task { await db.drop() } }
        var manifests = try Manifests.examples()
        manifests.files["tenants/orbital.yaml"] = """
            apiVersion: accord.dev/v1
            kind: Tenant
            metadata: {name: orbital}
            spec: {displayName: Orbital, plan: enterprise, region: eu}
            """
        let report = try await T.apply(manifests.desired(), db)
        #expect(report.outcome?.failed.isEmpty == true)
        #expect(try await T.scalar(db, "SELECT isolation FROM platform.tenants WHERE name = 'orbital'") == "schema")
        #expect(try await T.scalar(db, "SELECT count(*)::text FROM information_schema.tables WHERE table_schema = 'tenant_orbital'") == "6")
    }

    @Test func offboardingWithDeleteDropsTheSchemaOrTheSharedRowsAndTheKeys() async throws {
        let db = try await TestDatabase.scratch()
        defer { Task { await db.drop() } }
        var manifests = try Manifests.examples()
        // brightpath (shared) already says Delete.
        manifests.edit("tenants/kestrel-health.yaml", "  plan: pro\n", "  plan: pro\n  deletionPolicy: Delete\n")
        _ = try await T.apply(manifests.desired(), db)
        try await Self.seed(db, "tenant_kestrel_health", "kestrel-health")
        try await Self.seed(db, "shared", "brightpath")
        try await Self.seed(db, "shared", "northwind")
        for gone in ["tenants/kestrel-health.yaml", "workers/kestrel-health.yaml", "tenants/brightpath.yaml", "workers/brightpath.yaml"] {
            manifests.files[gone] = nil
        }

        let guarded = try await T.apply(manifests.desired(), db, revision: "r2") { $0.prune = true }
        #expect(guarded.refusal != nil, "the deletion guard still applies")
        #expect(try await T.scalar(db, "SELECT count(*)::text FROM pg_namespace WHERE nspname = 'tenant_kestrel_health'") == "1")

        let report = try await T.apply(manifests.desired(), db, revision: "r3") { $0.prune = true; $0.guardrail = DeletionGuard(allowed: true) }
        #expect(report.outcome?.failed.isEmpty == true)
        #expect(report.plan.steps.map { "\($0.action.rawValue) \($0.id)" }.filter { $0.contains("Tenant/") }
            == ["delete Tenant/brightpath", "delete Tenant/kestrel-health"])
        #expect(try await T.scalar(db, "SELECT count(*)::text FROM pg_namespace WHERE nspname = 'tenant_kestrel_health'") == "0")
        #expect(try await Self.count(db, "shared", tenant: "brightpath") == 0)
        #expect(try await Self.count(db, "shared", tenant: "northwind") == 12, "other tenants' shared rows stay")
        #expect(try await T.scalar(db, "SELECT string_agg(name, ',' ORDER BY name) FROM platform.tenants") == "acme-corp,northwind")
        #expect(try await T.scalar(db, "SELECT string_agg(DISTINCT tenant, ',') FROM accord.tenant_keys") == "acme-corp,northwind")
        let details = try await T.scalar(db, "SELECT string_agg(body, '\n' ORDER BY seq) FROM accord.audit_log WHERE action = 'delete' AND object LIKE 'Tenant/%'") ?? ""
        #expect(details.contains(#""storesDropped":{"isolation":"schema","rows":12}"#))
        #expect(details.contains(#""storesDropped":{"isolation":"shared","rows":12}"#))
        #expect(details.contains(#""dataKeysDestroyed":1"#))
    }

    @Test func changingIsolationMovesTheRowsInOneTransaction() async throws {
        let db = try await TestDatabase.scratch()
        defer { Task { await db.drop() } }
        var manifests = try Manifests.examples()
        _ = try await T.apply(manifests.desired(), db)
        try await Self.seed(db, "shared", "brightpath", rows: 4)
        try await Self.seed(db, "shared", "northwind")
        let ids = "SELECT string_agg(id::text, ',' ORDER BY id) FROM %@.users WHERE tenant_id = 'brightpath'"
        let sharedIDs = try await T.scalar(db, ids.replacingOccurrences(of: "%@", with: "shared"))

        manifests.edit("tenants/brightpath.yaml", "  plan: starter\n", "  plan: starter\n  isolation: schema\n")
        let plan = try await T.preview(manifests.desired(), db)
        #expect(plan.steps.first?.changes.map { "\($0.path): \($0.old?.display ?? "") → \($0.new?.display ?? "")" }
            == ["isolation: \"shared\" → \"schema\"", "stores: \"shared\" → \"tenant_brightpath\""])
        _ = try await T.apply(manifests.desired(), db, revision: "r2")
        #expect(try await Self.count(db, "tenant_brightpath", tenant: "brightpath") == 24)
        #expect(try await Self.count(db, "shared", tenant: "brightpath") == 0)
        #expect(try await Self.count(db, "shared", tenant: "northwind") == 12)
        #expect(try await T.scalar(db, ids.replacingOccurrences(of: "%@", with: "tenant_brightpath")) == sharedIDs, "rows keep their ids")
        #expect(try await T.scalar(db, "SELECT body FROM accord.audit_log WHERE object = 'Tenant/brightpath' ORDER BY seq DESC LIMIT 1")?
            .contains(#""storesMoved":{"from":"shared","rows":24,"to":"schema"}"#) == true)

        manifests.edit("tenants/brightpath.yaml", "  isolation: schema\n", "")
        _ = try await T.apply(manifests.desired(), db, revision: "r3")
        #expect(try await Self.count(db, "shared", tenant: "brightpath") == 24)
        #expect(try await T.scalar(db, "SELECT count(*)::text FROM pg_namespace WHERE nspname = 'tenant_brightpath'") == "0")
        #expect(try await T.preview(manifests.desired(), db).isEmpty)
    }

    @Test func droppedStoresAreDriftAndOnboardingTwiceChangesNothing() async throws {
        let db = try await TestDatabase.scratch()
        defer { Task { await db.drop() } }
        let desired = try Manifests.examples().desired()
        _ = try await T.apply(desired, db)
        let catalog = try await db.withSession { try await TenantStores.catalogDigest($0) }
        let audit = try await T.scalar(db, "SELECT count(*)::text FROM accord.audit_log")
        let rows = try await T.rowVersions(db)

        _ = try await FastPathTests.run(desired, digest: "d1", db)
        let again = try await FastPathTests.run(desired, digest: "d1", db, revision: "r2")
        #expect(again.kind == .fast)
        #expect(try await db.withSession { try await TenantStores.catalogDigest($0) } == catalog, "no table re-created")
        #expect(try await T.scalar(db, "SELECT count(*)::text FROM accord.tenant_keys") == "4", "no second key")
        #expect(try await T.rowVersions(db) == rows)
        #expect(try await T.scalar(db, "SELECT count(*)::text FROM accord.audit_log") == String(Int(audit ?? "0")! + 1),
                "only the pass itself is recorded (a new revision)")

        try await db.withSession { session in
            try await session.execute("DROP TABLE tenant_acme_corp.worker_memory")
            try await session.execute("ALTER TABLE shared.traces NO FORCE ROW LEVEL SECURITY")
        }
        let drift = try await FastPathTests.run(desired, digest: "d1", db, revision: "r3")
        #expect(drift.kind != .fast, "a dropped store is noticed without a row write")
        #expect(drift.plan.steps.map { "\($0.id) \($0.cause.rawValue) \($0.changes.first?.old?.display ?? "")" } == [
            #"Tenant/acme-corp drift "tenant_acme_corp (missing: worker_memory)""#,
            #"Tenant/brightpath drift "shared (missing or without row-level security: traces)""#,
            #"Tenant/northwind drift "shared (missing or without row-level security: traces)""#,
        ])
        #expect(try await T.preview(desired, db).isEmpty)
        #expect(try await FastPathTests.run(desired, digest: "d1", db, revision: "r4").kind == .fast)
    }
}
