/// kstatus condition types (SPEC §3) and the controller's own: `OnSchedule`
/// is an open erasure against its deadline (48h warning, 60h escalation,
/// 72h overdue); `SourceUnavailable`, the daemon's last fetch failed.
public enum ConditionType: String, Sendable, Codable, CaseIterable {
    case ready = "Ready", reconciling = "Reconciling", stalled = "Stalled"
    case onSchedule = "OnSchedule", sourceUnavailable = "SourceUnavailable", sourceVerified = "SourceVerified"
}

public enum ConditionStatus: String, Sendable, Codable, CaseIterable {
    case `true` = "True", `false` = "False", unknown = "Unknown"

    public init(_ value: Bool) { self = value ? .true : .false }
}

/// Reasons of conditions that are not failures: the live rows match git
/// (`Applied`); removed from git with its rows kept by design (`Retained`,
/// an offboarded tenant) or because prune is off (`Orphaned`); the daemon
/// retries after a backoff (`RetryScheduled`); an open erasure's stage;
/// the repository's last fetch, and why its fetched revision is not
/// applied (`SourceStatus`); a notification whose deliveries fail
/// (retried) or were refused by its receiver (stalled).
public enum StatusReason: String, Sendable, Codable, CaseIterable {
    case applied = "Applied", retained = "Retained", orphaned = "Orphaned", retryScheduled = "RetryScheduled"
    case withinDeadline = "WithinDeadline", slaWarning = "SLAWarning", slaEscalation = "SLAEscalation", slaOverdue = "SLAOverdue"
    case fetched = "Fetched", fetchFailed = "FetchFailed"
    case revisionInvalid = "RevisionInvalid", deletionGuardRefused = "DeletionGuardRefused", passFailed = "PassFailed"
    case signatureVerified = "SignatureVerified", signatureUnverified = "SignatureUnverified", signerRuleRefused = "SignerRuleRefused"
    case deliveryFailed = "DeliveryFailed", deliveryRefused = "DeliveryRefused"
}

/// One condition of an object. `reason` is a `FailureReason` or a
/// `StatusReason` (empty when the condition does not hold).
public struct Condition: Sendable, Hashable {
    public let type: ConditionType
    public let status: ConditionStatus
    public let reason: String
    public let message: String

    public init(_ type: ConditionType, _ status: ConditionStatus, reason: String = "", message: String = "") {
        self.type = type
        self.status = status
        self.reason = reason
        self.message = message
    }

    public init(_ type: ConditionType, _ status: ConditionStatus, _ reason: StatusReason, message: String) {
        self.init(type, status, reason: reason.rawValue, message: message)
    }

    public init(_ type: ConditionType, _ status: ConditionStatus, _ reason: FailureReason, message: String) {
        self.init(type, status, reason: reason.rawValue, message: message)
    }

    public var json: JSONValue {
        .object(["type": .string(type.rawValue), "status": .string(status.rawValue), "reason": .string(reason), "message": .string(message)])
    }
}

extension Array where Element == Condition {
    /// The condition of a type, if present.
    public subscript(type: ConditionType) -> Condition? { first { $0.type == type } }

    /// Whether the condition of a type is present and true.
    public func holds(_ type: ConditionType) -> Bool { self[type]?.status == .true }
}

extension ConditionType: CustomStringConvertible { public var description: String { rawValue } }
extension ConditionStatus: CustomStringConvertible { public var description: String { rawValue } }
extension StatusReason: CustomStringConvertible { public var description: String { rawValue } }
