import AccordCore
import AccordEngine
import Foundation

/// Tenant data-encryption keys in `accord.tenant_keys`: one row per key
/// version with its key id, the wrapped key (see `TenantKeyWrapping`), the
/// KEK fingerprint, creation time and, once superseded, the time it was
/// retired. Retired versions stay, so data encrypted under them can still
/// be decrypted. A unique index allows one active version per tenant, so
/// two appliers can never both add one. Plain keys are never written,
/// printed or logged; plans and status show key ids, versions and dates.
public enum TenantKeys {
    /// A key version about to be written, already wrapped.
    struct NewKey: Sendable {
        let tenant: String
        let version: Int
        let keyID: String
        let wrapped: String
        let fingerprint: String
    }

    /// What the database holds for a tenant's keys.
    public struct Info: Sendable {
        public let tenant: String
        public let version: Int
        public let keyID: String
        public let createdAt: Date
        public let retiredVersions: Int
        public let kekFingerprint: String
    }

    public struct Missing: Error, CustomStringConvertible {
        public let description: String
    }

    /// Generates and wraps a new key version.
    static func generate(tenant: String, version: Int, kek: KeyEncryptionKey) throws -> NewKey {
        let keyID = TenantKeyWrapping.newKeyID()
        let wrapped = try TenantKeyWrapping.wrap(DataKey.generate(), tenant: tenant, version: version, keyID: keyID, with: kek)
        return NewKey(tenant: tenant, version: version, keyID: keyID, wrapped: wrapped, fingerprint: kek.fingerprint)
    }

    /// For each tenant: the highest key version and whether an active one
    /// exists, read from each tenant's data database; the tenants whose
    /// region's database is unavailable apart.
    static func versions(of tenants: [(name: String, region: Region?)], _ session: Session) async throws
        -> (known: [String: ExecutionOrder.KeyState], unavailable: [String: RegionUnavailable]) {
        let read = try await session.perRegion(tenants, region: \.region) { share, data in
            try await versions(of: share.map(\.name), data)
        }
        var known: [String: ExecutionOrder.KeyState] = [:]
        for r in read.results { known.merge(r) { a, _ in a } }
        return (known, Dictionary(read.unavailable.map { ($0.item.name, $0.reason) }, uniquingKeysWith: { a, _ in a }))
    }

    static func versions(of tenants: [String], _ session: Session) async throws -> [String: ExecutionOrder.KeyState] {
        var out: [String: ExecutionOrder.KeyState] = [:]
        guard !tenants.isEmpty else { return out }
        for row in try await session.rows("""
            SELECT tenant, max(version), bool_or(retired_at IS NULL) FROM accord.tenant_keys
            WHERE tenant IN (SELECT json_array_elements_text($1::json)) GROUP BY tenant
            """, [JSONValue(strings: tenants).canonical]) {
            let (tenant, latest, active) = try row.decode((String, Int, Bool).self)
            out[tenant] = (latest, active)
        }
        return out
    }

    /// Writes new versions, retiring the versions before them, at `now`.
    /// Writing the same versions again changes nothing (a retry after the
    /// registry's transaction did not follow): the key first written stays.
    /// Returns the keys it inserted, by tenant: those tenants' active keys
    /// now (a version already there is not returned).
    @discardableResult
    static func insert(_ keys: [NewKey], now: Date, _ session: Session) async throws -> [String: (version: Int, keyID: String)] {
        guard !keys.isEmpty else { return [:] }
        let json = JSONValue.array(keys.map { k in
            .object(["tenant": .string(k.tenant), "version": JSONValue(k.version), "key_id": .string(k.keyID),
                     "wrapped_key": .string(k.wrapped), "kek_fingerprint": .string(k.fingerprint)])
        }).canonical
        let at = String(now.timeIntervalSince1970)
        // A first key (version 1) has no earlier one to retire.
        if keys.contains(where: { $0.version > 1 }) {
            try await session.execute("""
                UPDATE accord.tenant_keys k SET retired_at = to_timestamp($2::float8)
                FROM json_to_recordset($1::json) AS x(tenant text, version int)
                WHERE k.tenant = x.tenant AND k.retired_at IS NULL AND k.version < x.version
                """, [json, at])
        }
        var inserted: [String: (version: Int, keyID: String)] = [:]
        for row in try await session.rows("""
            INSERT INTO accord.tenant_keys (tenant, version, key_id, algorithm, wrapped_key, kek_fingerprint, created_at)
            SELECT x.tenant, x.version, x.key_id, $2, x.wrapped_key, x.kek_fingerprint, to_timestamp($3::float8)
            FROM json_to_recordset($1::json) AS x(tenant text, version int, key_id text, wrapped_key text, kek_fingerprint text)
            ON CONFLICT (tenant, version) DO NOTHING
            RETURNING tenant, version, key_id
            """, [json, TenantKeyWrapping.algorithm, at]) {
            let (tenant, version, keyID) = try row.decode((String, Int, String).self)
            inserted[tenant] = (version, keyID)
        }
        return inserted
    }

