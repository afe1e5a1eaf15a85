import AccordCore
import AccordEngine
import Foundation

/// One reconcile pass against a database: migrate, lock, check the fast
/// path, read live state, plan, guard, execute, record. `accordctl apply`
/// and the daemon run this; `accordctl diff` runs `preview`, the same
/// planning without writes.
public struct ApplyPass: Sendable {
    public struct Options: Sendable {
        public var prune = false
        public var dryRun = false
        public var guardrail = DeletionGuard()
        public var lockTimeout: Duration = .seconds(30)
        public var actor = "accordctl"
        /// Skip the fast path: always read and compare every row.
        public var full = false
        /// Wraps tenant data keys. Without one, tenants that need a new key
        /// (onboarding, rotation) are stalled; everything else applies.
        public var kek: KeyEncryptionKey?
        /// Public keys model signatures are checked against. Without them
        /// no production version moves forward (rollbacks still do).
        public var trustedKeys: TrustedKeys?
        /// Signs erasure certificates. Without one, open erasures wait
        /// (stalled, saying so); everything else applies.
        public var signingKey: SigningKey?
        /// Run open erasures and due retention after the pass.
        public var runErasuresAndRetention = true
        /// The time keys are created and rotated at (tests move it).
        public var clock: @Sendable () -> Date = { Date() }
        /// Asked between transactions: true ends the pass there, every
        /// object whole, and skips its tail (key rotation, erasures,
        /// retention). The daemon's shutdown.
        public var stopRequested: @Sendable () -> Bool = { false }
        /// Objects not to attempt in this pass, each with the manifest hash
        /// it is held at (the controller's per-object backoff): a held
        /// object whose manifest changed is attempted. A pass that holds
        /// anything back is not a complete one (no fast path after it).
        public var holdBack: [ObjectID: String] = [:]
        /// Creates into an empty inventory from which a pass defers some
        /// secondary indexes to the end (`BulkLoad`).
        var bulkLoadThreshold = BulkLoad.threshold

        public init() {}
    }

    /// The desired state, loaded only when the fast path does not hold.
    public struct Input: Sendable {
        public struct Loaded: Sendable {
            public let desired: [DesiredObject]
            public let timings: Stopwatch
            public init(desired: [DesiredObject], timings: Stopwatch = Stopwatch()) {
                self.desired = desired
                self.timings = timings
            }
        }

        /// What exists outside the files an incremental pass reads.
        public struct Outside: Sendable {
            /// Which of the asked identities are desired objects defined in other files.
            public let existing: Set<ObjectID>
            /// Production versions and suspended tenants rows are derived from.
            public let context: DesiredState.Context
        }

        public typealias Lookup = @Sendable (Set<ObjectID>) async throws -> Outside

        /// `FastPath.listingDigest` of the revision's files; nil disables the fast path.
        public let listingDigest: String?
        public let load: @Sendable () async throws -> Loaded
        /// The revision's manifest files (path, blob id), for incremental passes.
        public let listing: [(path: String, blobID: String)]?
        /// Reads and validates only the given files, asking `Lookup` about
        /// everything outside them; nil when they are not valid on their
        /// own (the full pass then reports every error).
        public let loadFiles: (@Sendable ([String], Lookup) async throws -> [DesiredObject]?)?
        /// The manifest paths added, modified or deleted since a revision;
        /// nil when that revision cannot be compared (not in the repository).
        public let changedSince: (@Sendable (String) async -> [String]?)?

        public init(listingDigest: String?, listing: [(path: String, blobID: String)]? = nil,
                    loadFiles: (@Sendable ([String], Lookup) async throws -> [DesiredObject]?)? = nil,
                    changedSince: (@Sendable (String) async -> [String]?)? = nil,
                    load: @escaping @Sendable () async throws -> Loaded) {
            self.listingDigest = listingDigest
            self.listing = listing
            self.loadFiles = loadFiles
            self.changedSince = changedSince
            self.load = load
        }

        public static func fixed(_ desired: [DesiredObject], listingDigest: String? = nil) -> Input {
            Input(listingDigest: listingDigest) { Loaded(desired: desired) }
        }
    }

    public struct Report: Sendable {
        public let plan: Plan
        /// Set when the deletion guard refused the plan (nothing was written).
        public let refusal: String?
        /// nil for a dry run or a refused plan.
        public let outcome: Executor.Outcome?
        public let recorded: Bool
        /// Desired objects in the revision.
        public let objects: Int
        /// The no-op was proved without reading the manifests or the rows.
        public var fastPath = false
        /// Only the changed files were read and only their objects planned.
        public var incremental = false
        /// Wall time per phase (ACCORD_TIMINGS=1).
        public var timings = Stopwatch()
        /// Tenant data keys rotated after the plan ran (`KeyRotation`).
        public var rotation = KeyRotation.Outcome()
        /// Erasures run after the plan (`ErasureRuns`).
        public var erasures = ErasureRuns.Outcome()
        /// Retention enforced because a policy's schedule was due.
        public var retention = Retention.Outcome()
        /// Steps left out because `Options.holdBack` held their objects.
        public var held: [PlanStep] = []
        /// The pass stopped between transactions when asked to
        /// (`Options.stopRequested`); `outcome.interrupted` lists what it left.
        public var interrupted: Bool { !(outcome?.interrupted.isEmpty ?? true) }
    }

