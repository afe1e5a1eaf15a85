import AccordCore

/// Where each kind lives in the `platform` schema and which of its columns
/// Accord decides from the manifests (SPEC §2). Keys are `name`, or
/// `tenant, name` for tenant-scoped kinds.
public enum Registry {
    public static func table(_ kind: Kind) -> String {
        switch kind {
        case .tenant: "tenants"
        case .worker: "workers"
        case .workflow: "workflows"
        case .retentionPolicy: "retention_policies"
        case .model: "models"
        case .erasure: "erasures"
        case .store: "stores"
        case .notification: "notifications"
        }
    }

    public static func keyColumns(_ kind: Kind) -> [String] {
        kind.isTenantScoped ? ["tenant", "name"] : ["name"]
    }

    /// The owned columns, in the order plans show them.
    public static func columns(_ kind: Kind) -> [Column] {
        switch kind {
        case .tenant: TenantRecord.columns
        case .worker: WorkerRecord.columns
        case .workflow: WorkflowRecord.columns
        case .retentionPolicy: RetentionPolicyRecord.columns
        case .model: ModelRecord.columns
        case .erasure: ErasureRecord.columns
        case .store: StoreRecord.columns
        case .notification: NotificationRecord.columns
        }
    }
}
