import AccordCore

/// A Tenant's row in `platform.tenants`, and where its data stores live:
/// `stores` is not a column but the schema that holds the tenant's six
/// store tables (`shared`, or `tenant_<name>`), read back from the catalog
/// so that a dropped store shows as drift.
public enum TenantRecord {
    static let columns: [Column] = [
        Column("display_name", .text), Column("plan", .text), Column("region", .text),
        Column("isolation", .text), Column("status", .text),
        Column("sso", .text), Column("sso_issuer", .text), Column("mfa", .text),
        Column("retention_policy", .text), Column("consent", .json),
        Column("key_rotation_days", .integer), Column("deletion_policy", .text), Column("stores", .text),
        Column("external_stores", .json),
    ]

    /// The data stores every tenant has (SPEC §2).
    public static let storeTables = ["users", "tasks", "traces", "datasets", "worker_memory", "provenance_records"]

    /// With `"true"`, a change of `spec.region` moves the tenant's data to
    /// the new region's database (SPEC §9); without it the change is refused.
    public static let migrateRegionAnnotation = "accord.dev/migrate-region"

    /// Whether a tenant's manifest asks for its data to move with its region.
    public static func migratesRegion(_ desired: DesiredObject?) -> Bool {
        desired?.auditDetail["migrateRegion"] == .bool(true)
    }

    /// The schema of a tenant's stores: `shared`, or `tenant_<name>` with
    /// `-` written `_`.
    public static func storesSchema(tenant: String, isolation: Isolation) -> String {
        isolation == .shared ? "shared" : "tenant_" + tenant.replacingOccurrences(of: "-", with: "_")
    }

    static func fields(_ name: String, _ spec: TenantSpec) -> [String: JSONValue] {
        [
            "display_name": .string(spec.displayName),
            "plan": .string(spec.plan.rawValue),
            "region": .string(spec.region.rawValue),
            "isolation": .string(spec.effectiveIsolation.rawValue),
            "status": .string(spec.suspended ? "suspended" : "active"),
            "sso": .string(spec.auth.sso.rawValue),
            "sso_issuer": JSONValue(spec.auth.issuer),
            "mfa": .string(spec.auth.mfa.rawValue),
            "retention_policy": JSONValue(spec.gdpr.retentionPolicy),
            "consent": JSONValue(strings: spec.gdpr.consent),
            "key_rotation_days": JSONValue(spec.keyRotationDays),
            "deletion_policy": .string(spec.deletionPolicy.rawValue),
            "stores": .string(storesSchema(tenant: name, isolation: spec.effectiveIsolation)),
            "external_stores": JSONValue(strings: spec.stores),
        ]
    }

    static func spec(_ spec: TenantSpec) -> JSONValue {
        var auth: [String: JSONValue] = ["sso": .string(spec.auth.sso.rawValue), "mfa": .string(spec.auth.mfa.rawValue)]
        if let issuer = spec.auth.issuer { auth["issuer"] = .string(issuer) }
        var gdpr: [String: JSONValue] = ["consent": JSONValue(strings: spec.gdpr.consent)]
        if let policy = spec.gdpr.retentionPolicy { gdpr["retentionPolicy"] = .string(policy) }
        var out: [String: JSONValue] = [
            "displayName": .string(spec.displayName), "plan": .string(spec.plan.rawValue),
            "region": .string(spec.region.rawValue), "auth": .object(auth), "gdpr": .object(gdpr),
            "encryption": .object(["keyRotationDays": JSONValue(spec.keyRotationDays)]),
            "suspended": .bool(spec.suspended), "deletionPolicy": .string(spec.deletionPolicy.rawValue),
        ]
        if let isolation = spec.isolation { out["isolation"] = .string(isolation.rawValue) }
        if !spec.stores.isEmpty { out["stores"] = JSONValue(strings: spec.stores) }
        return .object(out)
    }
}
