import AccordCore
import AccordEngine

/// What an incremental pass reads about everything outside the files it
/// reads: valid because nothing changed outside those files since the last
/// complete pass (`FastPath.base`).
public enum IncrementalReads {
    /// Desired objects defined outside the touched files.
    public struct Outside: Sendable {
        /// Which of the asked identities are desired objects defined in other files.
        public let existing: Set<ObjectID>
        /// Production versions and suspended tenants rows are derived from.
        public let context: DesiredState.Context
    }

    /// Which of `ids` are desired objects defined outside `touched`, and
    /// what rows derived from them need (production versions, suspended
    /// tenants).
    public static func outside(_ ids: Set<ObjectID>, excluding touched: [String], orphans: Set<ObjectID>,
                               _ session: Session) async throws -> Outside {
        var existing = Set<ObjectID>()
        for row in try await session.rows("""
            SELECT i.kind, i.tenant, i.name
            FROM json_to_recordset($1::json) AS x(kind text, tenant text, name text)
            JOIN accord.inventory i ON i.kind = x.kind AND i.tenant = x.tenant AND i.name = x.name
            WHERE i.retained_at IS NULL
              AND i.source_path NOT IN (SELECT json_array_elements_text($2::json))
            """, [SQL.keysJSON(Array(ids)), JSONValue(strings: touched).canonical]) {
            let (kind, tenant, name) = try row.decode((String, String, String).self)
            guard let id = ObjectID(stored: kind, tenant, name) else { continue }
            if !orphans.contains(id) { existing.insert(id) }
        }
        var context = DesiredState.Context()
        let models = JSONValue(strings: existing.filter { $0.kind == .model }.map(\.name)).canonical
        for row in try await session.rows("""
            SELECT name, production_version FROM platform.models WHERE name IN (SELECT json_array_elements_text($1::json))
            """, [models]) {
            let (name, production) = try row.decode((String, String?).self)
            if let production { context.production[name] = production }
        }
        let tenants = JSONValue(strings: existing.filter { $0.kind == .tenant }.map(\.name)).canonical
        for row in try await session.rows("""
            SELECT name FROM platform.tenants WHERE status = 'suspended' AND name IN (SELECT json_array_elements_text($1::json))
            """, [tenants]) {
            context.suspendedTenants.insert(try row.decode(String.self))
        }
        return Outside(existing: existing, context: context)
    }

    /// Bucket roots recomputed from the inventory (managed objects but the
    /// orphaned) for the given buckets; empty buckets are absent.
    public static func bucketRoots(_ buckets: Set<Int>, excluding orphaned: Set<ObjectID>, _ session: Session) async throws -> [Int: String] {
        var hashes: [String] = []
        for row in try await session.rows("""
            SELECT i.kind, i.tenant, i.name, i.manifest_hash
            FROM json_array_elements_text($1::json) AS p(prefix)
            JOIN accord.inventory i ON (i.manifest_hash COLLATE "C") >= p.prefix COLLATE "C"
                                   AND (i.manifest_hash COLLATE "C") < (p.prefix || 'g') COLLATE "C"
            WHERE i.retained_at IS NULL
            """, [JSONValue(strings: buckets.map(Merkle.prefix(of:))).canonical]) {
            let (kind, tenant, name, hash) = try row.decode((String, String, String, String).self)
            if let id = ObjectID(stored: kind, tenant, name), orphaned.contains(id) { continue }
            hashes.append(hash)
        }
        return Merkle.bucketRoots(hashes)
    }
}

/// Planner statistics of the tables a pass writes.
public enum Statistics {
    /// Fresh statistics, so the next passes' lookups use the indexes. What
    /// those plans need is each table's size and that its keys are
    /// distinct, which a sample of 3,000 rows (statistics target 10) gives
    /// as well as the default 30,000, in a tenth of the time; only the
    /// value distributions are coarser, which Accord's key lookups do not
    /// depend on.
    /// With `beside` (the pass's second connection), the largest registry
    /// tables are analyzed there while the others are on `session`: about
    /// half the time. Should `beside` fail, its tables are analyzed on `session`.
    public static func refresh(_ session: Session, beside: Session? = nil) async throws {
        guard let beside else { return try await analyze(tables, session) }
        let there = ["platform.workers", "platform.tenants"]
        async let besideDone: Bool = (try? await analyze(there, beside)) != nil
        try await analyze(tables.filter { !there.contains($0) }, session)
        if await !besideDone { try await analyze(there, session) }
    }

    static let tables = ["accord.inventory", "accord.tenant_keys"] + Migrations.platformTables.map { "platform.\($0)" }

    private static func analyze(_ tables: [String], _ session: Session) async throws {
        try await session.transaction {
            try await session.execute("SET LOCAL default_statistics_target = 10")
            try await session.execute("ANALYZE " + tables.joined(separator: ", "))
        }
    }
}