    /// The active key (version and key id) of each of the tenants that has one.
    static func active(of tenants: [String], _ session: Session) async throws -> [String: (version: Int, keyID: String)] {
        guard !tenants.isEmpty else { return [:] }
        var out: [String: (version: Int, keyID: String)] = [:]
        for row in try await session.rows("""
            SELECT tenant, version, key_id FROM accord.tenant_keys
            WHERE retired_at IS NULL AND tenant IN (SELECT json_array_elements_text($1::json))
            """, [JSONValue(strings: tenants).canonical]) {
            let (tenant, version, keyID) = try row.decode((String, Int, String).self)
            out[tenant] = (version, keyID)
        }
        return out
    }

    /// Destroys every version of the tenants' keys (crypto-shredding, for
    /// a tenant deleted with `deletionPolicy: Delete`); returns how many.
    static func destroy(_ tenants: [String], _ session: Session) async throws -> [String: Int] {
        var out: [String: Int] = [:]
        for row in try await session.rows("""
            WITH gone AS (
                DELETE FROM accord.tenant_keys WHERE tenant IN (SELECT json_array_elements_text($1::json)) RETURNING tenant
            ) SELECT tenant, count(*)::int FROM gone GROUP BY tenant
            """, [JSONValue(strings: tenants).canonical]) {
            let (tenant, n) = try row.decode((String, Int).self)
            out[tenant] = n
        }
        return out
    }

    /// The active key of every tenant that has one, from each tenant's
    /// data database (a region that does not answer is left out).
    public static func info(_ session: Session, tenant: String? = nil) async throws -> [String: Info] {
        guard session.regions != nil else { return try await info(tenant: tenant, session) }
        let tenants = try await session.rows("""
            SELECT name, region FROM platform.tenants WHERE $1::text IS NULL OR name = $1
            """, [tenant]).map { try $0.decode((String, String).self) }
        let read = try await session.perRegion(tenants, region: { Region(rawValue: $0.1) }) { share, data in
            let names = Set(share.map(\.0))
            return try await info(tenant: tenant, data).filter { names.contains($0.key) }
        }
        return read.results.reduce(into: [:]) { $0.merge($1) { a, _ in a } }
    }

    static func info(tenant: String?, _ session: Session) async throws -> [String: Info] {
        var out: [String: Info] = [:]
        for row in try await session.rows("""
            SELECT a.tenant, a.version, a.key_id, extract(epoch FROM a.created_at)::float8, a.kek_fingerprint,
                   (SELECT count(*)::int FROM accord.tenant_keys r WHERE r.tenant = a.tenant AND r.retired_at IS NOT NULL)
            FROM accord.tenant_keys a WHERE a.retired_at IS NULL AND ($1::text IS NULL OR a.tenant = $1)
            """, [tenant]) {
            let (name, version, keyID, created, fingerprint, retired) = try row.decode((String, Int, String, Double, String, Int).self)
            out[name] = Info(tenant: name, version: version, keyID: keyID, createdAt: Date(timeIntervalSince1970: created),
                             retiredVersions: retired, kekFingerprint: fingerprint)
        }
        return out
    }

