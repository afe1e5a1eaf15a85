/// Where events go out (SPEC §11): a webhook, a Slack incoming webhook, or
/// GitHub commit statuses on the applied commits.
public struct NotificationSpec: Hashable, Sendable {
    public enum NotificationType: String, CaseIterable, Sendable, Codable {
        case webhook, slack, github
    }

    public var type: NotificationType
    /// webhook: the receiver's `http(s)://` URL; github: the repository's
    /// API URL (`https://api.github.com/repos/OWNER/REPO`); slack: nil
    /// (the incoming-webhook URL is a secret, read from `secret`).
    public var address: String?
    /// A file name under `ACCORD_SECRETS_DIR`: the HMAC key (webhook),
    /// the incoming-webhook URL (slack), the token (github).
    public var secret: String?
    /// The events sent; nil: all of them. Not for github.
    public var events: [NotificationEvent]?
    /// Only events of these tenants' objects; nil: any.
    public var tenants: [String]?
    /// Only events of objects of these kinds; nil: any.
    public var kinds: [Kind]?

    public init(type: NotificationType, address: String? = nil, secret: String? = nil) {
        self.type = type
        self.address = address
        self.secret = secret
    }
}

/// What happened, as a notification names it (SPEC §11). The `apply…`
/// events are a pass's outcome on its commit, which only `github`
/// notifications receive (as commit statuses).
public enum NotificationEvent: String, CaseIterable, Sendable, Codable, Comparable {
    case erasureCompleted = "ErasureCompleted"
    case erasureSLAWarning = "ErasureSLAWarning"
    case erasureSLAEscalated = "ErasureSLAEscalated"
    case erasureOverdue = "ErasureOverdue"
    case promotionBlocked = "PromotionBlocked"
    case modelPromoted = "ModelPromoted"
    case reconcileFailed = "ReconcileFailed"
    case objectStalled = "ObjectStalled"
    case driftReverted = "DriftReverted"
    case tenantOnboarded = "TenantOnboarded"
    case tenantSuspended = "TenantSuspended"
    case sourceVerificationFailed = "SourceVerificationFailed"
    case applyStarted = "ApplyStarted"
    case applySucceeded = "ApplySucceeded"
    case applyFailed = "ApplyFailed"

    /// The events a manifest may name in `spec.events`.
    public static let subscribable: [NotificationEvent] = allCases.filter { !$0.isApply }

    /// A pass's outcome on its commit (github commit statuses).
    public var isApply: Bool { self == .applyStarted || self == .applySucceeded || self == .applyFailed }

    public static func < (a: NotificationEvent, b: NotificationEvent) -> Bool { a.rawValue < b.rawValue }
}
