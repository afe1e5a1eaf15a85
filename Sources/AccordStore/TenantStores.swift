import AccordCore
import AccordEngine

/// Each tenant's data stores (SPEC §2): the six tables `users`, `tasks`,
/// `traces`, `datasets`, `worker_memory` and `provenance_records`, either
/// in the tenant's own schema `tenant_<name>` (`isolation: schema`) or in
/// schema `shared` (`isolation: shared`), where row-level security keeps
/// every tenant to its own rows.
///
/// Row-level security on `shared`: every table has the policy
/// `tenant_isolation`, `tenant_id = current_setting('accord.tenant')`, for
/// reading and writing, and is FORCEd, so it binds the tables' owner too.
/// A service sets its tenant per transaction,
/// `SELECT set_config('accord.tenant', 'acme', true)`, and then sees and
/// changes only that tenant's rows; without the setting it sees none.
/// Only superusers and roles with BYPASSRLS pass through.
///
/// The DDL lives in PostgreSQL functions created by migration 3, so that a
/// batch of tenants is provisioned by one set-based statement:
///   - `accord.ensure_stores(tenant, isolation)` creates what is missing
///     (schema, tables, indexes, row-level security) and nothing else;
///   - `accord.move_stores(tenant, from, to)` moves a tenant's rows between
///     `shared` and its own schema in the caller's transaction;
///   - `accord.drop_stores(tenant, isolation)` drops the schema or deletes
///     the tenant's shared rows;
///   - `accord.stores_state(tenant, isolation)` reads back what exists:
///     the schema name when all six tables are there (and protected, in
///     `shared`), else the schema and what is missing.
enum TenantStores {
    static var tableArray: String {
        "ARRAY[" + TenantRecord.storeTables.map { "'\($0)'" }.joined(separator: ", ") + "]::text[]"
    }

    /// A fingerprint of every store table's identity and protection, so the
    /// fast path notices a store dropped, re-created or unprotected outside
    /// Accord (DDL fires no row trigger).
    static let catalogDigestSQL = """
        SELECT count(*)::text || ':' || coalesce(sum(c.oid::int8), 0)::text || ':'
            || count(*) FILTER (WHERE c.relrowsecurity AND c.relforcerowsecurity)::text || ':'
            || (SELECT count(*) FROM pg_policy p JOIN pg_class pc ON pc.oid = p.polrelid
                WHERE pc.relnamespace = to_regnamespace('shared'))::text
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind = 'r' AND (n.nspname = 'shared' OR n.nspname LIKE 'tenant\\_%')
        """

    /// With a regions file, each region's digest (an unavailable region
    /// as such, so a pass after it comes back is never a no-op).
    static func catalogDigest(_ session: Session) async throws -> String {
        guard let regions = session.regions else { return try await session.scalar(catalogDigestSQL) ?? "" }
        var parts: [String] = []
        for region in regions.regions {
            do {
                parts.append("\(region.rawValue)=" + (try await regions.read(region) { try await $0.scalar(catalogDigestSQL) } ?? ""))
            } catch is RegionUnavailable {
                parts.append("\(region.rawValue)=unavailable")
            }
        }
        return parts.joined(separator: ";")
    }

    /// With a regions file: each tenant's `stores` read back from its
    /// region's database (the control database holds no stores). A tenant
    /// whose region is unavailable reads as such, which no desired row
    /// equals; the pass then finds the region down when it writes.
    static func attachRegional(_ records: [Record], _ session: Session) async throws -> [Record] {
        guard session.regions != nil else { return records }
        let tenants = records.enumerated().filter { $0.element.id.kind == .tenant }
        guard !tenants.isEmpty else { return records }
        typealias Placed = (index: Int, name: String, isolation: String, region: Region?)
        let placed: [Placed] = tenants.map { i, r in
            (i, r.id.name, r.fields["isolation"]?.stringValue ?? "shared", r.fields["region"]?.stringValue.flatMap(Region.init(rawValue:)))
        }
        let read = try await session.perRegion(placed, region: \.region) { share, data -> [Int: String] in
            let json = JSONValue.array(share.map { .object(["i": JSONValue($0.index), "name": .string($0.name), "isolation": .string($0.isolation)]) })
            var out: [Int: String] = [:]
            for row in try await data.rows("""
                SELECT x.i, accord.stores_state(x.name, x.isolation) FROM json_to_recordset($1::json) AS x(i int, name text, isolation text)
                """, [json.canonical]) {
                let (i, state) = try row.decode((Int, String).self)
                out[i] = state
            }
            return out
        }
        var out = records
        for share in read.results { for (i, state) in share { out[i].fields["stores"] = .string(state) } }
        for (item, down) in read.unavailable { out[item.index].fields["stores"] = .string("unavailable (\(down.reason))") }
        for p in placed where p.region == nil { out[p.index].fields["stores"] = .string("no database for the tenant's region") }
        return out
    }
}