    /// Unwraps one version of a tenant's data key (the active one when
    /// `version` is nil) for the platform services that encrypt with it.
    public static func dataKey(_ session: Session, tenant: String, version: Int? = nil, kek: KeyEncryptionKey) async throws -> DataKey {
        guard let row = try await session.rows("""
            SELECT version, key_id, wrapped_key, kek_fingerprint FROM accord.tenant_keys
            WHERE tenant = $1 AND (CASE WHEN $2::int IS NULL THEN retired_at IS NULL ELSE version = $2::int END)
            """, [tenant, version.map(String.init)]).first else {
            throw Missing(description: "tenant \(tenant) has no data key\(version.map { " version \($0)" } ?? "")")
        }
        let (v, keyID, wrapped, fingerprint) = try row.decode((Int, String, String, String).self)
        guard fingerprint == kek.fingerprint else {
            throw Missing(description: "key \(keyID) (version \(v)) of tenant \(tenant) is wrapped by the key-encryption key with fingerprint \(fingerprint); the configured one is \(kek.fingerprint)")
        }
        return try TenantKeyWrapping.unwrap(wrapped, tenant: tenant, version: v, keyID: keyID, with: kek)
    }

    /// The active key of every tenant not offboarded (or of the named
    /// tenants only), read from each tenant's data database: its version,
    /// and whether it is older than the tenant's `keyRotationDays` at
    /// `now`; with `dueOnly`, only the keys that are (every pass asks, and
    /// almost always none is). Tenants of an unavailable region are left out
    /// (the plan reports them).
    static func activeKeys(at now: Date, dueOnly: Bool = false, of names: [String]? = nil, _ session: Session) async throws
        -> [(tenant: String, version: Int, days: Int, due: Bool, region: Region?)] {
        let time = String(now.timeIntervalSince1970)
        let namesJSON = names.map { JSONValue(strings: $0).canonical }
        guard session.regions != nil else {
            // One database holds the registry and the keys: joined where they are.
            return try await session.rows("""
                SELECT t.name, k.version, t.key_rotation_days, t.region,
                       k.created_at + make_interval(days => t.key_rotation_days) <= to_timestamp($1::float8) AS due
                FROM platform.tenants t JOIN accord.tenant_keys k ON k.tenant = t.name AND k.retired_at IS NULL
                WHERE t.status <> 'offboarded'
                  AND ($2::json IS NULL OR t.name IN (SELECT json_array_elements_text($2::json)))
                  AND (NOT $3::boolean OR k.created_at + make_interval(days => t.key_rotation_days) <= to_timestamp($1::float8))
                """, [time, namesJSON, dueOnly ? "true" : "false"]).map { row in
                let (tenant, version, days, region, due) = try row.decode((String, Int, Int, String, Bool).self)
                return (tenant: tenant, version: version, days: days, due: due, region: Region(rawValue: region))
            }.sorted { $0.tenant < $1.tenant }
        }
        let tenants = try await session.rows("""
            SELECT name, region, key_rotation_days FROM platform.tenants
            WHERE status <> 'offboarded' AND ($1::json IS NULL OR name IN (SELECT json_array_elements_text($1::json)))
            ORDER BY name
            """, [namesJSON]).map { try $0.decode((String, String, Int).self) }
        let regions = Dictionary(tenants.map { ($0.0, Region(rawValue: $0.1)) }, uniquingKeysWith: { a, _ in a })
        let read = try await session.perRegion(tenants, region: { Region(rawValue: $0.1) }) { share, data in
            let json = JSONValue.array(share.map { .object(["name": .string($0.0), "days": JSONValue($0.2)]) }).canonical
            return try await data.rows("""
                SELECT k.tenant, k.version, x.days, k.created_at + make_interval(days => x.days) <= to_timestamp($2::float8)
                FROM json_to_recordset($1::json) AS x(name text, days int)
                JOIN accord.tenant_keys k ON k.tenant = x.name AND k.retired_at IS NULL
                WHERE NOT $3::boolean OR k.created_at + make_interval(days => x.days) <= to_timestamp($2::float8)
                """, [json, time, dueOnly ? "true" : "false"]).map { try $0.decode((String, Int, Int, Bool).self) }
        }
        return read.results.joined().map { (tenant: $0.0, version: $0.1, days: $0.2, due: $0.3, region: regions[$0.0] ?? nil) }
            .sorted { $0.tenant < $1.tenant }
    }
}
