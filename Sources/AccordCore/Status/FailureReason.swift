/// Why an object was not applied (kstatus reasons). Each reason says what
/// happens next (`Disposition`), the way Flux's errors say whether a user
/// must fix something, whether to wait, or whether to retry.
///
/// | reason | the object | disposition |
/// |---|---|---|
/// | `ApplyFailed` | the database refused its change | retry (stalled when only a change can help) |
/// | `DependencyNotReady` | refers to an object that failed in the same pass | waiting |
/// | `ModelNotPromoted` | a worker whose model has no production version | stalled |
/// | `KeyEncryptionKeyMissing` | a tenant that needs a data key, with no key-encryption key configured | stalled |
/// | `PromotionBlocked` | a model whose production version did not pass the promotion gate | stalled |
/// | `VersionImmutable` | a model that changes a registered version's digest or artifact | stalled |
/// | `SigningKeyMissing` | an open erasure with no certificate-signing key configured | stalled |
/// | `ErasureFailed` | an erasure run the database refused (rolled back) | retry |
/// | `ErasureCompleted` | a completed erasure whose manifest changes what its certificate says | stalled |
/// | `StoreUnavailable` | an external store that does not answer, refuses the credentials or lacks an entry of its holds | retry |
/// | `DriftRepeated` | an object written outside Accord again and again: its reverts back off | retry |
/// | `RegionUnavailable` | a tenant (or its erasure) whose region's database does not answer (SPEC §9) | retry |
public enum FailureReason: String, Sendable, Codable, CaseIterable {
    case applyFailed = "ApplyFailed", dependencyNotReady = "DependencyNotReady", modelNotPromoted = "ModelNotPromoted"
    case keyEncryptionKeyMissing = "KeyEncryptionKeyMissing", promotionBlocked = "PromotionBlocked"
    case versionImmutable = "VersionImmutable", signingKeyMissing = "SigningKeyMissing"
    case erasureFailed = "ErasureFailed", erasureCompleted = "ErasureCompleted", storeUnavailable = "StoreUnavailable"
    case driftRepeated = "DriftRepeated", regionUnavailable = "RegionUnavailable"

    /// What the reason means when nothing else is known. A database
    /// refusal's disposition depends on the refusal (`ObjectFailure`).
    public var disposition: Disposition {
        switch self {
        case .applyFailed, .erasureFailed, .storeUnavailable, .driftRepeated, .regionUnavailable: .retry
        case .dependencyNotReady: .waiting
        case .modelNotPromoted, .keyEncryptionKeyMissing, .promotionBlocked, .versionImmutable, .signingKeyMissing,
             .erasureCompleted: .stalled
        }
    }

    /// The database refused the write: the controller backs the object off
    /// (`RetryBook`). Every other reason is decided by the plan, looked at
    /// again by every pass at no cost, and clears when what it waits for
    /// changes.
    public var isDatabaseRefusal: Bool { self == .applyFailed || self == .regionUnavailable }

    /// Failures recorded by the work after the plan (erasure runs), which
    /// every pass retries, the fast path included: they do not make the
    /// live state differ from the last complete pass.
    public var isAfterPlan: Bool { self == .signingKeyMissing || self == .erasureFailed }

    /// Failures that leave the last complete pass a base for the next
    /// incremental or targeted pass: the work after the plan, and an
    /// object whose drift reverts back off (the writes it is held for are
    /// counted as outside writes, and the pass that reverts it clears it).
    public var keepsBase: Bool { isAfterPlan || self == .driftRepeated }
}

/// What happens next to an object that was not applied.
public enum Disposition: String, Sendable, Codable, CaseIterable {
    /// Needs a fix in git, in the configuration or in the live schema;
    /// not retried until its manifest changes (kstatus `Stalled`).
    case stalled
    /// Waits for another object (a dependency applied in a later pass);
    /// looked at again by every pass.
    case waiting
    /// A transient fault: retried with backoff.
    case retry
}

/// Why one object was not applied in a pass, and what happens next.
public struct ObjectFailure: Sendable, Hashable {
    public let id: ObjectID
    public let action: Action
    public let reason: FailureReason
    public let message: String
    public let disposition: Disposition
    /// Structured facts for the audit entry (a blocked promotion's versions and metric values).
    public var detail: JSONValue?

    public init(id: ObjectID, action: Action, reason: FailureReason, message: String,
                disposition: Disposition? = nil, detail: JSONValue? = nil) {
        self.id = id
        self.action = action
        self.reason = reason
        self.message = message
        self.disposition = disposition ?? reason.disposition
        self.detail = detail
    }

    /// Needs a fix in git (or the live schema); retrying will not help.
    public var stalled: Bool { disposition == .stalled }
}

/// Reasons and dispositions read in text as their names (`PromotionBlocked`).
extension FailureReason: CustomStringConvertible { public var description: String { rawValue } }
extension Disposition: CustomStringConvertible { public var description: String { rawValue } }