    public let input: Input
    public let revision: String?
    public let path: String
    public let options: Options

    public init(input: Input, revision: String?, path: String, options: Options) {
        self.input = input
        self.revision = revision
        self.path = path
        self.options = options
    }

    public init(desired: [DesiredObject], revision: String?, path: String, options: Options) {
        self.init(input: .fixed(desired), revision: revision, path: path, options: options)
    }

    /// The plan only: reads, never writes (a database Accord never ran on
    /// reads as empty).
    public func preview(_ session: Session) async throws -> Plan {
        var desired = try await input.load().desired
        var live = LiveState.Snapshot(records: [], inventory: [])
        if try await Migrations.isCurrent(session) {
            desired = try await gated(desired, session)
            live = try await LiveState.read(session)
        } else {
            // Nothing registered yet: the gate judges every model as a first promotion, as apply will.
            desired = ModelGate.resolve(desired, ledger: ModelLedger(), trusted: options.trustedKeys)
        }
        return Planner.plan(.init(desired: desired, live: live.records, inventory: live.inventory, prune: options.prune))
    }

    public func run(_ session: Session) async throws -> Report {
        let started = Date()
        var timings = Stopwatch()
        try await Migrations.run(session)
        try await ApplyLock.acquire(session, holder: Self.holder(options.actor), timeout: options.lockTimeout)
        do {
            try await BulkLoad.ensure(session)
            timings.lap("migrate and lock")
            var report = try await locked(session, started: started, timings: timings)
            if !options.dryRun, report.refusal == nil, !report.interrupted, !options.stopRequested() {
                report.rotation = try await KeyRotation.run(session, kek: options.kek, now: options.clock(),
                                                            revision: revision, actor: options.actor)
                report.timings.lap("key rotation (\(report.rotation.rotated.count) rotated)")
                if options.runErasuresAndRetention {
                    let now = options.clock()
                    report.erasures = try await ErasureRuns.run(session, key: options.signingKey, now: now,
                                                                revision: revision, actor: options.actor)
                    report.retention = try await Retention.run(session, now: now, onlyDue: true, dryRun: false,
                                                               revision: revision, actor: options.actor)
                    report.timings.lap("erasures (\(report.erasures.completed.count) completed) and retention (\(report.retention.total) rows)")
                }
            }
            try await ApplyLock.release(session)
            return report
        } catch {
            try? await ApplyLock.release(session)
            throw error
        }
    }

