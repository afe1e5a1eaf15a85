import AccordCore
import AccordEngine
@testable import AccordStore
import AccordSync
import AccordTestSupport
import Foundation
import Testing

/// Retention against a real PostgreSQL: standard-eu governs acme-corp
/// (schema stores), strict-eu governs brightpath (shared stores), and
/// northwind has no policy.
@Suite(TestDatabase.required)
struct RetentionTests {
    typealias T = ApplyTests
    static let now = Date(timeIntervalSince1970: 1_795_000_000)

    static func seeded() async throws -> ScratchDatabase {
        let db = try await TestDatabase.scratch()
        _ = try await T.apply(Manifests.examples().desired(), db, configure: { $0.clock = { now } })
        let t = "to_timestamp(\(now.timeIntervalSince1970))"
        try await db.withSession { session in
            try await session.script("""
                INSERT INTO tenant_acme_corp.worker_memory (memory_type, created_at) VALUES
                    ('short_term', \(t) - interval '1 hour'), ('short_term', \(t) - interval '10 minutes'),
                    ('long_term', \(t) - interval '1 hour'), ('long_term', \(t) - interval '100 days');
                INSERT INTO tenant_acme_corp.traces (created_at) VALUES (\(t) - interval '100 days'), (\(t) - interval '10 days');
                INSERT INTO tenant_acme_corp.tasks (created_at) VALUES (\(t) - interval '400 days');
                INSERT INTO tenant_acme_corp.users (created_at) VALUES (\(t) - interval '1000 days');
                SELECT set_config('accord.tenant', 'brightpath', false);
                INSERT INTO shared.traces (tenant_id, created_at) VALUES ('brightpath', \(t) - interval '40 days'), ('brightpath', \(t) - interval '10 days');
                INSERT INTO shared.worker_memory (tenant_id, memory_type, created_at) VALUES ('brightpath', 'short_term', \(t) - interval '20 minutes');
                SELECT set_config('accord.tenant', 'northwind', false);
                INSERT INTO shared.traces (tenant_id, created_at) VALUES ('northwind', \(t) - interval '400 days');
                RESET accord.tenant;
                """)
        }
        return db
    }

    static func counts(_ db: ScratchDatabase) async throws -> String? {
        try await T.scalar(db, """
            SELECT string_agg(x, ',' ORDER BY x) FROM (
                SELECT 'acme.' || 'worker_memory=' || count(*) AS x FROM tenant_acme_corp.worker_memory
                UNION ALL SELECT 'acme.traces=' || count(*) FROM tenant_acme_corp.traces
                UNION ALL SELECT 'acme.tasks=' || count(*) FROM tenant_acme_corp.tasks
                UNION ALL SELECT 'acme.users=' || count(*) FROM tenant_acme_corp.users
                UNION ALL SELECT tenant_id || '.traces=' || count(*) FROM shared.traces GROUP BY tenant_id
                UNION ALL SELECT tenant_id || '.worker_memory=' || count(*) FROM shared.worker_memory GROUP BY tenant_id
            ) c
            """)
    }

    static func run(_ db: ScratchDatabase, dryRun: Bool) async throws -> Retention.Outcome {
        try await db.withSession { try await RetentionRunner.runNow($0, secretsDirectory: nil, now: now, dryRun: dryRun, lockTimeout: .seconds(5), actor: "test") }
    }

    static let before = "acme.tasks=1,acme.traces=2,acme.users=1,acme.worker_memory=4,brightpath.traces=2,brightpath.worker_memory=1,northwind.traces=1"

