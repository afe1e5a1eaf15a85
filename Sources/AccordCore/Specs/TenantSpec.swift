public enum TenantPlan: String, CaseIterable, Sendable { case starter, pro, enterprise }
public enum Region: String, CaseIterable, Sendable { case eu, us, apac }
public enum Isolation: String, CaseIterable, Sendable { case shared, schema }
public enum SSOProtocol: String, CaseIterable, Sendable { case none, saml, oidc }
public enum MFAPolicy: String, CaseIterable, Sendable { case optional, required }
public enum DeletionPolicy: String, CaseIterable, Sendable {
    case retain = "Retain"
    case delete = "Delete"
}

public struct TenantSpec: Hashable, Sendable {
    public struct Auth: Hashable, Sendable {
        public var sso: SSOProtocol = .none
        public var issuer: String?
        public var mfa: MFAPolicy = .required
        public init() {}
    }

    public struct GDPR: Hashable, Sendable {
        public var retentionPolicy: String?
        public var consent: [String] = []
        public init() {}
    }

    public var displayName: String
    public var plan: TenantPlan
    public var region: Region
    /// As written; `nil` means the plan's default (see `effectiveIsolation`).
    public var isolation: Isolation?
    public var auth = Auth()
    public var gdpr = GDPR()
    public var keyRotationDays = 90
    public var suspended = false
    public var deletionPolicy: DeletionPolicy = .retain
    /// The external stores that hold the tenant's data (SPEC §8), by name.
    public var stores: [String] = []

    public init(displayName: String, plan: TenantPlan, region: Region) {
        self.displayName = displayName
        self.plan = plan
        self.region = region
    }

    /// `shared` for starter and pro, `schema` for enterprise, unless set.
    public var effectiveIsolation: Isolation {
        isolation ?? (plan == .enterprise ? .schema : .shared)
    }
}
