import AccordCore
import AccordEngine

/// Executes a plan. Steps of one kind and action go in batches, each one
/// transaction holding whole objects (registry rows, inventory, audit
/// entries), so every object ends either as before or as after. A batch
/// the database refuses is retried one object per transaction, so only the
/// failing objects stay unapplied; objects that refer to a failed one are
/// skipped with `DependencyNotReady`.
public struct Executor: Sendable {
    public struct Outcome: Sendable {
        public var applied: [PlanStep] = []
        public var failed: [ObjectFailure] = []
        public var bookkeeping = 0
    }

    public static let batchSize = 2_000

    let session: Session
    let revision: String?
    var audit: AuditChain

    public init(session: Session, revision: String?, audit: AuditChain) {
        self.session = session
        self.revision = revision
        self.audit = audit
    }

    public var auditHead: AuditChain { audit }

    /// Runs every step, then brings the inventory up to date for desired
    /// objects whose rows already matched (adopted, moved, or re-hashed).
    public mutating func run(_ plan: Plan, desired: [DesiredObject], inventory: [InventoryEntry]) async throws -> Outcome {
        var outcome = Outcome()
        var failedIDs = Set<ObjectID>()
        for group in Self.groups(plan.steps) {
            var ready: [PlanStep] = []
            for step in group {
                if let blocker = Self.dependencies(step).first(where: failedIDs.contains) {
                    let failure = ObjectFailure(id: step.id, action: step.action, reason: .dependencyNotReady,
                                                message: "\(blocker) was not applied", stalled: false)
                    try await recordFailure(failure, step)
                    outcome.failed.append(failure)
                    failedIDs.insert(step.id)
                } else {
                    ready.append(step)
                }
            }
            var start = 0
            while start < ready.count {
                let batch = Array(ready[start..<min(start + Self.batchSize, ready.count)])
                start += Self.batchSize
                do {
                    try await commit(batch)
                    outcome.applied += batch
                } catch let error as SQLFailure where batch.count > 1 && !Self.isConnectionLost(error) {
                    for step in batch {
                        do {
                            try await commit([step])
                            outcome.applied.append(step)
                        } catch let error as SQLFailure where !Self.isConnectionLost(error) {
                            try await fail(step, error, &outcome, &failedIDs)
                        }
                    }
                } catch let error as SQLFailure where !Self.isConnectionLost(error) {
                    try await fail(batch[0], error, &outcome, &failedIDs)
                }
            }
        }
        outcome.bookkeeping = try await syncInventory(plan, desired: desired, inventory: inventory, failed: failedIDs)
        return outcome
    }

    /// Records a step the database refused.
    private mutating func fail(_ step: PlanStep, _ error: SQLFailure, _ outcome: inout Outcome,
                               _ failedIDs: inout Set<ObjectID>) async throws {
        let failure = ObjectFailure(id: step.id, action: step.action, reason: .applyFailed,
                                    message: error.description, stalled: error.isPermanent)
        try await recordFailure(failure, step)
        outcome.failed.append(failure)
        failedIDs.insert(step.id)
    }

    /// Consecutive steps with the same kind and action.
    static func groups(_ steps: [PlanStep]) -> [[PlanStep]] {
        var out: [[PlanStep]] = []
        for step in steps {
            if let last = out.last?.last, last.id.kind == step.id.kind, last.action == step.action {
                out[out.count - 1].append(step)
            } else {
                out.append([step])
            }
        }
        return out
    }

    /// The objects a step needs applied first.
    static func dependencies(_ step: PlanStep) -> [ObjectID] {
        step.desired.map { References.of($0.record) } ?? []
    }

    static func isConnectionLost(_ error: SQLFailure) -> Bool {
        error.sqlState == nil || error.sqlState?.hasPrefix("08") == true || error.sqlState?.hasPrefix("57") == true
    }

    private mutating func commit(_ batch: [PlanStep]) async throws {
        guard let first = batch.first else { return }
        let entries = batch.map(Self.auditEntry(revision))
        let sealed = audit.seal(entries)
        let session = self.session
        let revision = self.revision
        try await session.transaction(asApplier: true) {
            try await RegistryWriter.write(first.id.kind, first.action, batch, session)
            switch first.action {
            case .create, .update:
                try await InventoryWriter.record(batch.compactMap(\.desired), revision: revision, session)
            case .delete: try await InventoryWriter.forget(batch.map(\.id), session)
            case .retain: try await InventoryWriter.markRetained(batch.map(\.id), session)
            }
            try await AuditChain.write(sealed, session)
        }
        audit.advance(to: sealed.head)
    }

    private mutating func recordFailure(_ failure: ObjectFailure, _ step: PlanStep) async throws {
        let entry = AuditEntry(action: "\(step.action.rawValue)-failed", object: step.id.description, revision: revision,
                               detail: .object(["reason": .string(failure.reason.rawValue), "message": .string(failure.message)]))
        let sealed = audit.seal([entry])
        let session = self.session
        let revision = self.revision
        try await session.transaction {
            try await InventoryWriter.recordFailure(failure, manifestHash: step.desired?.manifestHash, revision: revision, session)
            try await AuditChain.write(sealed, session)
        }
        audit.advance(to: sealed.head)
    }

    static func auditEntry(_ revision: String?) -> (PlanStep) -> AuditEntry {
        { step in
            var detail: [String: JSONValue] = ["cause": .string(step.cause.rawValue)]
            if step.action == .update {
                detail["fields"] = .array(step.changes.map { .string($0.path) })
            }
            return AuditEntry(action: step.action.rawValue, object: step.id.description, revision: revision, detail: .object(detail))
        }
    }

    /// Inventory rows for desired objects that needed no registry change
    /// but whose inventory entry is missing or stale. Bookkeeping only:
    /// nothing in `platform` is written.
    private func syncInventory(_ plan: Plan, desired: [DesiredObject], inventory: [InventoryEntry],
                               failed: Set<ObjectID>) async throws -> Int {
        var known: [ObjectID: InventoryEntry] = [:]
        for e in inventory { known[e.id] = e }
        let stepped = Set(plan.steps.map(\.id))
        let stale = desired.filter { d in
            guard !stepped.contains(d.id), !failed.contains(d.id) else { return false }
            guard let e = known[d.id] else { return true }
            return e.retained || e.manifestHash != d.manifestHash || e.recordHash != d.recordHash
                || e.blobID != d.blobID || e.sourcePath != d.sourcePath
        }
        var start = 0
        while start < stale.count {
            let batch = Array(stale[start..<min(start + Self.batchSize, stale.count)])
            start += Self.batchSize
            try await session.transaction { try await InventoryWriter.record(batch, revision: revision, session) }
        }
        return stale.count
    }
}
