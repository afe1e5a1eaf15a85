import AccordCore
@testable import AccordStore
import AccordTestSupport
import Foundation
import Testing

/// The checker every fault test trusts can fail: a healthy database (the
/// examples applied) is damaged one way at a time, inside a transaction that
/// is rolled back, and each damage must be found.
@Suite(TestDatabase.required)
struct FaultInvariantsTests {
    @Test func eachDamageToAHealthyDatabaseIsFound() async throws {
        let db = try await TestDatabase.scratch()
        defer { Task { await db.drop() } }
        let report = try await ApplyTests.apply(try Manifests.examples().desired(), db, revision: "r1")
        #expect(report.outcome != nil)
        try await db.withSession { session in
            #expect(try await FaultInvariants.violations(session, revisions: ["r1"]) == [], "healthy after the apply")
            #expect(try await session.scalar("SELECT status FROM platform.erasures LIMIT 1") == "completed", "the example erasure ran")

            // Each damage in its own rolled-back transaction, with what the checker must say.
            let damages: [(String, String, [String])] = [
                ("an inventory entry deleted",
                 "DELETE FROM accord.inventory WHERE kind = 'Worker' AND tenant = 'acme-corp' AND name = (SELECT min(name) FROM platform.workers WHERE tenant = 'acme-corp')",
                 ["1 Worker rows without their inventory entry"]),
                ("a row deleted under its entry",
                 "DELETE FROM platform.retention_policies WHERE name = 'strict-eu'",
                 ["1 RetentionPolicy inventory entries without their row"]),
                // The database refuses this itself (a unique index); the index lost, the checker still finds it.
                ("a second active key",
                 """
                 DROP INDEX accord.tenant_keys_one_active;
                 INSERT INTO accord.tenant_keys (tenant, version, key_id, algorithm, wrapped_key, kek_fingerprint, created_at)
                 SELECT tenant, version + 1, key_id || '-2', algorithm, wrapped_key, kek_fingerprint, created_at FROM accord.tenant_keys WHERE tenant = 'northwind'
                 """,
                 ["1 tenants without exactly one active data key"]),
                ("a tenant's key lost", "DELETE FROM accord.tenant_keys WHERE tenant = 'brightpath'",
                 ["1 tenants without exactly one active data key"]),
                ("a store table dropped", "DROP TABLE tenant_kestrel_health.traces",
                 ["1 tenants whose data stores are missing or incomplete", "1 Tenant rows not as their inventory entry records them (Tenant/kestrel-health)"]),
                ("a tenant's schema dropped", "DROP SCHEMA tenant_acme_corp CASCADE",
                 ["1 tenants whose data stores are missing or incomplete", "1 tenants with schema isolation without their schema",
                  "1 Tenant rows not as their inventory entry records them (Tenant/acme-corp)"]),
                ("a half-written tenant: its row changed, its entry not", "UPDATE platform.tenants SET display_name = 'Half Written' WHERE name = 'northwind'",
                 ["1 Tenant rows not as their inventory entry records them (Tenant/northwind)"]),
                ("an audit entry edited",
                 """
                 ALTER TABLE accord.audit_log DISABLE TRIGGER audit_log_append_only;
                 UPDATE accord.audit_log SET body = replace(body, '"action":', '"action" :') WHERE seq = 2
                 """,
                 ["the audit chain does not verify"]),
                ("a certificate for an erasure not completed", "UPDATE platform.erasures SET status = 'pending'",
                 ["1 certificates of erasures not completed"]),
                ("an erasure run twice",
                 """
                 CREATE TEMP TABLE again ON COMMIT DROP AS SELECT * FROM accord.audit_log WHERE action = 'erase';
                 UPDATE again SET seq = seq + 100000;
                 INSERT INTO accord.audit_log SELECT * FROM again
                 """,
                 ["1 erasures run twice", "the audit chain does not verify"]),
                ("an entry written by another revision", "UPDATE accord.inventory SET applied_revision = 'elsewhere' WHERE kind = 'Model' AND name = 'lead-scorer'",
                 ["1 inventory entries not written by an applied revision"]),
                ("an incomplete migration", "DELETE FROM accord.schema_migrations WHERE version = \(Migrations.latest)",
                 ["migrations incomplete: the database is at version \(Migrations.latest - 1) of \(Migrations.latest); nothing else could be checked"]),
            ]
            for (what, sql, expected) in damages {
                try await session.execute("BEGIN")
                do {
                    for statement in sql.components(separatedBy: ";\n") { try await session.execute(statement) }
                    let found = try await FaultInvariants.violations(session, revisions: ["r1"])
                    #expect(found == expected, "\(what)")
                } catch {
                    Issue.record("\(what): \(error)")
                }
                try await session.execute("ROLLBACK")
                #expect(try await FaultInvariants.violations(session, revisions: ["r1"]) == [], "healthy again after undoing \(what)")
            }
            // An apply that may have died while migrating is not a finding when the caller says so.
            try await session.execute("BEGIN")
            try await session.execute("DELETE FROM accord.schema_migrations WHERE version = \(Migrations.latest)")
            #expect(try await FaultInvariants.violations(session, migrating: .mayBeIncomplete) == [])
            try await session.execute("ROLLBACK")
        }
    }
}
