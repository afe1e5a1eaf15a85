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

    /// The variables both retention functions declare.
    static let declarations = """
        DECLARE
            t record;
            r jsonb;
            rel regclass;
            target text;
            cond text;
            k text;
            v text;
            n bigint;
            remaining bigint := budget;
        """

    /// What both retention functions do for one (policy, tenant) pair `t`:
    /// each rule's rows older than its `maxAge` deleted (or counted), at
    /// most `remaining` in all.
    static let ruleLoop = """
                target := accord.store_schema(t.name, t.isolation);
                PERFORM set_config('accord.tenant', t.name, true);
                FOR r IN SELECT e FROM jsonb_array_elements(t.rules) AS e LOOP
                    rel := to_regclass(format('%I.%I', target, r->>'store'));
                    CONTINUE WHEN rel IS NULL;
                    -- A table without a single page holds no row, committed or not: nothing to delete or count.
                    CONTINUE WHEN pg_relation_size(rel) = 0;
                    cond := format('created_at < %L::timestamptz - make_interval(secs => %s)', now, (r->>'maxAgeSeconds')::float8);
                    IF t.isolation = 'shared' THEN
                        cond := cond || format(' AND tenant_id = %L', t.name);
                    END IF;
                    FOR k, v IN SELECT key, value FROM jsonb_each_text(coalesce(r->'match', '{}'::jsonb)) LOOP
                        cond := cond || format(' AND %I = %L', k, v);
                    END LOOP;
                    IF dry THEN
                        EXECUTE format('SELECT count(*) FROM %I.%I WHERE %s', target, r->>'store', cond) INTO n;
                    ELSE
                        EXECUTE format('DELETE FROM %I.%I WHERE ctid = ANY (ARRAY(SELECT ctid FROM %I.%I WHERE %s LIMIT %s))',
                                       target, r->>'store', target, r->>'store', cond, remaining);
                        GET DIAGNOSTICS n = ROW_COUNT;
                        remaining := remaining - n;
                    END IF;
                    IF n > 0 THEN
                        out_policy := t.policy;
                        out_tenant := t.name;
                        out_store := r->>'store';
                        out_rows := n;
                        RETURN NEXT;
                    END IF;
                    IF NOT dry AND remaining <= 0 THEN
                        RETURN;
                    END IF;
                END LOOP;
        """

    /// The store tables that hold anything (at least one page), each sized once.
    static let filledStores = """
        WITH filled AS MATERIALIZED (
                         SELECT n.nspname AS target, c.relname AS store
                         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                         WHERE c.relkind = 'r' AND (n.nspname = 'shared' OR n.nspname LIKE 'tenant\\_%')
                           AND c.relname = ANY (accord.store_tables()) AND pg_relation_size(c.oid) > 0)
        """

    /// `accord.retention_run_targets` (migration 17): deletes (or counts)
    /// the rows older than each rule's `maxAge` in the stores of the given
    /// (policy, rules, tenant, isolation) targets, at most `budget` rows
    /// per call. Store tables with no page at all are skipped before any
    /// statement is planned, each sized once however many tenants share it.
    /// The caller reads the targets from the registry, so the function runs
    /// in whichever database holds the tenants' stores (SPEC §9).
    static let targetsFunction = """
        CREATE OR REPLACE FUNCTION accord.retention_run_targets(targets jsonb, now timestamptz, budget bigint, dry boolean)
        RETURNS TABLE (out_policy text, out_tenant text, out_store text, out_rows bigint) LANGUAGE plpgsql AS $$
        \(declarations)
        BEGIN
            FOR t IN \(filledStores)
                     SELECT x.policy, x.rules, x.name, x.isolation
                     FROM jsonb_to_recordset(targets) AS x(policy text, rules jsonb, name text, isolation text)
                     WHERE EXISTS (SELECT 1 FROM jsonb_array_elements(x.rules) AS e
                                   JOIN filled f ON f.target = accord.store_schema(x.name, x.isolation)
                                                AND f.store = e->>'store')
                     ORDER BY x.policy, x.name LOOP
        \(ruleLoop)
            END LOOP;
        END $$;
        """

    /// `accord.retention_run` as migrations 6 to 8 left it (it read the
    /// registry itself); migration 17 drops it for `targetsFunction`.
    static let runFunction = """
        CREATE OR REPLACE FUNCTION accord.retention_run(policies text[], now timestamptz, budget bigint, dry boolean)
        RETURNS TABLE (out_policy text, out_tenant text, out_store text, out_rows bigint) LANGUAGE plpgsql AS $$
        \(declarations)
        BEGIN
            -- Every (policy, tenant) pair in one join, keeping only tenants with a rule whose store
            -- table holds anything: set-based, before any statement is planned. Each store table
            -- is sized once, however many tenants share it.
            FOR t IN \(filledStores)
                     SELECT rp.name AS policy, rp.rules, tn.name, tn.isolation
                     FROM platform.retention_policies rp
                     JOIN platform.tenants tn ON tn.retention_policy = rp.name
                     WHERE rp.name = ANY (policies)
                       AND EXISTS (SELECT 1 FROM jsonb_array_elements(rp.rules) AS e
                                   JOIN filled f ON f.target = accord.store_schema(tn.name, tn.isolation)
                                                AND f.store = e->>'store')
                     ORDER BY rp.name, tn.name LOOP
        \(ruleLoop)
            END LOOP;
        END $$;
        """

    public struct Count: Sendable, Hashable {
        public let policy: String
        public let tenant: String
        /// A tenant data table, or an external store's entry as `STORE/ENTRY`.
        public let store: String
        public let rows: Int

        public init(policy: String, tenant: String, store: String, rows: Int) {
            self.policy = policy
            self.tenant = tenant
            self.store = store
            self.rows = rows
        }
    }

    public struct Outcome: Sendable {
        /// Policies enforced (or counted, in a dry run), by name.
        public var policies: [String] = []
        /// Rows (or keys, objects, items) deleted (or that would be), per
        /// policy, tenant and store; zeros left out.
        public var counts: [Count] = []
        /// External stores that could not be reached: the policy runs again next time.
        public var failures: [(policy: String, tenant: String, store: String, error: String)] = []
        public var dryRun = false
        public var total: Int { counts.reduce(0) { $0 + $1.rows } }

        public init(dryRun: Bool = false) {
            self.dryRun = dryRun
        }
    }

    /// The policies due at `now` (every managed policy when `onlyDue` is false).
    public static func policies(_ session: Session, now: Date, onlyDue: Bool) async throws -> [String] {
        try await session.rows("""
            SELECT p.name FROM platform.retention_policies p
            JOIN accord.inventory i ON i.kind = 'RetentionPolicy' AND i.tenant = '' AND i.name = p.name AND i.retained_at IS NULL
            LEFT JOIN accord.retention_runs r ON r.policy = p.name
            WHERE NOT $1::boolean OR r.last_run_at IS NULL
               OR r.last_run_at + p.schedule::interval <= to_timestamp($2::float8)
            ORDER BY p.name
            """, [onlyDue ? "true" : "false", String(now.timeIntervalSince1970)]).map { try $0.decode(String.self) }
    }

    /// The rules of the given policies that name an external store, with
    /// the tenants that use each policy and list the store.
    public static func externalRules(_ policies: [String], _ session: Session)
        async throws -> [(policy: String, tenant: String, store: String, entry: String?, maxAgeSeconds: Double)] {
        try await session.rows("""
            SELECT p.name, t.name, split_part(r->>'store', '/', 1),
                   CASE WHEN position('/' IN r->>'store') > 0 THEN substr(r->>'store', position('/' IN r->>'store') + 1) END,
                   (r->>'maxAgeSeconds')::float8
            FROM platform.retention_policies p, jsonb_array_elements(p.rules) AS r, platform.tenants t
            WHERE p.name IN (SELECT json_array_elements_text($1::json)) AND (r->>'external')::boolean
              AND t.retention_policy = p.name AND t.external_stores ? split_part(r->>'store', '/', 1)
            ORDER BY 1, 2, 3, 4
            """, [JSONValue(strings: policies).canonical]).map { try $0.decode((String, String, String, String?, Double).self) }
    }

    /// One tenant of a policy, as the registry has it.
    struct Target: Sendable {
        let policy: String
        let tenant: String
        let isolation: String
        let region: Region?
    }

    /// Deletes (or counts, `dryRun`) the rows of the tenant data tables older
    /// than each rule's `maxAge`, for the given policies, in each tenant's
    /// data database. Tenants whose region is unavailable come back apart;
    /// their policies run again next time. Each database is first asked
    /// which store tables hold anything (at least one page): only tenants
    /// with a rule on one of those go to `accord.retention_run_targets`,
    /// and none at all (a platform whose stores are empty) means no call.
    public static func enforceTables(_ policies: [String], _ session: Session, now: Date, dryRun: Bool) async throws
        -> (counts: [Count], unavailable: [(policy: String, tenant: String, reason: RegionUnavailable)]) {
        guard !policies.isEmpty else { return ([], []) }
        // One database whose store tables are all empty: nothing to delete or count.
        let local = session.regions == nil ? try await filledStores(session) : nil
        if local?.isEmpty == true { return ([], []) }
        let names = JSONValue(strings: policies).canonical
        // Each policy's rules once (they are the same for all its tenants).
        var rules: [String: (text: String, stores: Set<String>?)] = [:]
        for row in try await session.rows("""
            SELECT name, rules::text FROM platform.retention_policies WHERE name IN (SELECT json_array_elements_text($1::json))
            """, [names]) {
            let (policy, text) = try row.decode((String, String).self)
            rules[policy] = (text, storeNames(rulesText: text))
        }
        let targets = try await session.rows("""
            SELECT rp.name, tn.name, tn.isolation, tn.region
            FROM platform.retention_policies rp JOIN platform.tenants tn ON tn.retention_policy = rp.name
            WHERE rp.name IN (SELECT json_array_elements_text($1::json))
            ORDER BY rp.name, tn.name
            """, [names]).map { row in
            let (policy, tenant, isolation, region) = try row.decode((String, String, String, String).self)
            return Target(policy: policy, tenant: tenant, isolation: isolation, region: Region(rawValue: region))
        }
        let nowText = String(now.timeIntervalSince1970)
        let run = try await session.perRegion(targets, region: \.region) { share, data -> [Count] in
            let filled: Set<FilledStore>
            if let local { filled = local } else { filled = try await filledStores(data) }
            let due = share.filter { t in
                guard let stores = rules[t.policy]?.stores ?? nil, let isolation = Isolation(rawValue: t.isolation) else { return true }
                let schema = TenantRecord.storesSchema(tenant: t.tenant, isolation: isolation)
                return stores.contains { filled.contains(FilledStore(schema: schema, table: $0)) }
            }
            guard !due.isEmpty else { return [] }
            let json = "[" + due.map { t in
                "{\"policy\":\(JSONValue.string(t.policy).canonical),\"rules\":\(rules[t.policy]?.text ?? "[]"),\"name\":\(JSONValue.string(t.tenant).canonical),\"isolation\":\(JSONValue.string(t.isolation).canonical)}"
            }.joined(separator: ",") + "]"
            // Each call is one statement: it deletes at most `batchSize` rows
            // over all the targets and rules, and commits; a full batch means
            // there may be more.
            var rows: [String: Int] = [:]
            var order: [String] = []
            while true {
                var batch = 0
                for row in try await data.rows("""
                    SELECT out_policy, out_tenant, out_store, out_rows FROM accord.retention_run_targets($1::jsonb, to_timestamp($2::float8), $3::bigint, $4::boolean)
                    """, [json, nowText, String(batchSize), dryRun ? "true" : "false"]) {
                    let (policy, tenant, store, n) = try row.decode((String, String, String, Int).self)
                    let key = "\(policy)\u{0}\(tenant)\u{0}\(store)"
                    if rows[key] == nil { order.append(key) }
                    rows[key, default: 0] += n
                    batch += n
                }
                if dryRun || batch < batchSize { break }
            }
            return order.map { key in
                let parts = key.split(separator: "\u{0}", omittingEmptySubsequences: false).map(String.init)
                return Count(policy: parts[0], tenant: parts[1], store: parts[2], rows: rows[key] ?? 0)
            }
        }
        return (run.results.flatMap { $0 }, run.unavailable.map { ($0.item.policy, $0.item.tenant, $0.reason) })
    }

    /// A store table in a stores schema (`shared` or `tenant_…`).
    struct FilledStore: Hashable {
        let schema: String
        let table: String
    }

    /// The store tables of a database that hold anything (at least one
    /// page): the same test `accord.retention_run_targets` applies.
    static func filledStores(_ session: Session) async throws -> Set<FilledStore> {
        Set(try await session.rows("\(filledStores) SELECT target, store FROM filled").map { row in
            let (schema, table) = try row.decode((String, String).self)
            return FilledStore(schema: schema, table: table)
        })
    }

    /// The stores a policy's rules name (`rules` as the registry keeps it:
    /// an array of objects with a `store`); nil when it cannot be read,
    /// and then every tenant of the policy goes to the function.
    static func storeNames(rulesText: String) -> Set<String>? {
        guard case .array(let items)? = try? JSONParser.parse(rulesText) else { return nil }
        return Set(items.compactMap { $0["store"]?.stringValue })
    }

    /// Records a run: one audit entry per policy that deleted anything
    /// (counts per tenant and store), and the time each policy ran (those
    /// in `completed`: a policy whose external store could not be reached
    /// runs again next time).
    public static func record(_ outcome: Outcome, completed: [String], onlyDue: Bool, now: Date, revision: String?, actor: String,
                              _ session: Session) async throws {
        var audit = try await AuditChain.load(session, actor: actor)
        let entries = outcome.policies.compactMap { policy -> AuditEntry? in
            let counts = outcome.counts.filter { $0.policy == policy }
            guard !counts.isEmpty else { return nil }
            var byTenant: [String: [String: JSONValue]] = [:]
            for c in counts { byTenant[c.tenant, default: [:]][c.store] = JSONValue(c.rows) }
            return AuditEntry(action: "retention", object: "RetentionPolicy/\(policy)", revision: revision, detail: .object([
                "deleted": JSONValue(counts.reduce(0) { $0 + $1.rows }), "tenants": .object(byTenant.mapValues { .object($0) }),
                "onDemand": .bool(!onlyDue),
            ]))
        }
        let sealed = entries.isEmpty ? nil : audit.seal(entries, at: now)
        try await session.transaction {
            try await session.execute("""
                INSERT INTO accord.retention_runs (policy, last_run_at)
                SELECT p, to_timestamp($2::float8) FROM json_array_elements_text($1::json) AS p
                ON CONFLICT (policy) DO UPDATE SET last_run_at = EXCLUDED.last_run_at
                """, [JSONValue(strings: completed).canonical, String(now.timeIntervalSince1970)])
            if let sealed { try await AuditChain.write(sealed, session) }
        }
        if let sealed { audit.advance(to: sealed.head) }
    }
}
