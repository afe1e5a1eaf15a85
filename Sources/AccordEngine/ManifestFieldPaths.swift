import AccordCore

/// A field change's path as the manifest names it (`costPerTask`,
/// `auth.issuer`, `shadow.trafficPercent`, `steps[enrich].sla`,
/// `versions[4].signature`), for people reading a plan. The registry
/// column a path starts with is mapped to the manifest field it comes from;
/// a column derived from other fields or objects gets a camel-case name of
/// its own (`modelVersion`: the model's production version; `status`: the
/// kill switches; `postgresStores`: where isolation puts a tenant's rows;
/// `timeoutSeconds`: a store's timeout in seconds).
public enum ManifestFieldPaths {
    public static func path(_ kind: Kind, _ columnPath: String) -> String {
        let end = columnPath.firstIndex { $0 == "." || $0 == "[" || $0 == " " } ?? columnPath.endIndex
        let column = String(columnPath[..<end])
        var rest = String(columnPath[end...])
        if kind == .workflow, column == "definition" {
            // The definition is the spec itself.
            return rest.hasPrefix(".") ? String(rest.dropFirst()) : rest.isEmpty ? "spec" : rest
        }
        if kind == .model, column == "versions", rest.hasPrefix(".") {
            // Versions are kept by their version string: `versions.4.digest` is `versions[4].digest`.
            let tail = rest.dropFirst()
            let cut = tail.firstIndex(of: ".") ?? tail.endIndex
            rest = "[\(tail[..<cut])]" + tail[cut...]
        }
        return (names[kind]?[column] ?? camelCase(column)) + rest
    }

    /// Columns whose manifest field is not their camel-case name.
    static let names: [Kind: [String: String]] = [
        .tenant: [
            "sso": "auth.sso", "sso_issuer": "auth.issuer", "mfa": "auth.mfa",
            "retention_policy": "gdpr.retentionPolicy", "consent": "gdpr.consent",
            "key_rotation_days": "encryption.keyRotationDays", "external_stores": "stores", "stores": "postgresStores",
        ],
        .model: [
            "production_version": "production", "shadow_version": "shadow.version",
            "shadow_traffic_percent": "shadow.trafficPercent", "promotion_metric": "promotion.metric",
            "promotion_min_improvement": "promotion.minImprovement",
        ],
    ]

    static func camelCase(_ name: String) -> String {
        let parts = name.split(separator: "_")
        guard let first = parts.first else { return name }
        return String(first) + parts.dropFirst().map { $0.prefix(1).uppercased() + $0.dropFirst() }.joined()
    }
}
