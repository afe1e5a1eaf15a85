import AccordCore

/// `platform.retention_policies`: one row per policy, its rules as jsonb.
enum RetentionPolicyRows: KindRows {
    static let kind = Kind.retentionPolicy
}
