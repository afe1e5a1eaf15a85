import AccordCore
import AccordEngine
import AccordStore
import Foundation

extension Pass {
    /// A planned pass, incremental or full, ready for the shared tail.
    struct Planned: Sendable {
        /// How the Merkle root of the manifests is brought up to date.
        enum MerkleUpdate: Sendable {
            /// Every bucket from the desired objects (a full pass); stored
            /// when the input is a commit.
            case all(storeBuckets: Bool)
            /// Only the buckets whose manifest hashes left or joined the
            /// set, recomputed from the inventory after execution.
            case touched(Set<Int>, orphaned: Set<ObjectID>)
        }

        let kind: PassKind
        let plan: Plan
        /// The desired objects the plan was made from.
        let desired: [DesiredObject]
        /// The inventory entries of those objects (all of it for a full pass).
        let inventory: [InventoryEntry]
        let inventoryIsComplete: Bool
        /// Desired objects in the revision.
        let objects: Int
        /// Read before the live state was read (`FastPath.Marker`).
        let markerBefore: FastPath.Marker
        let merkle: MerkleUpdate
        let listingDigest: String?
        /// Defer the bulk-load indexes to the end (`BulkLoad`).
        let bulkLoad: Bool
        var timings: Stopwatch
    }

    /// The tail every planned pass shares: hold back what the controller
    /// holds, refuse what the deletion guard refuses, stop for a dry run;
    /// else forget the last complete pass, execute, bring the Merkle root
    /// up to date, record the pass as the new base when it completed, and
    /// record history.
    func execute(_ planned: Planned, _ session: Session, started: Date) async throws -> Report {
        var timings = planned.timings
        let (plan, held) = Self.holdingBack(planned.plan, options.holdBack)
        timings.lap("\(planned.kind.rawValue): plan (\(plan.steps.count) steps, \(held.count) held back)")
        if let refusal = options.guardrail.refusal(plan) {
            return Report(kind: planned.kind, plan: plan, refusal: PlanRefusal(by: .deletionGuard, reason: refusal), outcome: nil,
                          recorded: false, objects: planned.objects, timings: timings, held: held)
        }
        if session.regions != nil, let refusal = Self.regionMoves(plan) {
            return Report(kind: planned.kind, plan: plan, refusal: PlanRefusal(by: .residency, reason: refusal), outcome: nil,
                          recorded: false, objects: planned.objects, timings: timings, held: held)
        }
        if let authorize = options.authorize, !plan.steps.isEmpty {
            if let refusal = try await authorize(plan.steps, plan.sourcePaths(inventory: planned.inventory)) {
                return Report(kind: planned.kind, plan: plan, refusal: PlanRefusal(by: .signerRule, reason: refusal), outcome: nil,
                              recorded: false, objects: planned.objects, timings: timings, held: held)
            }
        }
        if options.dryRun {
            return Report(kind: planned.kind, plan: plan, refusal: nil, outcome: nil, recorded: false,
                          objects: planned.objects, timings: timings, held: held)
        }
        // A targeted pass keeps the base it planned against, which only a targeted pass trusts (`targeted`).
        let rebases = planned.kind != .targeted
        if rebases { try await FastPath.invalidate(session) }
        // The Merkle buckets of a full pass need only the manifests' hashes:
        // computed beside the execution (the hashes too, those the batches
        // have not asked for yet).
        let allBuckets: Task<[Int: String], Never>? = if case .all = planned.merkle {
            Task { [desired = planned.desired] in await OffPool.run("accord.pass.merkle") { Merkle.bucketRoots(desired.map(\.manifestHash)) } }
        } else {
            nil
        }
        var executor = Executor(session: session, revision: revision,
                                audit: try await AuditChain.load(session, actor: options.actor),
                                kek: options.keys.kek, now: options.clock())
        executor.shouldStop = options.stopRequested
        executor.progress = { [progress = options.progress] done, total in progress(PassProgress(.applying, done: done, total: total)) }
        options.progress(PassProgress(.applying, done: 0, total: plan.steps.count))
        let heldIDs = Set(held.map(\.id))
        if planned.bulkLoad { try await BulkLoad.begin(session) }
        // More than a batch of objects other than tenants: a second connection
        // writes every other batch (`Executor.lane`); without one, one at a time.
        if session.regions == nil, plan.steps.lazy.filter({ $0.id.kind != .tenant }).count > ExecutionOrder.batchSize {
            executor.lane = try? await session.sibling()
        }
        let lane = executor.lane
        // The second connection serves the batches, then the statistics; closed however the pass goes on.
        let outcome: Executor.Outcome
        do {
            outcome = try await executor.run(plan, desired: heldIDs.isEmpty ? planned.desired : planned.desired.filter { !heldIDs.contains($0.id) },
                                             inventory: planned.inventory, inventoryIsComplete: planned.inventoryIsComplete)
            timings.lap("execute (\(outcome.applied.count) applied, \(outcome.bookkeeping) bookkeeping"
                        + (lane == nil ? "" : "; \(outcome.laneBatches) batches on a second connection, \(outcome.laneRedone) redone on the first")
                        + ")")
            if planned.bulkLoad {
                try await BulkLoad.ensure(session)
                timings.lap("the deferred indexes built")
            }
            if outcome.applied.count + outcome.bookkeeping >= Self.analyzeAfter {
                try await Statistics.refresh(session, beside: lane)
                timings.lap("analyze")
            }
        } catch {
            try? await lane?.connection.close()
            throw error
        }
        try? await lane?.connection.close()

        let complete = outcome.isComplete && held.isEmpty
        let merkleRoot: String
        switch planned.merkle {
        case .all(let store):
            let buckets = await allBuckets?.value ?? [:]
            merkleRoot = Merkle.combine(buckets)
            if complete, store { try await FastPath.storeMerkleBuckets(buckets, replacing: true, session) }
        case .touched(let touched, let orphaned):
            var buckets = try await FastPath.merkleBuckets(session)
            let recomputed = try await IncrementalReads.bucketRoots(touched, excluding: orphaned, session)
            for b in touched { buckets[b] = recomputed[b] }
            merkleRoot = Merkle.combine(buckets)
            if complete, rebases {
                try await FastPath.storeMerkleBuckets(recomputed, replacing: false,
                                                      emptied: touched.filter { recomputed[$0] == nil }.sorted(), session)
            }
        }
        FaultPoint.beforeRevisionRecorded.reach()
        if rebases, complete {
            try await FastPath.record(session, digest: planned.listingDigest, path: path, prune: options.prune, revision: revision,
                                      objects: planned.objects, orphaned: plan.orphaned,
                                      marker: try await executor.marker(after: planned.markerBefore))
        } else if rebases {
            try await FastPath.clear(session)
        }
        timings.lap("Merkle root and sync state")

        let recorded = try await recordHistory(session, outcome: outcome, audit: executor.auditHead, objects: planned.objects,
                                               merkleRoot: merkleRoot, started: started)
        if recorded { timings.lap("record history") }
        return Report(kind: planned.kind, plan: plan, refusal: nil, outcome: outcome, recorded: recorded,
                      objects: planned.objects, timings: timings, held: held)
    }

