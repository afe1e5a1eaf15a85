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
        /// Batches committed on the second connection (`lane`), and batches
        /// it failed that went again on the main one.
        public var laneBatches = 0
        public var laneRedone = 0

        /// Every step was either applied or skipped as in sync: nothing
        /// failed and nothing was left for later.
        public var isComplete: Bool { failed.isEmpty && interrupted.isEmpty }

        public init() {}
    }

    let session: Session
    let revision: String?
    var audit: AuditChain
    /// Wraps new tenant data keys; nil when none is configured.
    let kek: KeyEncryptionKey?
    let now: Date
    /// Asked before each transaction: true stops the run there (the
    /// transaction in hand has committed; no object is left half-applied).
    public var shouldStop: @Sendable () -> Bool = { false }
    /// Told after each transaction: the steps done (applied or failed) of all.
    public var progress: @Sendable (_ done: Int, _ total: Int) -> Void = { _, _ in }
    /// A second session on the same database: batches of a kind other than
    /// Tenant then go two at a time, one on each connection (`sendPair`).
    /// nil: one batch at a time.
    public var lane: Session?
    /// Set when a step created, moved or dropped store tables.
    private(set) var storesChanged = false
    /// Objects known to have an inventory entry, when the run was given the
    /// whole inventory (a full pass): the others get theirs by a plain COPY
    /// instead of a merge. nil: every entry is merged. As the run began: a
    /// plan holds one step per object (`Planner`), so what a batch writes
    /// never changes another step's answer.
    private var recorded: Set<ObjectID>?
    /// Batches committed so far, by kind (for `FaultPoint.batchCommitted`).
    private var committedBatches: [Kind: Int] = [:]
    /// Objects with a recorded failure (`accord.object_status`) when the
    /// run began: a new inventory entry clears only those.
    private var failing: Set<ObjectID> = []
    /// The registry's view of the tenants the plan updates, deletes or
    /// keeps: where their data is (`TenantRows.Live`).
    private var tenantsLive: [String: TenantRows.Live] = [:]

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
    public func marker(after before: FastPath.Marker) async throws -> FastPath.Marker {
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
        tenantsLive = try await TenantRows.live(plan.steps.filter { $0.id.kind == .tenant && $0.action != .create }.map(\.id.name), session)
        var failedIDs = Set<ObjectID>()
        let groups = ExecutionOrder.groups(plan.steps)
        groupLoop: for (g, group) in groups.enumerated() {
            var triage = ExecutionOrder.triage(group, failed: failedIDs)
            var newKeys: [String: Int] = [:]
            // Tenants moving to another region (migrate-region): their data first, so the
            // key check and the batch find it in the new region.
            if session.regions != nil, group.first?.id.kind == .tenant, group.first?.action == .update {
                var kept: [PlanStep] = []
                for step in triage.ready {
                    guard let to = region(of: step), let live = tenantsLive[step.id.name], let from = live.region, from != to else {
                        kept.append(step)
                        continue
                    }
                    do {
                        _ = try await RegionMove.move(tenant: step.id.name, from: from, to: to, isolation: live.isolation, session)
                        kept.append(step)
                    } catch let down as RegionUnavailable {
                        triage.waiting.append((step, Self.unavailable(step, down)))
                    } catch {
                        triage.waiting.append((step, ObjectFailure(id: step.id, action: step.action, reason: .applyFailed,
                                                                   message: "moving its data from \(from.rawValue) to \(to.rawValue): \(error)",
                                                                   disposition: .retry)))
                    }
                }
                triage.ready = kept
            }
            if ExecutionOrder.needsDataKeys(group) {
                let read = try await TenantKeys.versions(of: triage.ready.map { ($0.id.name, region(of: $0)) }, session)
                triage.waiting += triage.ready.compactMap { step in
                    read.unavailable[step.id.name].map { (step, Self.unavailable(step, $0)) }
                }
                let keyed = ExecutionOrder.dataKeys(triage.ready.filter { read.unavailable[$0.id.name] == nil },
                                                    known: read.known, hasKEK: kek != nil)
                triage.ready = keyed.ready
                triage.waiting += keyed.waiting
                newKeys = keyed.newKeys
            }
            for deferred in triage.waiting {
                try await recordFailure(deferred.failure, deferred.step)
                outcome.failed.append(deferred.failure)
                if ExecutionOrder.blocksDependents(deferred.step) { failedIDs.insert(deferred.step.id) }
            }
            // Each batch's client-side work (rows, COPY text, keys, audit
            // entries sealed on the chain as the previous batch leaves it)
            // is done while the previous batch's transaction runs; a batch
            // sent after a failure, or whose audit details turned out
            // different, is sealed again on the chain as it really stands.
            // With regions, a tenant batch holds one region's tenants: its data goes to one database.
            let batches = ExecutionOrder.batches(triage.ready, placedBy: session.regions == nil ? nil : { [self] in region(of: $0)?.rawValue })
            // Two at a time when a second session is open: not tenants (their
            // keys and store DDL), and not into regions' databases.
            let width = lane != nil && session.regions == nil && group.first?.id.kind != .tenant ? 2 : 1
            var next: Task<[Prepared], Error>?
            defer { next?.cancel() }
            var i = 0
            while i < batches.count {
                if shouldStop() {
                    outcome.interrupted += batches[i...].joined()
                    outcome.interrupted += groups[(g + 1)...].joined()
                    break groupLoop
                }
                let round = Array(batches[i..<min(i + width, batches.count)])
                let prepared: [Prepared]
                if let pending = next {
                    prepared = try await pending.value
                } else {
                    prepared = try PrepareContext(self, chain: audit).prepare(round, newKeys: newKeys, fresh: round.map(freshEntries))
                }
                next = nil
                let following = Array(batches[(i + round.count)..<min(i + round.count + width, batches.count)])
                if !following.isEmpty {
                    let context = PrepareContext(self, chain: prepared[prepared.count - 1].chainAfter)
                    let fresh = following.map(freshEntries)
                    next = Task { [newKeys] in
                        try await OffPool.run("accord.executor.prepare") { try context.prepare(following, newKeys: newKeys, fresh: fresh) }
                    }
                }
                if prepared.count == 2, let lane {
                    try await sendPair(prepared[0], prepared[1], lane: lane, newKeys: newKeys, total: plan.steps.count,
                                       &outcome, &failedIDs)
                } else {
                    for one in prepared {
                        try await sendOrRetry(one, newKeys: newKeys, total: plan.steps.count, &outcome, &failedIDs)
                    }
                }
                i += round.count
            }
            for deferred in triage.held where !failedIDs.contains(deferred.step.id) {
                try await recordFailure(deferred.failure, deferred.step)
                outcome.failed.append(deferred.failure)
            }
        }
        if outcome.interrupted.isEmpty {
            outcome.bookkeeping = try await syncInventory(plan, desired: desired, inventory: inventory, failed: failedIDs)
            if session.regions != nil { try await InventoryWriter.clearRegionUnavailable(except: failedIDs, session) }
        }
        return outcome
    }

    /// The region a tenant step's data goes to: the desired one, else
    /// (a delete, a kept tenant) the registry's.
    func region(of step: PlanStep) -> Region? {
        guard step.id.kind == .tenant else { return nil }
        if let desired = step.desired?.record["region"].stringValue { return Region(rawValue: desired) }
        return tenantsLive[step.id.name]?.region
    }

    static func unavailable(_ step: PlanStep, _ down: RegionUnavailable) -> ObjectFailure {
        ObjectFailure(id: step.id, action: step.action, reason: .regionUnavailable,
                      message: "\(down); retried with backoff, and every other region's objects go on")
    }

    /// Records a step the database refused.
    private mutating func fail(_ step: PlanStep, _ error: SQLFailure, _ outcome: inout Outcome,
                               _ failedIDs: inout Set<ObjectID>) async throws {
        let failure = ObjectFailure(id: step.id, action: step.action, reason: .applyFailed,
                                    message: error.description, disposition: error.isPermanent ? .stalled : .retry)
        try await recordFailure(failure, step)
        outcome.failed.append(failure)
        failedIDs.insert(step.id)
    }

    /// What preparing a batch needs from the executor, copied so that it
    /// can run beside the executor's transaction.
    struct PrepareContext: Sendable {
        let revision: String?
        let kek: KeyEncryptionKey?
        var chain: AuditChain
        let failing: Set<ObjectID>
        let placed: Bool

        init(_ executor: Executor, chain: AuditChain) {
            revision = executor.revision
            kek = executor.kek
            failing = executor.failing
            placed = executor.session.regions != nil
            self.chain = chain
        }

        /// Batches in the order they go, each sealed on the chain the one before leaves.
        func prepare(_ batches: [[PlanStep]], newKeys: [String: Int], fresh: [[Bool]]) throws -> [Prepared] {
            var out: [Prepared] = []
            var context = self
            for (batch, fresh) in zip(batches, fresh) {
                let prepared = try context.prepare(batch, newKeys: newKeys, fresh: fresh)
                out.append(prepared)
                context.chain = prepared.chainAfter
            }
            return out
        }

        func prepare(_ batch: [PlanStep], newKeys: [String: Int], fresh: [Bool]) throws -> Prepared {
            let keys = try batch.compactMap { step -> TenantKeys.NewKey? in
                guard let version = newKeys[step.id.name], let kek else { return nil }
                return try TenantKeys.generate(tenant: step.id.name, version: version, kek: kek)
            }
            let registry = KindRowsTable.of(batch[0].id.kind).prepare(batch[0].action, batch)
            let details = Executor.details(registry.knownDetails, keys)
            var newEntries: [DesiredObject] = [], knownEntries: [DesiredObject] = []
            for (step, isFresh) in zip(batch, fresh) {
                guard let d = step.desired else { continue }
                if isFresh { newEntries.append(d) } else { knownEntries.append(d) }
            }
            let sealed = chain.seal(batch.map { Executor.auditEntry(revision, $0, details[$0.id] ?? [:]) })
            return Prepared(batch: batch, registry: registry, keys: keys,
                            newEntries: InventoryWriter.NewEntries(newEntries, revision: revision, placed: placed, failing: failing),
                            knownEntries: knownEntries,
                            details: details, sealed: sealed, sealedOn: chain)
        }
    }

    /// A batch with everything computed that does not need the database.
    struct Prepared: Sendable {
        let batch: [PlanStep]
        let registry: RowBatch
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
        Self.details(details, Dictionary(keys.map { ($0.tenant, ($0.version, $0.keyID)) }, uniquingKeysWith: { a, _ in a }))
    }

    /// A write's audit details with the data key (version and id) each tenant has.
    static func details(_ details: [ObjectID: [String: JSONValue]], _ keys: [String: (version: Int, keyID: String)]) -> [ObjectID: [String: JSONValue]] {
        var out = details
        for (tenant, k) in keys {
            out[ObjectID(kind: .tenant, name: tenant), default: [:]]["dataKey"] =
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

    /// A batch in its own transaction on the main session; a batch the
    /// database refuses is retried one object per transaction, and the
    /// objects it still refuses are recorded as failed.
    private mutating func sendOrRetry(_ prepared: Prepared, newKeys: [String: Int], total: Int,
                                      _ outcome: inout Outcome, _ failedIDs: inout Set<ObjectID>) async throws {
        let batch = prepared.batch
        defer { progress(outcome.applied.count + outcome.failed.count, total) }
        do {
            try await send(prepared, &outcome)
            outcome.applied += batch
        } catch let error as SQLFailure where batch.count > 1 && !error.isConnectionLost {
            for step in batch {
                do {
                    try await send(prepare([step], newKeys: newKeys, after: audit), &outcome)
                    outcome.applied.append(step)
                } catch let error as SQLFailure where !error.isConnectionLost {
                    try await fail(step, error, &outcome, &failedIDs)
                }
            }
        } catch let error as SQLFailure where !error.isConnectionLost {
            try await fail(batch[0], error, &outcome, &failedIDs)
        } catch let down as RegionUnavailable {
            // The region's database did not answer: its tenants wait for the next pass; the others go on.
            for step in batch {
                let failure = Self.unavailable(step, down)
                try await recordFailure(failure, step)
                outcome.failed.append(failure)
                failedIDs.insert(step.id)
            }
        }
    }

    /// Two batches of one group at once: the first on the main session as
    /// `sendOrRetry` sends it, the second on the lane. The second writes its
    /// rows, inventory and audit entries (sealed on the head the first will
    /// leave) beside the first, then waits in its open transaction for the
    /// first to be done (committed, or refused and retried); if the first
    /// left the head elsewhere, its entries are rolled back to a savepoint
    /// and sealed again on the head as it stands. It then moves the head
    /// and commits: the audit log and the fault points see the batches in
    /// order, as one session would write them. If the lane's transaction fails,
    /// or waits longer than `turnTimeout` (a lock the two could hold
    /// against each other), it is rolled back and the batch goes again on
    /// the main session, where a refusal is retried object by object.
    private mutating func sendPair(_ first: Prepared, _ second: Prepared, lane: Session, newKeys: [String: Int], total: Int,
                                   _ outcome: inout Outcome, _ failedIDs: inout Set<ObjectID>) async throws {
        let turn = AuditTurn()
        let writer = self
        let laneTask = Task { try await writer.write(second, on: lane, ahead: true, chain: { try await turn.wait() }) }
        let timer = Task { [timeout = Self.turnTimeout] in
            guard (try? await Task.sleep(for: timeout)) != nil else { return }  // cancelled: the pair is done
            await turn.expire()
        }
        defer { timer.cancel() }
        do {
            try await sendOrRetry(first, newKeys: newKeys, total: total, &outcome, &failedIDs)
        } catch {
            await turn.expire()
            _ = await laneTask.result
            throw error
        }
        await turn.open(audit)
        switch await laneTask.result {
        case .success(let written):
            commit(written, second, &outcome)
            outcome.applied += second.batch
            outcome.laneBatches += 1
            progress(outcome.applied.count + outcome.failed.count, total)
        case .failure(let error):
            // A lost lane (its transaction with it) is not used again: the rest go on the main session.
            if (error as? SQLFailure)?.isConnectionLost == true { self.lane = nil }
            outcome.laneRedone += 1
            try await sendOrRetry(prepare(second.batch, newKeys: newKeys, after: audit), newKeys: newKeys, total: total,
                                  &outcome, &failedIDs)
        }
    }

    /// How long the lane's batch waits for the batch before it.
    static let turnTimeout: Duration = .seconds(60)

    /// One transaction on the main session, and what it changed recorded.
    private mutating func send(_ prepared: Prepared, _ outcome: inout Outcome) async throws {
        let chain = audit
        commit(try await write(prepared, on: session, chain: { chain }), prepared, &outcome)
    }

    /// What a batch's transaction wrote.
    struct Written: Sendable {
        let sealed: AuditChain.Sealed
        let effects: RowEffects
    }

    /// One transaction on `session`: the batch's registry rows and what
    /// comes with them (stores, keys), inventory, and audit entries that say
    /// what was done, sealed on the head `chain` gives once the rows are in
    /// (`ahead`: the entries as prepared are written before that wait, as
    /// `sendPair` says).
    private func write(_ prepared: Prepared, on session: Session, ahead: Bool = false,
                       chain: @escaping @Sendable () async throws -> AuditChain) async throws -> Written {
        let batch = prepared.batch
        let first = batch[0]
        let revision = self.revision
        let now = self.now
        let live = tenantsLive
        let region = region(of: first)
        if first.id.kind == .tenant, region == nil, session.regions != nil {
            throw SQLFailure(sqlState: nil, message: "\(first.id) has no region with a database", detail: nil)
        }
        // With a regions file, a tenant batch's keys: those written, and
        // for new tenants the one they have (a retry after the registry's
        // transaction did not follow finds it written before).
        let keyed = Set(prepared.keys.map(\.tenant) + (session.regions != nil && first.action == .create ? batch.map(\.id.name) : []))
        let (sealed, effects) = try await session.dataThenControl(region, asApplier: true, data: { data -> TenantData in
            guard first.id.kind == .tenant else { return TenantData() }
            let effects = try await TenantRows.writeData(prepared.registry, live: live, data)
            let inserted = try await TenantKeys.insert(prepared.keys, now: now, data)
            if !prepared.keys.isEmpty { FaultPoint.keyWritten.reach() }
            // A key just inserted is its tenant's active one; only the others are read.
            let active = try await TenantKeys.active(of: keyed.subtracting(inserted.keys).sorted(), data)
            return TenantData(effects: effects, keys: inserted.merging(active) { $1 })
        }, control: { written in
            var effects = try await KindRowsTable.write(prepared.registry, RowWrite(session: session, revision: revision))
            effects.merge(written.effects)
            switch first.action {
            case .create, .update:
                try await InventoryWriter.insert(prepared.newEntries, session)
                try await InventoryWriter.record(prepared.knownEntries, revision: revision, placed: session.regions != nil, session)
            case .delete: try await InventoryWriter.forget(batch.map(\.id), session)
            case .retain: try await InventoryWriter.markRetained(batch.map(\.id), session)
            }
            let details = Self.details(effects.details, written.keys.filter { keyed.contains($0.key) })
            // Ahead (the second connection): the entries as prepared go in
            // before the wait for the batch before, behind a savepoint; if
            // that batch left the chain elsewhere (refused, retried object by
            // object), they are rolled back and sealed again. Only the head
            // and the events wait: the head is one row both would update.
            let wroteAhead = ahead && details == prepared.details
            if wroteAhead {
                try await session.execute("SAVEPOINT entries_ahead")
                try await AuditChain.writeEntries(prepared.sealed, session)
            }
            let chain = try await chain()
            let sealed: AuditChain.Sealed
            if prepared.sealedOn.seq == chain.seq, prepared.sealedOn.hash == chain.hash, details == prepared.details {
                sealed = prepared.sealed
                if wroteAhead {
                    try await AuditChain.writeHead(sealed, session)
                    return (sealed, effects)
                }
            } else {
                if wroteAhead { try await session.execute("ROLLBACK TO SAVEPOINT entries_ahead") }
                sealed = chain.seal(batch.map { Self.auditEntry(revision, $0, details[$0.id] ?? [:]) })
            }
            try await AuditChain.write(sealed, session)
            return (sealed, effects)
        })
        return Written(sealed: sealed, effects: effects)
    }

    /// Records a committed batch: the audit head, the fault point, the
    /// inventory known, stores changed, keys created.
    private mutating func commit(_ written: Written, _ prepared: Prepared, _ outcome: inout Outcome) {
        let batch = prepared.batch
        let first = batch[0]
        audit.advance(to: written.sealed.head)
        committedBatches[first.id.kind, default: 0] += 1
        FaultPoint.batchCommitted.reach("\(first.id.kind.rawValue):\(committedBatches[first.id.kind]!)")
        if written.effects.storesChanged { storesChanged = true }
        for k in prepared.keys { outcome.keysCreated["Tenant/\(k.tenant)"] = k.version }
    }

    /// What a tenant batch wrote to its data database.
    struct TenantData: Sendable {
        var effects = RowEffects()
        var keys: [String: (version: Int, keyID: String)] = [:]
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
        return AuditEntry(action: step.action.rawValue, object: step.id.description, revision: revision, detail: .object(detail),
                          events: events(revision, step))
    }

    /// What a step tells notifications: a tenant onboarded or suspended, a
    /// model promoted, an outside change reverted.
    static func events(_ revision: String?, _ step: PlanStep) -> [OutboxEvent] {
        var out: [OutboxEvent] = []
        let id = step.id
        let record = step.desired?.record
        if id.kind == .tenant, step.action == .create {
            let region = record?["region"].stringValue.map { " in region \($0)" } ?? ""
            out.append(OutboxEvent(.tenantOnboarded, id, revision: revision, message: "\(id) onboarded\(region)"))
        }
        if id.kind == .tenant, step.action == .update,
           step.changes.contains(where: { $0.path == "status" && $0.new == .string("suspended") }) {
            out.append(OutboxEvent(.tenantSuspended, id, revision: revision, message: "\(id) suspended: its workers are stopped"))
        }
        if id.kind == .model, case .object(let move)? = step.desired?.auditDetail["promotion"], move["outcome"] != .string("withdrawal") {
            let to = move["to"]?.stringValue ?? "none"
            let from = move["from"]?.stringValue.map { " (from \($0))" } ?? ""
            out.append(OutboxEvent(.modelPromoted, id, revision: revision, message: "\(id): version \(to) promoted to production\(from)",
                                   detail: ["promotion": .object(move)]))
        }
        if step.cause == .drift {
            let fields = step.changes.map(\.path)
            let what = step.action == .create ? "re-created after it was deleted outside Accord"
                : step.action == .delete ? "removed after it was re-created outside Accord"
                : "reverted an outside change to \(fields.isEmpty ? "its row" : fields.joined(separator: ", "))"
            out.append(OutboxEvent(.driftReverted, id, revision: revision, message: "\(id): \(what)",
                                   detail: ["fields": JSONValue(strings: fields)]))
        }
        return out
    }

    /// Inventory rows for desired objects that needed no registry change
    /// but whose inventory entry is missing or stale. Bookkeeping only:
    /// nothing in `platform` is written.
    private func syncInventory(_ plan: Plan, desired: [DesiredObject], inventory: [InventoryEntry],
                               failed: Set<ObjectID>) async throws -> Int {
        // Every desired object had a step (a first apply): nothing else to bring up to date.
        if plan.steps.reduce(0, { $0 + ($1.desired == nil ? 0 : 1) }) == desired.count { return 0 }
        let placed = session.regions != nil
        var known: [ObjectID: InventoryEntry] = [:]
        for e in inventory { known[e.id] = e }
        let stepped = Set(plan.steps.map(\.id))
        let stale = desired.filter { d in
            guard !stepped.contains(d.id), !failed.contains(d.id) else { return false }
            guard let e = known[d.id] else { return true }
            return e.retained || e.manifestHash != d.manifestHash || e.recordHash != d.recordHash
                || e.blobID != d.blobID || e.sourcePath != d.sourcePath || e.database != InventoryWriter.database(d, placed: placed)
        }
        for batch in ExecutionOrder.chunks(stale, of: ExecutionOrder.batchSize) {
            try await session.transaction { try await InventoryWriter.record(batch, revision: revision, placed: placed, session) }
        }
        return stale.count
    }
}

/// The audit head the batch before leaves, handed to the batch on the
/// lane once that batch is done; or the lane's wait given up (`expire`),
/// after which its transaction rolls back and the batch goes again on the
/// main session.
actor AuditTurn {
    struct Expired: Error, CustomStringConvertible {
        var description: String { "the batch before did not finish in time" }
    }

    private var head: AuditChain?
    private var expired = false
    private var waiter: CheckedContinuation<AuditChain, Error>?

    func open(_ chain: AuditChain) {
        guard head == nil, !expired else { return }
        head = chain
        waiter?.resume(returning: chain)
        waiter = nil
    }

    func expire() {
        guard head == nil, !expired else { return }
        expired = true
        waiter?.resume(throwing: Expired())
        waiter = nil
    }

    func wait() async throws -> AuditChain {
        if let head { return head }
        if expired { throw Expired() }
        return try await withCheckedThrowingContinuation { waiter = $0 }
    }
}
