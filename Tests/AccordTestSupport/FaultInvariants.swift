import AccordCore
import AccordEngine
import AccordStore

/// What must hold after any fault (a killed applier, a crashed server).
/// Returns the violations, empty when all hold:
///
/// - every object as before or as after: for every kind, every registry row
///   has its inventory entry and every entry its row, and each row holds
///   exactly the record its entry was written with (the SHA-256 of the
///   row's owned fields, read back as the planner reads them, equals the
///   entry's `record_hash`; a half-written or stale row differs). Retained
///   entries are paired but not compared: retaining a worker stops it;
/// - with `revisions`, every entry was written by one of those commits
///   (`applied_revision`);
/// - every tenant's data stores exist whole: its own schema `tenant_<name>`
///   with all six tables under `isolation: schema`, protected tables in
///   `shared` otherwise;
/// - every tenant exactly one active data key, and its key versions 1…n,
///   one key each;
/// - a certificate exactly for the completed erasures, no erasure run
///   twice, an intact audit chain.
///
/// A database whose migrations are incomplete cannot be checked: that is a
/// finding of its own, unless the caller killed an apply that may have died
/// while migrating (`migrating: .mayBeIncomplete`; each migration is a
/// transaction of its own and nothing else is written before the last, so
/// then there is nothing half-done to find). `FaultInvariantsTests` damages
/// a healthy database one way at a time and expects each violation.
public enum FaultInvariants {
    public enum Migrating: Sendable { case mustBeComplete, mayBeIncomplete }

    public static func violations(_ session: Session, revisions: Set<String>? = nil,
                                  migrating: Migrating = .mustBeComplete) async throws -> [String] {
        let at = try await session.scalar("SELECT to_regclass('accord.schema_migrations')::text") == nil ? nil
            : try await session.scalar("SELECT max(version)::text FROM accord.schema_migrations")
        guard at == String(Migrations.latest) else {
            if migrating == .mayBeIncomplete { return [] }
            return ["migrations incomplete: the database is at version \(at ?? "none") of \(Migrations.latest); nothing else could be checked"]
        }
        var checks: [(String, String)] = []
        for kind in Kind.allCases.sorted() {
            let table = "platform.\(Registry.table(kind))"
            let tenant = kind.isTenantScoped ? "t.tenant" : "''"
            checks.append(("\(kind.rawValue) rows without their inventory entry", """
                SELECT count(*)::text FROM \(table) t WHERE NOT EXISTS
                  (SELECT 1 FROM accord.inventory i WHERE i.kind = '\(kind.rawValue)' AND i.tenant = \(tenant) AND i.name = t.name)
                """))
            checks.append(("\(kind.rawValue) inventory entries without their row", """
                SELECT count(*)::text FROM accord.inventory i WHERE i.kind = '\(kind.rawValue)' AND NOT EXISTS
                  (SELECT 1 FROM \(table) t WHERE \(tenant) = i.tenant AND t.name = i.name)
                """))
        }
        checks += [
            ("tenants whose data stores are missing or incomplete", """
                SELECT count(*)::text FROM platform.tenants t
                WHERE accord.stores_state(t.name, t.isolation) IS DISTINCT FROM accord.store_schema(t.name, t.isolation)
                """),
            ("tenants with schema isolation without their schema", """
                SELECT count(*)::text FROM platform.tenants t
                WHERE t.isolation <> 'shared' AND to_regnamespace(accord.store_schema(t.name, t.isolation)) IS NULL
                """),
            ("tenants without exactly one active data key", """
                SELECT count(*)::text FROM platform.tenants t
                WHERE (SELECT count(*) FROM accord.tenant_keys k WHERE k.tenant = t.name AND k.retired_at IS NULL) <> 1
                """),
            ("tenants whose key versions are not 1…n, one key each", """
                SELECT count(*)::text FROM (SELECT tenant FROM accord.tenant_keys GROUP BY tenant
                  HAVING count(*) <> max(version) OR count(DISTINCT version) <> count(*) OR min(version) <> 1) x
                """),
            ("certificates of erasures not completed", """
                SELECT count(*)::text FROM accord.erasure_certificates c JOIN platform.erasures e USING (tenant, name) WHERE e.status <> 'completed'
                """),
            ("completed erasures without a certificate", """
                SELECT count(*)::text FROM platform.erasures e WHERE e.status = 'completed'
                  AND NOT EXISTS (SELECT 1 FROM accord.erasure_certificates c WHERE c.tenant = e.tenant AND c.name = e.name)
                """),
            ("erasures run twice", """
                SELECT count(*)::text FROM (SELECT object FROM accord.audit_log WHERE action = 'erase' GROUP BY object HAVING count(*) > 1) x
                """),
        ]
        var out: [String] = []
        for (what, sql) in checks {
            let n = try await session.scalar(sql) ?? "?"
            if n != "0" { out.append("\(n) \(what)") }
        }
        out += try await recordMismatches(session)
        if let revisions {
            let n = try await session.scalar("""
                SELECT count(*)::text FROM accord.inventory
                WHERE applied_revision IS NULL OR applied_revision NOT IN (SELECT json_array_elements_text($1::json))
                """, [JSONValue(strings: revisions.sorted()).canonical]) ?? "?"
            if n != "0" { out.append("\(n) inventory entries not written by an applied revision") }
        }
        if try await !AuditChain.verify(session).isIntact { out.append("the audit chain does not verify") }
        return out
    }

    /// Rows whose owned fields are not the record their inventory entry
    /// was written with, by kind, with the first few objects named.
    static func recordMismatches(_ session: Session) async throws -> [String] {
        let live = try await LiveState.read(session)
        var entries: [ObjectID: InventoryEntry] = [:]
        for e in live.inventory { entries[e.id] = e }
        var mismatched: [Kind: [ObjectID]] = [:]
        for record in live.records {
            guard let entry = entries[record.id], !entry.retained else { continue }
            if sha256Hex(canonicalOf: .object(record.fields)) != entry.recordHash {
                mismatched[record.id.kind, default: []].append(record.id)
            }
        }
        return mismatched.keys.sorted().map { kind in
            let ids = mismatched[kind]!.sorted()
            return "\(ids.count) \(kind.rawValue) rows not as their inventory entry records them (\(ids.prefix(3).map(\.description).joined(separator: ", "))\(ids.count > 3 ? ", …" : ""))"
        }
    }
}
