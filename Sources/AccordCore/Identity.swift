/// The kinds of object a manifests repository may hold.
public enum Kind: String, CaseIterable, Sendable, Codable, Comparable {
    case tenant = "Tenant"
    case worker = "Worker"
    case workflow = "Workflow"
    case retentionPolicy = "RetentionPolicy"
    case model = "Model"
    case erasure = "Erasure"
    case store = "Store"
    case notification = "Notification"

    /// Tenant-scoped kinds carry `metadata.tenant`; the others must not.
    public var isTenantScoped: Bool {
        switch self {
        case .worker, .workflow, .erasure: true
        case .tenant, .retentionPolicy, .model, .store, .notification: false
        }
    }

    /// Position in apply order: everything a kind refers to comes before it.
    /// Store (retention rules and tenants name stores) and Notification
    /// (so that the events of the objects after it reach it), then
    /// RetentionPolicy and Model, then Tenant, then Worker, then Workflow
    /// and Erasure.
    public var applyRank: Int {
        switch self {
        case .store, .notification: 0
        case .retentionPolicy, .model: 1
        case .tenant: 2
        case .worker: 3
        case .workflow, .erasure: 4
        }
    }

    public static func < (lhs: Kind, rhs: Kind) -> Bool {
        (lhs.applyRank, lhs.rawValue) < (rhs.applyRank, rhs.rawValue)
    }

    /// A kind as people type it on a command line: any case, singular or
    /// plural (`worker`, `Workers`, `retentionpolicies`).
    public init?(named text: String) {
        let lower = text.lowercased()
        guard let kind = Kind.allCases.first(where: { k in
            let name = k.rawValue.lowercased()
            let plural = name.hasSuffix("y") ? name.dropLast() + "ies" : name + "s"
            return lower == name || lower == plural
        }) else { return nil }
        self = kind
    }

    /// How one object of this kind is named: `Tenant/NAME`, `Worker/TENANT/NAME`.
    public var identityForm: String { isTenantScoped ? "\(rawValue)/TENANT/NAME" : "\(rawValue)/NAME" }
}

/// Identity of a managed object: `(kind, tenant, name)`.
public struct ObjectID: Hashable, Sendable, Comparable, CustomStringConvertible, Codable {
    public let kind: Kind
    public let tenant: String?
    public let name: String

    public init(kind: Kind, tenant: String? = nil, name: String) {
        self.kind = kind
        self.tenant = tenant
        self.name = name
    }

    /// The Tenant a tenant-scoped object belongs to (for a cluster-scoped
    /// object, a Tenant with an empty name that never exists).
    public var tenantID: ObjectID { ObjectID(kind: .tenant, name: tenant ?? "") }

    /// `Kind/name` or `Kind/tenant/name`.
    public var description: String {
        if let tenant { return "\(kind.rawValue)/\(tenant)/\(name)" }
        return "\(kind.rawValue)/\(name)"
    }

    /// Apply order of kinds, then tenant and name by their bytes.
    public static func < (lhs: ObjectID, rhs: ObjectID) -> Bool {
        if lhs.kind != rhs.kind { return lhs.kind < rhs.kind }
        let lt = lhs.tenant ?? "", rt = rhs.tenant ?? ""
        if lt != rt { return lt.utf8Precedes(rt) }
        return lhs.name.utf8Precedes(rhs.name)
    }

    /// Parses `Kind/name` or `Kind/tenant/name` (the kind in any case, as
    /// `Kind(named:)` reads it); `nil` when the text is neither.
    public init?(parsing text: String) {
        guard case .success(let id) = Self.parse(text) else { return nil }
        self = id
    }

    /// `Kind/name` or `Kind/tenant/name`, or what is wrong with the text:
    /// an unknown kind (the kinds listed), a tenant-scoped kind without its
    /// tenant, a cluster-scoped one with one, an empty part.
    public static func parse(_ text: String) -> Result<ObjectID, ParseProblem> {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard let first = parts.first, let kind = Kind(named: first) else {
            return .failure(ParseProblem(description: "\(Text.quoted(parts.first ?? text)) is not a kind; the kinds are \(Kind.allCases.sorted().map(\.rawValue).joined(separator: ", "))"))
        }
        let id: ObjectID
        switch (parts.count, kind.isTenantScoped) {
        case (2, false): id = ObjectID(kind: kind, name: parts[1])
        case (3, true): id = ObjectID(kind: kind, tenant: parts[1], name: parts[2])
        default:
            let scope = kind.isTenantScoped ? "belongs to a tenant" : "belongs to no tenant"
            return .failure(ParseProblem(description: "a \(kind.rawValue) \(scope): \(kind.identityForm), not \(Text.quoted(text))"))
        }
        if id.name.isEmpty || id.tenant?.isEmpty == true {
            return .failure(ParseProblem(description: "\(Text.quoted(text)) has an empty part: \(kind.identityForm)"))
        }
        return .success(id)
    }

    public struct ParseProblem: Error, CustomStringConvertible, Sendable {
        public let description: String
    }
}