    /// With a regions file, a plan that moves a tenant to another region
    /// is refused before anything is written: the tenant's data is in its
    /// old region's database, and the registry would say it is in the new
    /// one (SPEC §9). Each move named with both regions.
    public static func regionMoves(_ plan: Plan) -> String? {
        let moves = plan.steps.compactMap { step -> String? in
            guard step.id.kind == .tenant, step.action == .update, !TenantRecord.migratesRegion(step.desired),
                  let change = step.changes.first(where: { $0.path == "region" }),
                  let from = change.old?.stringValue, let to = change.new?.stringValue, from != to else { return nil }
            return "\(step.id): spec.region: moving from \(from) to \(to) is refused; the tenant's stores and data keys are in \(from)'s database, and a tenant's data may live only in its region's (SPEC §9); the annotation accord.dev/migrate-region: \"true\" moves them"
        }
        return moves.isEmpty ? nil : moves.joined(separator: "; ")
    }

    /// The plan without the steps of held objects whose manifest is still
    /// the one they are held at.
    static func holdingBack(_ plan: Plan, _ holdBack: [ObjectID: String]) -> (Plan, [PlanStep]) {
        guard !holdBack.isEmpty else { return (plan, []) }
        var kept: [PlanStep] = [], held: [PlanStep] = []
        for step in plan.steps {
            if let hash = holdBack[step.id], hash == (step.desired?.manifestHash ?? "") { held.append(step) } else { kept.append(step) }
        }
        guard !held.isEmpty else { return (plan, []) }
        return (Plan(steps: kept, orphaned: plan.orphaned, unmanaged: plan.unmanaged, unchanged: plan.unchanged, managed: plan.managed), held)
    }

    /// Records the pass in history when it changed or failed anything, or
    /// when the revision or its manifests differ from the last recorded.
    func recordHistory(_ session: Session, outcome: Executor.Outcome, audit: AuditChain, objects: Int,
                       merkleRoot: String, started: Date) async throws -> Bool {
        var audit = audit
        let last = try await History.lastRevision(session)
        let changed = !outcome.applied.isEmpty || !outcome.isComplete || outcome.bookkeeping > 0
        guard changed || last?.revision != revision || last?.root != merkleRoot else { return false }
        var pass = History.Pass(revision: revision, path: path, startedAt: started,
                                result: !outcome.interrupted.isEmpty ? .interrupted : !outcome.failed.isEmpty ? .partial
                                    : outcome.applied.isEmpty ? .unchanged : .applied,
                                merkleRoot: merkleRoot, objects: objects, actor: options.actor)
        pass.uncommittedBase = uncommittedBase
        pass.signer = options.signer
        for step in outcome.applied {
            switch step.action {
            case .create: pass.created += 1
            case .update: pass.updated += 1
            case .delete: pass.deleted += 1
            case .retain: pass.retained += 1
            }
        }
        pass.failed = outcome.failed.count
        try await History.record(pass, audit: &audit, session)
        return true
    }

    /// A pass that writes at least this many objects refreshes the planner
    /// statistics of the tables it wrote.
    static let analyzeAfter = 1_000
}