    @Test func aDryRunCountsAndDeletesNothing() async throws {
        let db = try await Self.seeded()
        defer { Task { await db.drop() } }
        let outcome = try await Self.run(db, dryRun: true)
        #expect(outcome.dryRun && outcome.policies == ["standard-eu", "strict-eu"])
        #expect(outcome.counts.map { "\($0.policy)/\($0.tenant)/\($0.store)=\($0.rows)" }.sorted()
                == ["standard-eu/acme-corp/tasks=1", "standard-eu/acme-corp/traces=1", "standard-eu/acme-corp/worker_memory=2",
                    "strict-eu/brightpath/traces=1", "strict-eu/brightpath/worker_memory=1"])
        #expect(outcome.total == 6)
        #expect(try await Self.counts(db) == Self.before)
        #expect(try await T.scalar(db, "SELECT count(*)::text FROM accord.audit_log WHERE action = 'retention'") == "0")
    }

    @Test func enforcementDeletesOnlyRowsOlderThanMaxAgeAndOnlyForThePolicysTenants() async throws {
        let db = try await Self.seeded()
        defer { Task { await db.drop() } }
        let outcome = try await Self.run(db, dryRun: false)
        #expect(outcome.total == 6)
        // acme: short_term 1h (> 30m) and long_term 100d (> 90d) go; traces 100d, tasks 400d go; users have no rule.
        // brightpath: traces 40d (> 30d), short_term 20m (> 15m) go. northwind: no policy.
        #expect(try await Self.counts(db)
                == "acme.tasks=0,acme.traces=1,acme.users=1,acme.worker_memory=2,brightpath.traces=1,northwind.traces=1")
        let audit = try #require(try await T.scalar(db, "SELECT body FROM accord.audit_log WHERE action = 'retention' AND object = 'RetentionPolicy/standard-eu' ORDER BY seq DESC LIMIT 1"))
        let detail = try JSONParser.parse(audit)["detail"]
        #expect(detail?["deleted"] == .number(4))
        #expect(detail?["tenants"] == .object(["acme-corp": .object(["worker_memory": .number(2), "traces": .number(1), "tasks": .number(1)])]))
    }

    @Test func applyEnforcesAPolicyWhenItsScheduleIsDue() async throws {
        let db = try await Self.seeded()
        defer { Task { await db.drop() } }
        let desired = try Manifests.examples().desired()
        // The first apply (in `seeded`) ran both policies at `now`: strict-eu
        // runs every 30m, standard-eu every hour.
        let early = try await T.apply(desired, db, configure: { $0.clock = { Self.now.addingTimeInterval(29 * 60) } })
        #expect(early.retention.policies.isEmpty)
        #expect(try await Self.counts(db) == Self.before)
        let half = try await T.apply(desired, db, configure: { $0.clock = { Self.now.addingTimeInterval(30 * 60) } })
        #expect(half.retention.policies == ["strict-eu"])
        #expect(half.retention.total == 2)
        let due = try await T.apply(desired, db, configure: { $0.clock = { Self.now.addingTimeInterval(3600) } })
        #expect(due.retention.policies == ["standard-eu", "strict-eu"])
        #expect(due.retention.total == 5, "standard-eu: the 10-minute short_term row is now 70 minutes old too")
    }

    @Test func largeDeletionsGoInBatchesAndTheCountsAddUp() async throws {
        let db = try await Self.seeded()
        defer { Task { await db.drop() } }
        try await db.withSession {
            try await $0.execute("""
                INSERT INTO tenant_acme_corp.traces (created_at) SELECT to_timestamp(\(Self.now.timeIntervalSince1970)) - interval '200 days' FROM generate_series(1, 20000)
                """)
        }
        // Every DELETE statement on the table logs how many rows it removed.
        try await db.withSession {
            try await $0.script("""
                CREATE TABLE public.deletes (id serial, n bigint);
                CREATE FUNCTION public.log_deletes() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN INSERT INTO public.deletes (n) SELECT count(*) FROM gone; RETURN NULL; END $$;
                CREATE TRIGGER log_deletes AFTER DELETE ON tenant_acme_corp.traces REFERENCING OLD TABLE AS gone
                    FOR EACH STATEMENT EXECUTE FUNCTION public.log_deletes();
                """)
        }
        let outcome = try await Self.run(db, dryRun: false)
        #expect(outcome.counts.first { $0.tenant == "acme-corp" && $0.store == "traces" }?.rows == 20_001)
        #expect(try await T.scalar(db, "SELECT count(*)::text FROM tenant_acme_corp.traces") == "1")
        // A call's budget covers every rule it visits: the first also deleted acme-corp's two worker_memory rows.
        #expect(try await T.scalar(db, "SELECT string_agg(n::text, ',' ORDER BY id) FROM public.deletes WHERE n > 0") == "9998,10000,3",
                "no statement deletes more than a batch")
    }
}

extension RetentionTests {
    /// Only tenants with a rule on a store table that holds anything are
    /// sent to `accord.retention_run_targets`, and a database whose store
    /// tables are all empty gets no call: the function is wrapped here to
    /// log the tenants of each call.
    @Test func onlyTenantsWithAFilledStoreTableAreSentAndEmptyStoresMakeNoCall() async throws {
        let db = try await Self.seeded()
        defer { Task { await db.drop() } }
        try await db.withSession {
            try await $0.script("""
                CREATE TABLE public.calls (id serial, tenants text);
                ALTER FUNCTION accord.retention_run_targets(jsonb, timestamptz, bigint, boolean) RENAME TO retention_run_targets_logged;
                CREATE FUNCTION accord.retention_run_targets(targets jsonb, now timestamptz, budget bigint, dry boolean)
                RETURNS TABLE (out_policy text, out_tenant text, out_store text, out_rows bigint) LANGUAGE plpgsql AS $$
                BEGIN
                    INSERT INTO public.calls (tenants) SELECT string_agg(t->>'name', ',' ORDER BY t->>'name') FROM jsonb_array_elements(targets) t;
                    RETURN QUERY SELECT * FROM accord.retention_run_targets_logged(targets, now, budget, dry);
                END $$;
                TRUNCATE tenant_acme_corp.worker_memory, tenant_acme_corp.traces, tenant_acme_corp.tasks, tenant_acme_corp.users;
                """)
        }
        let some = try await Self.run(db, dryRun: true)
        #expect(some.counts.map { "\($0.policy)/\($0.tenant)/\($0.store)=\($0.rows)" }.sorted()
                == ["strict-eu/brightpath/traces=1", "strict-eu/brightpath/worker_memory=1"])
        #expect(try await T.scalar(db, "SELECT string_agg(tenants, ';' ORDER BY id) FROM public.calls") == "brightpath",
                "acme-corp's tables are empty: it is not sent")
        try await db.withSession { try await $0.execute("TRUNCATE shared.traces, shared.worker_memory") }
        let none = try await Self.run(db, dryRun: false)
        #expect(none.policies == ["standard-eu", "strict-eu"] && none.counts.isEmpty)
        #expect(try await T.scalar(db, "SELECT count(*)::text FROM public.calls") == "1", "no store table holds anything: no call")
        #expect(try await T.scalar(db, "SELECT count(*)::text FROM accord.retention_runs") == "2", "both policies are marked as run")
    }

    @Test func aPolicysStoresAreReadFromItsRules() {
        #expect(Retention.storeNames(rulesText: #"[{"store":"traces","maxAgeSeconds":60},{"store":"crm/contacts","external":true}]"#)
                == ["traces", "crm/contacts"])
        #expect(Retention.storeNames(rulesText: "[]") == [])
        #expect(Retention.storeNames(rulesText: "not json") == nil, "unreadable rules send every tenant of the policy")
    }
}
