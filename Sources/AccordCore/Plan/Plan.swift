/// What a step does to one object.
public enum Action: String, Sendable, Codable, CaseIterable {
    /// The object is in git but has no registry row.
    case create
    /// The object's registry row differs from git (a change in git, or drift).
    case update
    /// The object left git, Accord created it, and prune is on.
    case delete
    /// The object left git and prune is on, but its rows are kept by design:
    /// a tenant with `deletionPolicy: Retain` is marked offboarded and its
    /// workers stopped, an erasure is released (its record and certificate
    /// stay).
    case retain

    public var symbol: String {
        switch self {
        case .create: "+"
        case .update: "~"
        case .delete: "-"
        case .retain: "-"
        }
    }
}

/// One changed field: `path` is the column, or a path inside a JSON column
/// (`definition.steps[1].sla`). `old` is nil for a create, `new` for a delete.
public struct FieldChange: Sendable, Hashable {
    public let path: String
    public let old: JSONValue?
    public let new: JSONValue?

    public init(path: String, old: JSONValue?, new: JSONValue?) {
        self.path = path
        self.old = old
        self.new = new
    }
}

/// Why a step is in the plan beyond a change in git.
public enum StepCause: String, Sendable, Codable {
    /// git changed.
    case manifest
    /// The row was edited or deleted outside Accord; git did not change.
    case drift
    /// A row with this identity exists but Accord did not create it; the
    /// step takes it over.
    case adopt
    /// The manifest did not change but an object its row is derived from
    /// did: a worker redeployed on its model's new production version, or
    /// stopped and started by its tenant's kill switch.
    case dependency
}

public struct PlanStep: Sendable, Hashable {
    public let id: ObjectID
    public let action: Action
    public let cause: StepCause
    /// An update's changed fields. A create's are its desired row's fields,
    /// left empty here and worked out when shown (`fieldChanges`).
    public let changes: [FieldChange]
    /// The row to write for create and update.
    public let desired: DesiredObject?

    public init(id: ObjectID, action: Action, cause: StepCause, changes: [FieldChange], desired: DesiredObject?) {
        self.id = id
        self.action = action
        self.cause = cause
        self.changes = changes
        self.desired = desired
    }
}

/// The one plan `accordctl diff` prints and `accordctl apply` executes.
public struct Plan: Sendable {
    /// Creates and updates in apply order, then deletes in reverse order.
    public let steps: [PlanStep]
    /// Objects Accord manages that left git, kept because prune is off.
    public let orphaned: [ObjectID]
    /// Registry rows Accord did not create and git does not name; never touched.
    public let unmanaged: [ObjectID]
    /// Desired objects whose rows already match.
    public let unchanged: Int
    /// Managed objects before this plan (what the deletion guard compares with).
    public let managed: Int

    public init(steps: [PlanStep], orphaned: [ObjectID], unmanaged: [ObjectID], unchanged: Int, managed: Int) {
        self.steps = steps
        self.orphaned = orphaned
        self.unmanaged = unmanaged
        self.unchanged = unchanged
        self.managed = managed
    }

    public var isEmpty: Bool { steps.isEmpty }

    public func count(_ action: Action) -> Int { steps.reduce(0) { $0 + ($1.action == action ? 1 : 0) } }

    /// Steps that remove an object from the platform or from Accord's care.
    public var removals: Int { count(.delete) + count(.retain) }

    /// `N to create, N to update, N to delete` (+ `, N to retain` when any).
    public var summary: String {
        var text = "\(count(.create)) to create, \(count(.update)) to update, \(count(.delete)) to delete"
        if count(.retain) > 0 { text += ", \(count(.retain)) to retain" }
        return text
    }
}

extension Plan {
    /// Where each changed object is written in git: its file now, or (for
    /// an object that left git) the file it was last applied from.
    public func sourcePaths(inventory: [InventoryEntry]) -> [ObjectID: String] {
        var paths: [ObjectID: String] = [:]
        for entry in inventory { paths[entry.id] = entry.sourcePath }
        for step in steps { if let path = step.desired?.sourcePath { paths[step.id] = path } }
        return paths
    }
}
