import AccordCore

/// Pairs desired objects with live rows and Accord's inventory, and makes
/// the one plan both `diff` and `apply` use. Pure: no I/O.
public enum Planner {
    public struct Input: Sendable {
        public var desired: [DesiredObject]
        public var live: [Record]
        public var inventory: [InventoryEntry]
        public var prune: Bool

        public init(desired: [DesiredObject], live: [Record], inventory: [InventoryEntry], prune: Bool) {
            self.desired = desired
            self.live = live
            self.inventory = inventory
            self.prune = prune
        }
    }

    public static func plan(_ input: Input) -> Plan {
        var live: [ObjectID: Record] = [:]
        live.reserveCapacity(input.live.count)
        for r in input.live { live[r.id] = r }
        var inventory: [ObjectID: InventoryEntry] = [:]
        inventory.reserveCapacity(input.inventory.count)
        for e in input.inventory { inventory[e.id] = e }

        var removals: [PlanStep] = []
        var orphaned: [ObjectID] = []
        var unmanaged: [ObjectID] = []
        // Only to find what is live or recorded but no longer desired: none
        // of it to find in an empty database.
        var desiredIDs = Set<ObjectID>()
        if !input.inventory.isEmpty || !input.live.isEmpty {
            desiredIDs.reserveCapacity(input.desired.count)
            for d in input.desired { desiredIDs.insert(d.id) }
        }

        // Each desired object is paired on its own: on every core.
        let desired = input.desired, rows = live, entries = inventory
        let parts = ParallelMap.ranges(desired.count) { range in
            var applies: [PlanStep] = []
            var unchanged = 0
            for d in desired[range] {
                if let step = pair(d, live: rows[d.id], entry: entries[d.id]) { applies.append(step) } else { unchanged += 1 }
            }
            return (applies, unchanged)
        }
        var applies: [PlanStep] = []
        applies.reserveCapacity(parts.reduce(0) { $0 + $1.0.count })
        var unchanged = 0
        for (steps, n) in parts {
            applies += steps
            unchanged += n
        }

        for e in input.inventory where !e.retained && !desiredIDs.contains(e.id) {
            let row = live[e.id]
            let tenantRow = e.id.kind.isTenantScoped && !desiredIDs.contains(e.id.tenantID) ? live[e.id.tenantID] : nil
            let action = removal(e.id, live: row, tenantLeaving: tenantRow)
            // Deleting needs prune; offboarding a tenant with `Retain` (and
            // stopping its workers) deletes nothing and happens without it.
            guard input.prune || (action == .retain && e.id.kind != .erasure) else {
                orphaned.append(e.id)
                continue
            }
            removals.append(PlanStep(id: e.id, action: action, cause: row == nil ? .drift : .manifest, changes: [], desired: nil))
        }

        for r in input.live where !desiredIDs.contains(r.id) && inventory[r.id] == nil {
            unmanaged.append(r.id)
        }

        applies.sort { $0.id < $1.id }
        removals.sort { ($0.id.kind.applyRank, $1.id) > ($1.id.kind.applyRank, $0.id) }
        return Plan(steps: applies + removals, orphaned: orphaned.sorted(), unmanaged: unmanaged.sorted(),
                    unchanged: unchanged, managed: input.inventory.filter { !$0.retained }.count)
    }

    /// The step that makes a desired object's row match, or nil when it
    /// already does.
    static func pair(_ d: DesiredObject, live row: Record?, entry: InventoryEntry?) -> PlanStep? {
        if let row, let kept = d.stall?.keepingLive(d, live: row) { return pair(kept, live: row, entry: entry) }
        guard let row else {
            let cause: StepCause = entry != nil && entry?.retained == false && entry?.recordHash == d.recordHash ? .drift : .manifest
            // A create's changes are its row's fields, worked out only when shown (`fieldChanges`).
            return PlanStep(id: d.id, action: .create, cause: cause, changes: [], desired: d)
        }
        let changes = row.fields == d.record.fields ? [] : FieldDiff.changes(kind: d.id.kind, old: row, new: d.record)
        // A stalled object stays in the plan, so it is reported rather than counted as in sync.
        if changes.isEmpty && d.stall == nil { return nil }
        let cause: StepCause
        if entry == nil {
            cause = .adopt
        } else if entry?.recordHash == d.recordHash, entry?.retained == false {
            cause = changes.isEmpty ? .manifest : .drift
        } else if entry?.manifestHash == d.manifestHash, entry?.retained == false {
            cause = .dependency
        } else {
            cause = .manifest
        }
        return PlanStep(id: d.id, action: .update, cause: cause, changes: changes, desired: d)
    }

    /// Tenants are dropped only with `deletionPolicy: Delete`; the workers
    /// and workflows of a tenant that leaves git with `Retain` are kept too
    /// (workers stopped); an erasure leaving git changes no data.
    static func removal(_ id: ObjectID, live: Record?, tenantLeaving: Record? = nil) -> Action {
        switch id.kind {
        case .tenant: isDeletable(tenant: live) ? .delete : .retain
        case .worker, .workflow: tenantLeaving.map { isDeletable(tenant: $0) ? .delete : .retain } ?? .delete
        case .erasure: .retain
        default: .delete
        }
    }

    static func isDeletable(tenant row: Record?) -> Bool {
        row?["deletion_policy"] == .string(DeletionPolicy.delete.rawValue)
    }
}

/// SPEC §4: refuse a plan that would remove more than a share of the
/// managed objects, or all of them, unless explicitly allowed.
public struct DeletionGuard: Sendable {
    public var maxShare: Double
    public var allowed: Bool

    public init(maxShare: Double = 0.10, allowed: Bool = false) {
        self.maxShare = maxShare
        self.allowed = allowed
    }

    /// Why the plan is refused, or nil when it may run. The share counts
    /// deletions; retained objects (a tenant offboarded with `Retain`, its
    /// workers stopped) lose nothing, but a plan that acts on a desired
    /// state without any managed object (every one deleted, offboarded or
    /// left orphaned) is refused, with or without prune.
    public func refusal(_ plan: Plan) -> String? {
        let removals = plan.removals, deletions = plan.count(.delete)
        guard !allowed, removals > 0 else { return nil }
        let percent = Int((maxShare * 100).rounded())
        if removals + plan.orphaned.count >= plan.managed {
            return "the plan would remove all \(plan.managed) managed objects; refusing (an empty or wrong --path, or a broken branch, is never a reason to delete or offboard the platform). Pass --allow-mass-deletion if this is intended."
        }
        if Double(deletions) > maxShare * Double(plan.managed) {
            return "the plan would delete \(deletions) of \(plan.managed) managed objects, more than the \(percent)% the deletion guard allows; refusing. Pass --allow-mass-deletion if this is intended."
        }
        return nil
    }
}

extension Stall {
    /// The object as it applies over `live`: the waiting columns as the
    /// row has them, the rest as desired. nil when nothing is kept.
    public func keepingLive(_ d: DesiredObject, live row: Record) -> DesiredObject? {
        guard !keepsLive.isEmpty else { return nil }
        var record = d.record
        for column in keepsLive { record.fields[column] = row.fields[column] ?? .null }
        let stall = Stall(reason: reason, message: message, appliesRest: true, detail: detail)
        return d.with(record: record, recordHash: sha256Hex(canonicalOf: .object(record.fields)), stall: stall, auditDetail: d.auditDetail)
    }
}