    private func locked(_ session: Session, started: Date, timings: Stopwatch) async throws -> Report {
        var timings = timings
        if let digest = input.listingDigest, !options.full,
           let state = try await FastPath.check(session, digest: digest, path: path, prune: options.prune) {
            timings.lap("fast path: files and platform tables unchanged since the last complete pass")
            let plan = Plan(steps: [], orphaned: state.orphaned, unmanaged: [], unchanged: state.objects,
                            managed: state.objects + state.orphaned.count)
            var recorded = false
            if !options.dryRun, let last = try await History.lastRevision(session), last.revision != revision {
                var audit = try await AuditChain.load(session, actor: options.actor)
                let pass = History.Pass(revision: revision, path: path, startedAt: started, result: .unchanged,
                                        merkleRoot: last.root, objects: state.objects, actor: options.actor)
                try await History.record(pass, audit: &audit, session)
                try await FastPath.record(session, digest: digest, path: path, prune: options.prune, revision: revision,
                                          objects: state.objects, orphaned: state.orphaned,
                                          marker: try await FastPath.marker(session))
                recorded = true
            }
            return Report(plan: plan, refusal: nil, outcome: options.dryRun ? nil : Executor.Outcome(), recorded: recorded,
                          objects: state.objects, fastPath: true, timings: timings)
        }

        if !options.full, let report = try await incremental(session, started: started, timings: timings) {
            return report
        }

        let loaded = try await input.load()
        timings.lap("load desired state")
        let desired = try await gated(loaded.desired, session)
        timings.lap("model promotion gate")
        let markerBefore = try await FastPath.marker(session)
        let live = try await LiveState.read(session)
        timings.lap("read live state (\(live.records.count) rows, \(live.inventory.count) inventory)")
        let planned = Planner.plan(.init(desired: desired, live: live.records, inventory: live.inventory, prune: options.prune))
        let (plan, held) = Self.holdingBack(planned, options.holdBack)
        timings.lap("plan (\(plan.steps.count) steps, \(held.count) held back)")
        if let refusal = options.guardrail.refusal(plan) {
            return Report(plan: plan, refusal: refusal, outcome: nil, recorded: false, objects: desired.count,
                          timings: Self.merge(loaded.timings, timings))
        }
        if options.dryRun {
            return Report(plan: plan, refusal: nil, outcome: nil, recorded: false, objects: desired.count,
                          timings: Self.merge(loaded.timings, timings))
        }
        try await FastPath.invalidate(session)
        // The Merkle buckets need only the manifests' hashes: computed beside the execution.
        let bucketsTask = Task.detached { [desired] in Merkle.bucketRoots(desired.map(\.manifestHash)) }
        var executor = try await makeExecutor(session)
        let heldIDs = Set(held.map(\.id))
        let bulk = live.inventory.isEmpty && plan.count(.create) >= options.bulkLoadThreshold
        if bulk { try await BulkLoad.begin(session) }
        let outcome = try await executor.run(plan, desired: heldIDs.isEmpty ? desired : desired.filter { !heldIDs.contains($0.id) },
                                             inventory: live.inventory, inventoryIsComplete: true)
        if bulk { try await BulkLoad.ensure(session) }
        timings.lap("execute (\(outcome.applied.count) applied, \(outcome.bookkeeping) bookkeeping)" + (bulk ? ", then the deferred indexes built" : ""))
        if outcome.applied.count + outcome.bookkeeping >= Self.analyzeAfter {
            try await Self.analyze(session)
            timings.lap("analyze")
        }

        let buckets = await bucketsTask.value
        timings.lap("Merkle buckets")
        if outcome.isComplete && held.isEmpty {
            if input.listing != nil {
                try await FastPath.storeMerkleBuckets(buckets, replacing: true, session)
            }
            try await FastPath.record(session, digest: input.listingDigest, path: path, prune: options.prune, revision: revision,
                                      objects: desired.count, orphaned: plan.orphaned,
                                      marker: try await executor.marker(after: markerBefore))
        } else {
            try await FastPath.clear(session)
        }
        timings.lap("record sync state")

        let merkleRoot = Merkle.combine(buckets)
        var report = try await recordHistory(session, plan: plan, outcome: outcome, audit: executor.auditHead, objects: desired.count,
                                             merkleRoot: merkleRoot, started: started,
                                             timings: Self.merge(loaded.timings, timings))
        report.held = held
        return report
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
    func recordHistory(_ session: Session, plan: Plan, outcome: Executor.Outcome, audit: AuditChain, objects: Int,
                       merkleRoot: String, started: Date, timings: Stopwatch, incremental: Bool = false) async throws -> Report {
        var timings = timings
        var audit = audit
        let last = try await History.lastRevision(session)
        let changed = !outcome.applied.isEmpty || !outcome.isComplete || outcome.bookkeeping > 0
        guard changed || last?.revision != revision || last?.root != merkleRoot else {
            return Report(plan: plan, refusal: nil, outcome: outcome, recorded: false, objects: objects,
                          incremental: incremental, timings: timings)
        }
        var pass = History.Pass(revision: revision, path: path, startedAt: started,
                                result: !outcome.interrupted.isEmpty ? .interrupted : !outcome.failed.isEmpty ? .partial
                                    : outcome.applied.isEmpty ? .unchanged : .applied,
                                merkleRoot: merkleRoot, objects: objects, actor: options.actor)
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
        timings.lap("record history")
        return Report(plan: plan, refusal: nil, outcome: outcome, recorded: true, objects: objects,
                      incremental: incremental, timings: timings)
    }

    /// The desired objects after the model promotion gate (`ModelGate`),
    /// judged against the live registry.
    /// Completed erasures whose manifest changed what they erased are held
    /// (`ErasureRuns.holdingCompleted`).
    func gated(_ desired: [DesiredObject], _ session: Session) async throws -> [DesiredObject] {
        let desired = try await ErasureRuns.holdingCompleted(desired, session)
        let models = desired.filter { $0.id.kind == .model }.map(\.id.name)
        guard !models.isEmpty else { return desired }
        return ModelGate.resolve(desired, ledger: try await ModelRegistry.ledger(models, session), trusted: options.trustedKeys)
    }

    func makeExecutor(_ session: Session) async throws -> Executor {
        var executor = Executor(session: session, revision: revision, audit: try await AuditChain.load(session, actor: options.actor),
                                kek: options.kek, now: options.clock())
        executor.shouldStop = options.stopRequested
        return executor
    }

    /// A pass that writes at least this many objects refreshes the planner
    /// statistics of the tables it wrote.
    static let analyzeAfter = 1_000

    /// Fresh statistics, so the next passes' lookups use the indexes. What
    /// those plans need is each table's size and that its keys are
    /// distinct, which a sample of 3,000 rows (statistics target 10) gives
    /// as well as the default 30,000, in a tenth of the time; only the
    /// value distributions are coarser, which Accord's key lookups do not
    /// depend on.
    static func analyze(_ session: Session) async throws {
        try await session.transaction {
            try await session.execute("SET LOCAL default_statistics_target = 10")
            try await session.execute("ANALYZE accord.inventory, accord.tenant_keys, " + Migrations.platformTables.map { "platform.\($0)" }.joined(separator: ", "))
        }
    }

    static func merge(_ a: Stopwatch, _ b: Stopwatch) -> Stopwatch {
        var out = a
        out.append(b)
        return out
    }

    static func holder(_ actor: String) -> String {
        let host = ProcessInfo.processInfo.hostName
        return "\(actor) on \(host) (pid \(ProcessInfo.processInfo.processIdentifier))"
    }
}
