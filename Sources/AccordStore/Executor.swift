import AccordCore
import AccordEngine
import Foundation

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
        /// Tenant data keys created, as `Tenant/name` → key version.
        public var keysCreated: [String: Int] = [:]
        /// Steps not reached because a stop was asked for (shutdown): each
        /// is untouched, left for the next pass.
        public var interrupted: [PlanStep] = []

        /// Every step was either applied or skipped as in sync: nothing
        /// failed and nothing was left for later.
        public var isComplete: Bool { failed.isEmpty && interrupted.isEmpty }
    }

    /// Objects per transaction. Tenants go in smaller batches, and at most
    /// `schemaTenantsPerBatch` of them with their own schema: each of those
    /// creates 37 relations, every one locked until commit, and the
    /// server's lock table is shared and bounded (64 per connection by
    /// default).
    public static let batchSize = 2_000
    public static let tenantBatchSize = 200
    public static let schemaTenantsPerBatch = 20

    /// The steps of one group cut into transactions.
    static func batches(_ steps: [PlanStep]) -> [[PlanStep]] {
        guard let kind = steps.first?.id.kind else { return [] }
        guard kind == .tenant else {
            return stride(from: 0, to: steps.count, by: batchSize).map { Array(steps[$0..<min($0 + batchSize, steps.count)]) }
        }
        var out: [[PlanStep]] = []
        var current: [PlanStep] = []
        var schemas = 0
        for step in steps {
            let ownSchema = step.desired?.record["isolation"] == .string("schema")
            if current.count == tenantBatchSize || (ownSchema && schemas == schemaTenantsPerBatch) {
                out.append(current)
                current = []
                schemas = 0
            }
            current.append(step)
            if ownSchema { schemas += 1 }
        }
        if !current.isEmpty { out.append(current) }
        return out
    }

    let session: Session
    let revision: String?
    var audit: AuditChain
    /// Wraps new tenant data keys; nil when none is configured.
    let kek: KeyEncryptionKey?
    let now: Date
    /// Asked before each transaction: true stops the run there (the
    /// transaction in hand has committed; no object is left half-applied).
    var shouldStop: @Sendable () -> Bool = { false }
    /// Set when a step created, moved or dropped store tables.
    private(set) var storesChanged = false
    /// Objects known to have an inventory entry, when the run was given the
    /// whole inventory (a full pass): the others get theirs by a plain COPY
    /// instead of a merge. nil: every entry is merged.
    private var recorded: Set<ObjectID>?
    /// Objects with a recorded failure (`accord.object_status`) when the
    /// run began: a new inventory entry clears only those.
    private var failing: Set<ObjectID> = []

    public init(session: Session, revision: String?, audit: AuditChain, kek: KeyEncryptionKey? = nil, now: Date = Date()) {
        self.session = session
        self.revision = revision
        self.audit = audit
        self.kek = kek
        self.now = now
    }

    public var auditHead: AuditChain { audit }

    /// The fast-path marker to record after this run: the one read before
    /// it, with the store digest read again when the run changed stores.
    func marker(after before: FastPath.Marker) async throws -> FastPath.Marker {
        guard storesChanged else { return before }
        return FastPath.Marker(writes: before.writes, stores: try await TenantStores.catalogDigest(session))
    }

    /// Runs every step, then brings the inventory up to date for desired
    /// objects whose rows already matched (adopted, moved, or re-hashed).
    public mutating func run(_ plan: Plan, desired: [DesiredObject], inventory: [InventoryEntry],
                             inventoryIsComplete: Bool = false) async throws -> Outcome {
        var outcome = Outcome()
        recorded = inventoryIsComplete ? Set(inventory.map(\.id)) : nil
        failing = try await InventoryWriter.failing(session)
        var failedIDs = Set<ObjectID>()
        let groups = Self.groups(plan.steps)
        groupLoop: for (g, group) in groups.enumerated() {
            var ready: [PlanStep] = []
            var waiting: [(PlanStep, ObjectFailure)] = []
            /// Applied as planned, and still reported (a blocked promotion).
            var held: [(PlanStep, ObjectFailure)] = []
            for step in group {
                if !failedIDs.isEmpty, let blocker = Self.dependencies(step).first(where: failedIDs.contains) {
                    waiting.append((step, ObjectFailure(id: step.id, action: step.action, reason: .dependencyNotReady,
                                                        message: "\(blocker) was not applied", stalled: false)))
                } else if let stall = step.desired?.stall {
                    let failure = ObjectFailure(id: step.id, action: step.action,
                                                reason: FailureReason(rawValue: stall.reason) ?? .applyFailed,
                                                message: stall.message, stalled: true, detail: stall.detail)
                    if stall.appliesRest {
                        if step.action == .create || !step.changes.isEmpty { ready.append(step) }
                        held.append((step, failure))
                    } else {
                        waiting.append((step, failure))
                    }
                } else {
                    ready.append(step)
                }
            }
            var newKeys: [String: Int] = [:]
            if group.first?.id.kind == .tenant, group.first?.action == .create || group.first?.action == .update {
                (ready, newKeys) = try await keyVersions(ready, &waiting)
            }
            for (step, failure) in waiting {
                try await recordFailure(failure, step)
                outcome.failed.append(failure)
                if Self.blocksDependents(step) { failedIDs.insert(step.id) }
            }
            // Each batch's client-side work (rows, COPY text, keys, audit
            // entries sealed on the chain as the previous batch leaves it)
            // is done while the previous batch's transaction runs; a batch
            // sent after a failure, or whose audit details turned out
            // different, is sealed again on the chain as it really stands.
            let batches = Self.batches(ready)
            var next: Task<Prepared, Error>?
            defer { next?.cancel() }
            for (i, batch) in batches.enumerated() {
                if shouldStop() {
                    outcome.interrupted += batches[i...].joined()
                    outcome.interrupted += groups[(g + 1)...].joined()
                    break groupLoop
                }
                let prepared: Prepared
                if let pending = next {
                    prepared = try await pending.value
                } else {
                    prepared = try prepare(batch, newKeys: newKeys, after: audit)
                }
                next = nil
                if i + 1 < batches.count {
                    let context = PrepareContext(self, chain: prepared.chainAfter)
                    let following = batches[i + 1], fresh = freshEntries(batches[i + 1])
                    next = Task.detached { [newKeys] in try context.prepare(following, newKeys: newKeys, fresh: fresh) }
                }
                do {
                    try await send(prepared, &outcome)
                    outcome.applied += batch
                } catch let error as SQLFailure where batch.count > 1 && !Self.isConnectionLost(error) {
                    for step in batch {
                        do {
                            try await send(prepare([step], newKeys: newKeys, after: audit), &outcome)
                            outcome.applied.append(step)
                        } catch let error as SQLFailure where !Self.isConnectionLost(error) {
                            try await fail(step, error, &outcome, &failedIDs)
                        }
                    }
                } catch let error as SQLFailure where !Self.isConnectionLost(error) {
                    try await fail(batch[0], error, &outcome, &failedIDs)
                }
            }
            for (step, failure) in held where !failedIDs.contains(step.id) {
                try await recordFailure(failure, step)
                outcome.failed.append(failure)
            }
        }
        if outcome.interrupted.isEmpty {
            outcome.bookkeeping = try await syncInventory(plan, desired: desired, inventory: inventory, failed: failedIDs)
        }
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

    /// Tenants being created or updated that have no active data key get
    /// one in the same transaction (version = the next one); without a KEK
    /// they are stalled instead, and the others go on.
    private func keyVersions(_ steps: [PlanStep], _ waiting: inout [(PlanStep, ObjectFailure)]) async throws
        -> ([PlanStep], [String: Int]) {
        let versions = try await TenantKeys.versions(of: steps.map(\.id.name), session)
        var ready: [PlanStep] = []
        var newKeys: [String: Int] = [:]
        for step in steps {
            let known = versions[step.id.name]
            if known?.active == true {
                ready.append(step)
            } else if kek == nil {
                waiting.append((step, ObjectFailure(
                    id: step.id, action: step.action, reason: .keyEncryptionKeyMissing,
                    message: "no key-encryption key is configured (ACCORD_KEK_FILE or --kek-file), so the tenant's data key cannot be created; the tenant is not onboarded until one is",
                    stalled: true)))
            } else {
                newKeys[step.id.name] = (known?.latest ?? 0) + 1
                ready.append(step)
            }
        }
        return (ready, newKeys)
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

    /// Objects that refer to an object not applied are skipped, except
    /// that a model already live never holds its workers back: they
    /// resolve against its live production version.
    static func blocksDependents(_ step: PlanStep) -> Bool {
        !(step.id.kind == .model && step.action == .update)
    }

    static func isConnectionLost(_ error: SQLFailure) -> Bool {
        error.isConnectionLost || error.sqlState?.hasPrefix("57") == true
    }

    /// What preparing a batch needs from the executor, copied so that it
    /// can run beside the executor's transaction.
    struct PrepareContext: Sendable {
        let revision: String?
        let kek: KeyEncryptionKey?
        let chain: AuditChain
        let failing: Set<ObjectID>

        init(_ executor: Executor, chain: AuditChain) {
            revision = executor.revision
            kek = executor.kek
            failing = executor.failing
            self.chain = chain
        }

        func prepare(_ batch: [PlanStep], newKeys: [String: Int], fresh: [Bool]) throws -> Prepared {
            let keys = try batch.compactMap { step -> TenantKeys.NewKey? in
                guard let version = newKeys[step.id.name], let kek else { return nil }
                return try TenantKeys.generate(tenant: step.id.name, version: version, kek: kek)
            }
            let registry = RegistryWriter.Prepared(batch[0].id.kind, batch[0].action, batch)
            let details = Executor.details(registry.knownDetails, keys)
            var newEntries: [DesiredObject] = [], knownEntries: [DesiredObject] = []
            for (step, isFresh) in zip(batch, fresh) {
                guard let d = step.desired else { continue }
                if isFresh { newEntries.append(d) } else { knownEntries.append(d) }
            }
            let sealed = chain.seal(batch.map { Executor.auditEntry(revision, $0, details[$0.id] ?? [:]) })
            return Prepared(batch: batch, registry: registry, keys: keys,
                            newEntries: InventoryWriter.NewEntries(newEntries, revision: revision, failing: failing),
                            knownEntries: knownEntries,
                            details: details, sealed: sealed, sealedOn: chain)
        }
    }

    /// A batch with everything computed that does not need the database.
    struct Prepared: Sendable {
        let batch: [PlanStep]
        let registry: RegistryWriter.Prepared
        let keys: [TenantKeys.NewKey]
        /// Objects without an inventory entry (a plain COPY) and with one (a merge).
        let newEntries: InventoryWriter.NewEntries
        let knownEntries: [DesiredObject]
        /// The audit details the entries were sealed with.
        let details: [ObjectID: [String: JSONValue]]
        /// The audit entries, sealed on the chain as it stood at `sealedOn`.
        let sealed: AuditChain.Sealed
        let sealedOn: AuditChain

        /// The chain as it stands once this batch commits.
        var chainAfter: AuditChain {
            var chain = sealedOn
            chain.advance(to: sealed.head)
            return chain
        }
    }

    /// A write's audit details with each new data key's id and version.
    static func details(_ details: [ObjectID: [String: JSONValue]], _ keys: [TenantKeys.NewKey]) -> [ObjectID: [String: JSONValue]] {
        var out = details
        for k in keys {
            out[ObjectID(kind: .tenant, name: k.tenant), default: [:]]["dataKey"] =
                .object(["keyId": .string(k.keyID), "version": JSONValue(k.version)])
        }
        return out
    }

    /// Which of a batch's objects have no inventory entry yet (a full pass
    /// knows the whole inventory); each step in order.
    private func freshEntries(_ batch: [PlanStep]) -> [Bool] {
        batch.map { step in recorded.map { !$0.contains(step.id) } ?? false }
    }

    /// A batch prepared on the chain as it stands now.
    private func prepare(_ batch: [PlanStep], newKeys: [String: Int], after chain: AuditChain) throws -> Prepared {
        try PrepareContext(self, chain: chain).prepare(batch, newKeys: newKeys, fresh: freshEntries(batch))
    }

    /// One transaction: the batch's registry rows and what comes with them
    /// (stores, keys), inventory, and audit entries that say what was done.
    private mutating func send(_ prepared: Prepared, _ outcome: inout Outcome) async throws {
        let batch = prepared.batch
        let first = batch[0]
        let session = self.session
        let revision = self.revision
        let chain = self.audit
        let now = self.now
        let (sealed, effects) = try await session.transaction(asApplier: true) {
            let effects = try await RegistryWriter.write(prepared.registry, session)
            try await TenantKeys.insert(prepared.keys, now: now, session)
            switch first.action {
            case .create, .update:
                if first.id.kind == .model { try await ModelRegistry.record(batch.compactMap(\.desired), revision: revision, session) }
                try await InventoryWriter.insert(prepared.newEntries, session)
                try await InventoryWriter.record(prepared.knownEntries, revision: revision, session)
            case .delete: try await InventoryWriter.forget(batch.map(\.id), session)
            case .retain: try await InventoryWriter.markRetained(batch.map(\.id), session)
            }
            let details = Self.details(effects.details, prepared.keys)
            let sealed: AuditChain.Sealed
            if prepared.sealedOn.seq == chain.seq, prepared.sealedOn.hash == chain.hash, details == prepared.details {
                sealed = prepared.sealed
            } else {
                sealed = chain.seal(batch.map { Self.auditEntry(revision, $0, details[$0.id] ?? [:]) })
            }
            try await AuditChain.write(sealed, session)
            return (sealed, effects)
        }
        audit.advance(to: sealed.head)
        switch first.action {
        case .create, .update: for step in batch { recorded?.insert(step.id) }
        case .delete: for step in batch { recorded?.remove(step.id) }
        case .retain: break
        }
        if effects.storesChanged { storesChanged = true }
        for k in prepared.keys { outcome.keysCreated["Tenant/\(k.tenant)"] = k.version }
    }

    /// Records why a step was not applied; the audit log gets an entry
    /// only when the reason is new, so a pass that finds the same object
    /// stalled again adds nothing.
    private mutating func recordFailure(_ failure: ObjectFailure, _ step: PlanStep) async throws {
        audit = try await InventoryWriter.recordFailure(failure, action: step.action.rawValue, manifestHash: step.desired?.manifestHash,
                                                        revision: revision, audit: audit, session)
    }

    /// `detail` adds what the step did beyond its rows (stores, keys, rows moved).
    static func auditEntry(_ revision: String?, _ step: PlanStep, _ extra: [String: JSONValue]) -> AuditEntry {
        var detail: [String: JSONValue] = ["cause": .string(step.cause.rawValue)]
        if step.action == .update {
            detail["fields"] = .array(step.changes.map { .string($0.path) })
        }
        detail.merge(extra) { $1 }
        if let desired = step.desired { detail.merge(desired.auditDetail) { $1 } }
        return AuditEntry(action: step.action.rawValue, object: step.id.description, revision: revision, detail: .object(detail))
    }

    /// Inventory rows for desired objects that needed no registry change
    /// but whose inventory entry is missing or stale. Bookkeeping only:
    /// nothing in `platform` is written.
    private func syncInventory(_ plan: Plan, desired: [DesiredObject], inventory: [InventoryEntry],
                               failed: Set<ObjectID>) async throws -> Int {
        // Every desired object had a step (a first apply): nothing else to bring up to date.
        if plan.steps.reduce(0, { $0 + ($1.desired == nil ? 0 : 1) }) == desired.count { return 0 }
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
