import AccordCore
import AccordEngine
import Foundation

/// Retention enforcement (SPEC §1 RetentionPolicy): for every tenant whose
/// `gdpr.retentionPolicy` names a policy, deletes the rows of each rule's
/// store older than `maxAge` (by `created_at`, with the rule's `match`),
/// in batches of at most `batchSize` rows, each batch its own statement and
/// transaction, so no statement holds locks on more rows than that. Counts
/// per tenant and store go to the audit log, one entry per policy run that
/// deleted anything. A
/// policy runs during apply when its `schedule` is due (the last run is
/// remembered in `accord.retention_runs`), or on demand.
public enum Retention {
    public static let batchSize = 10_000

    static let migration = Migrations.Migration(version: 6, name: "retention enforcement", sql: """
        CREATE TABLE accord.retention_runs (
            policy text PRIMARY KEY,
            last_run_at timestamptz NOT NULL
        );
        CREATE FUNCTION accord.retention_delete(tenant text, isolation text, store text, max_age_seconds float8,
                                                match jsonb, now timestamptz, budget bigint, dry boolean)
        RETURNS bigint LANGUAGE plpgsql AS $$
        DECLARE
            target text := accord.store_schema(tenant, isolation);
            cond text := format('created_at < %L::timestamptz - make_interval(secs => %s)', now, max_age_seconds);
            k text;
            v text;
            n bigint;
        BEGIN
            IF to_regclass(format('%I.%I', target, store)) IS NULL THEN
                RETURN 0;
            END IF;
            PERFORM set_config('accord.tenant', tenant, true);
            IF isolation = 'shared' THEN
                cond := cond || format(' AND tenant_id = %L', tenant);
            END IF;
            FOR k, v IN SELECT key, value FROM jsonb_each_text(coalesce(match, '{}'::jsonb)) LOOP
                cond := cond || format(' AND %I = %L', k, v);
            END LOOP;
            IF dry THEN
                EXECUTE format('SELECT count(*) FROM %I.%I WHERE %s', target, store, cond) INTO n;
            ELSE
                EXECUTE format('DELETE FROM %I.%I WHERE ctid = ANY (ARRAY(SELECT ctid FROM %I.%I WHERE %s LIMIT %s))',
                               target, store, target, store, cond, budget);
                GET DIAGNOSTICS n = ROW_COUNT;
            END IF;
            RETURN n;
        END $$;
        """)

    public struct Count: Sendable, Hashable {
        public let policy: String
        public let tenant: String
        public let store: String
        public let rows: Int
    }

    public struct Outcome: Sendable {
        /// Policies enforced (or counted, in a dry run), by name.
        public var policies: [String] = []
        /// Rows deleted (or that would be), per policy, tenant and store; zeros left out.
        public var counts: [Count] = []
        public var dryRun = false
        public var total: Int { counts.reduce(0) { $0 + $1.rows } }

        public init(dryRun: Bool = false) {
            self.dryRun = dryRun
        }
    }

    struct Rule {
        let store: String
        let maxAgeSeconds: Double
        let match: String
    }

