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

    static func catalogDigest(_ session: Session) async throws -> String {
        try await session.scalar(catalogDigestSQL) ?? ""
    }
}
