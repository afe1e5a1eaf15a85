/// The tenant data tables of SPEC §2, in PostgreSQL.
public enum TenantTable: String, CaseIterable, Sendable, Codable {
    case users, tasks, traces, datasets
    case workerMemory = "worker_memory"
    case provenanceRecords = "provenance_records"

    /// Columns a retention rule may match on, beyond the common ones.
    public var matchableColumns: [String] {
        self == .workerMemory ? ["memory_type"] : []
    }
}

/// What a retention rule enforces on: a tenant data table in PostgreSQL,
/// or an external store (SPEC §8) — all its `holds`, or one entry of them
/// (`STORE/ENTRY`: a table, key pattern, bucket or resource).
public enum RetentionTarget: Hashable, Sendable, CustomStringConvertible {
    case table(TenantTable)
    case store(name: String, entry: String?)

    /// As written in the manifest.
    public var description: String {
        switch self {
        case .table(let table): table.rawValue
        case .store(let name, let entry): entry.map { "\(name)/\($0)" } ?? name
        }
    }
}

public struct RetentionRule: Hashable, Sendable {
    public var store: RetentionTarget
    public var match: [String: Scalar] = [:]
    public var maxAge: DurationValue

    public init(store: RetentionTarget, match: [String: Scalar] = [:], maxAge: DurationValue) {
        self.store = store
        self.match = match
        self.maxAge = maxAge
    }
}

public struct RetentionPolicySpec: Hashable, Sendable {
    public static let defaultSchedule = DurationValue(seconds: 3600, text: "1h")

    public var rules: [RetentionRule]
    public var schedule: DurationValue = RetentionPolicySpec.defaultSchedule

    public init(rules: [RetentionRule]) {
        self.rules = rules
    }
}