    /// Enforces the policies that are due at `now` (all managed policies
    /// when `onlyDue` is false). A dry run counts and writes nothing.
    public static func run(_ session: Session, now: Date, onlyDue: Bool, dryRun: Bool, revision: String?,
                           actor: String) async throws -> Outcome {
        var outcome = Outcome(dryRun: dryRun)
        let nowText = String(now.timeIntervalSince1970)
        let policies = try await session.rows("""
            SELECT p.name, p.rules::text FROM platform.retention_policies p
            JOIN accord.inventory i ON i.kind = 'RetentionPolicy' AND i.tenant = '' AND i.name = p.name AND i.retained_at IS NULL
            LEFT JOIN accord.retention_runs r ON r.policy = p.name
            WHERE NOT $1::boolean OR r.last_run_at IS NULL
               OR r.last_run_at + p.schedule::interval <= to_timestamp($2::float8)
            ORDER BY p.name
            """, [onlyDue ? "true" : "false", nowText]).map { try $0.decode((String, String).self) }
        guard !policies.isEmpty else { return outcome }
        let tenants = try await tenantsByPolicy(policies.map(\.0), session)
        var audit = try await AuditChain.load(session, actor: actor)
        for (policy, rulesText) in policies {
            var counts: [Count] = []
            for (tenant, isolation) in tenants[policy] ?? [] {
                for rule in rules(rulesText) {
                    let rows = try await enforce(rule, tenant: tenant, isolation: isolation, now: nowText, dryRun: dryRun, session)
                    if rows > 0 { counts.append(Count(policy: policy, tenant: tenant, store: rule.store, rows: rows)) }
                }
            }
            outcome.policies.append(policy)
            outcome.counts += counts
            guard !dryRun else { continue }
            var byTenant: [String: JSONValue] = [:]
            for c in counts {
                guard case .object(var stores) = byTenant[c.tenant] ?? .object([:]) else { continue }
                stores[c.store] = JSONValue((stores[c.store]?.numberValue).map { Int($0) + c.rows } ?? c.rows)
                byTenant[c.tenant] = .object(stores)
            }
            let entry = AuditEntry(action: "retention", object: "RetentionPolicy/\(policy)", revision: revision, detail: .object([
                "deleted": JSONValue(counts.reduce(0) { $0 + $1.rows }), "tenants": .object(byTenant),
                "onDemand": .bool(!onlyDue),
            ]))
            // A run that deleted nothing is remembered, not audited.
            let sealed = counts.isEmpty ? nil : audit.seal([entry], at: now)
            try await session.transaction {
                try await session.execute("""
                    INSERT INTO accord.retention_runs (policy, last_run_at) VALUES ($1, to_timestamp($2::float8))
                    ON CONFLICT (policy) DO UPDATE SET last_run_at = EXCLUDED.last_run_at
                    """, [policy, nowText])
                if let sealed { try await AuditChain.write(sealed, session) }
            }
            if let sealed { audit.advance(to: sealed.head) }
        }
        return outcome
    }

    /// One rule for one tenant: batches until a batch comes back short.
    static func enforce(_ rule: Rule, tenant: String, isolation: String, now: String, dryRun: Bool,
                        _ session: Session) async throws -> Int {
        var total = 0
        while true {
            let n = try await session.transaction {
                Int(try await session.scalar("""
                    SELECT accord.retention_delete($1, $2, $3, $4::float8, $5::jsonb, to_timestamp($6::float8), $7::bigint, $8::boolean)::text
                    """, [tenant, isolation, rule.store, String(rule.maxAgeSeconds), rule.match, now, String(batchSize),
                          dryRun ? "true" : "false"]) ?? "0") ?? 0
            }
            total += n
            if dryRun || n < batchSize { return total }
        }
    }

    static func tenantsByPolicy(_ policies: [String], _ session: Session) async throws -> [String: [(String, String)]] {
        var out: [String: [(String, String)]] = [:]
        for row in try await session.rows("""
            SELECT retention_policy, name, isolation FROM platform.tenants
            WHERE retention_policy IN (SELECT json_array_elements_text($1::json)) ORDER BY name
            """, [JSONValue(strings: policies).canonical]) {
            let (policy, tenant, isolation) = try row.decode((String, String, String).self)
            out[policy, default: []].append((tenant, isolation))
        }
        return out
    }

    static func rules(_ text: String) -> [Rule] {
        guard case .array(let rules)? = try? JSONParser.parse(text) else { return [] }
        return rules.compactMap { r in
            guard let store = r["store"]?.stringValue, let seconds = r["maxAgeSeconds"]?.numberValue else { return nil }
            return Rule(store: store, maxAgeSeconds: seconds, match: (r["match"] ?? .object([:])).canonical)
        }
    }
}

extension Retention {
    /// `accordctl retention run`: every managed policy now, under the apply
    /// lock (a dry run too, so its counts are not taken mid-apply).
    public static func runNow(_ session: Session, now: Date, dryRun: Bool, lockTimeout: Duration,
                              actor: String) async throws -> Outcome {
        guard try await Migrations.isCurrent(session) else { return Outcome(dryRun: dryRun) }
        try await ApplyLock.acquire(session, holder: ApplyPass.holder(actor), timeout: lockTimeout)
        do {
            let revision = try await History.lastRevision(session)?.revision
            let outcome = try await run(session, now: now, onlyDue: false, dryRun: dryRun, revision: revision, actor: actor)
            try await ApplyLock.release(session)
            return outcome
        } catch {
            try? await ApplyLock.release(session)
            throw error
        }
    }
}
