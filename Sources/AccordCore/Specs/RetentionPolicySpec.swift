/// The tenant data stores of SPEC §2.
public enum Store: String, CaseIterable, Sendable, Codable {
    case users, tasks, traces, datasets
    case workerMemory = "worker_memory"
    case provenanceRecords = "provenance_records"

    /// Columns a retention rule may match on, beyond the common ones.
    public var matchableColumns: [String] {
        self == .workerMemory ? ["memory_type"] : []
    }
}

public struct RetentionRule: Hashable, Sendable {
    public var store: Store
    public var match: [String: Scalar] = [:]
    public var maxAge: DurationValue

    public init(store: Store, match: [String: Scalar] = [:], maxAge: DurationValue) {
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
