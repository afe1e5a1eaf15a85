import AccordCore
import AccordEngine
import AccordSource
import AccordStore
import Foundation

/// One reconcile pass against a database: migrate, lock, then the
/// cheapest kind of pass that is exact — fast (the no-op proved without
/// reading the manifests or the rows), incremental (only the changed files
/// read and their objects planned) or full — then one shared tail that
/// guards, executes and records the plan, and the work after it (key
/// rotation, erasures, retention). `accordctl apply` and the daemon run
/// this; `accordctl diff` runs `preview`, the same planning without writes.
/// Orchestration only: reading a revision is `RevisionSource`'s, every
/// read and write of the database the store's.
public struct Pass: Sendable {
    /// What a pass reads its desired state from.
    public enum Input: Sendable {
        /// A revision of a repository, or files on disk.
        case revision(RevisionSource)
        /// Desired objects given as they are; a listing digest makes the
        /// fast path possible.
        case objects([DesiredObject], listingDigest: String? = nil)
    }

    public let input: Input
    public let revision: String?
    public let path: String
    public let options: Options

    /// Uncommitted files of a work tree: the commit they sit on.
    public var uncommittedBase: String? {
        if case .revision(let source) = input { return source.uncommittedBase }
        return nil
    }

    public init(input: Input, revision: String?, path: String, options: Options) {
        self.input = input
        self.revision = revision
        self.path = path
        self.options = options
    }

    /// A pass over a revision: its commit and directory come from the source.
    public init(source: RevisionSource, options: Options) {
        self.init(input: .revision(source), revision: source.commit, path: source.directory, options: options)
    }

    public init(desired: [DesiredObject], revision: String?, path: String, options: Options) {
        self.init(input: .objects(desired), revision: revision, path: path, options: options)
    }

    /// The plan only: reads, never writes (a database Accord never ran on
    /// reads as empty).
    public func preview(_ session: Session) async throws -> Plan {
        try await previewWithInventory(session).plan
    }

    /// The plan, and the inventory it was made against (where each managed
    /// object was last applied from).
    public func previewWithInventory(_ session: Session) async throws -> (plan: Plan, inventory: [InventoryEntry]) {
        try await placed(session).previewPlaced(session)
    }

    /// This pass with its source checked against the session's regions
    /// (`RegionCheck`): a tenant whose region has no database is invalid.
    func placed(_ session: Session) -> Pass {
        guard let regions = session.regions, case .revision(var source) = input else { return self }
        source.regions = (Set(regions.regions), regions.file.file)
        return Pass(input: .revision(source), revision: revision, path: path, options: options)
    }

    private func previewPlaced(_ session: Session) async throws -> (plan: Plan, inventory: [InventoryEntry]) {
        var desired = try await load().objects
        var live = LiveState.Snapshot(records: [], inventory: [])
        if try await Migrations.isCurrent(session) {
            desired = try await gated(desired, session)
            live = try await LiveState.read(session)
        } else {
            // Nothing registered yet: the gate judges every model as a first promotion, as apply will.
            desired = ModelGate.resolve(desired, ledger: ModelLedger(), trusted: options.keys.trustedKeys)
        }
        return (Planner.plan(.init(desired: desired, live: live.records, inventory: live.inventory, prune: options.prune)), live.inventory)
    }

    public func run(_ session: Session) async throws -> Report {
        try await placed(session).runPlaced(session)
    }

    private func runPlaced(_ session: Session) async throws -> Report {
        let started = Date()
        var timings = Stopwatch()
        try await Migrations.run(session)
        return try await ApplyLock.holding(session, actor: options.actor, timeout: options.lockTimeout) {
            try await BulkLoad.ensure(session)
            // With regions: a verified region move a stopped pass left is finished before anything is planned.
            if !options.dryRun, session.regions != nil {
                let settled = try await RegionMove.settle(session, revision: revision, actor: options.actor, now: options.clock())
                if !settled.isEmpty { timings.lap("finish region moves") }
            }
            // The commit's status goes pending as its pass begins (github notifications; once per revision).
            if !options.dryRun, options.drift == nil, let revision, uncommittedBase == nil {
                try await Outbox.emitAlone([OutboxEvent(.applyStarted, object: "Revision", kind: nil, tenant: nil, revision: revision,
                                                        message: "\(revision.prefix(12)) is being applied")], session)
            }
            timings.lap("migrate and lock")
            var report: Report
            do {
                report = try await plan(session, started: started, timings: timings)
            } catch let invalid as InvalidRevision {
                try await recordRefusal(.invalid, reason: invalid.description, objects: invalid.set.manifests.count,
                                        started: started, session)
                throw invalid
            }
            if let refusal = report.refusal {
                try await recordRefusal(.refused, reason: refusal.description, objects: report.objects, started: started, session)
            }
            if !options.dryRun, report.refusal == nil, !report.interrupted, !options.stopRequested() {
                try await afterPlan(&report, session)
            }
            return report
        }
    }

    /// A commit that was not applied goes into history with why (once per
    /// revision and reason); a dry run and uncommitted files record nothing.
    private func recordRefusal(_ result: History.Result, reason: String, objects: Int, started: Date,
                               _ session: Session) async throws {
        guard !options.dryRun, revision != nil else { return }
        var entry = History.Pass(revision: revision, path: path, startedAt: started, result: result, merkleRoot: "",
                                 objects: objects, actor: options.actor)
        entry.reason = reason
        try await History.recordRefusal(entry, actor: options.actor, session)
    }

    /// The cheapest exact pass: fast, else targeted (drift heard), else
    /// incremental, else full.
    private func plan(_ session: Session, started: Date, timings: Stopwatch) async throws -> Report {
        var timings = timings
        options.progress(PassProgress(.reading))
        let digest = try await sourceDigest()
        timings.lap("read the revision's tree id")
        options.progress(PassProgress(.planning))
        if !options.full, let digest,
           let report = try await fast(session, digest: digest, started: started, timings: timings) {
            return report
        }
        if !options.full, let digest, let drift = options.drift,
           let planned = try await targeted(session, digest: digest, drift: drift, timings: timings) {
            return try await execute(planned, session, started: started)
        }
        if !options.full, options.drift == nil, let digest,
           let planned = try await incremental(session, digest: digest, timings: timings) {
            return try await execute(planned, session, started: started)
        }
        return try await execute(try await full(session, digest: digest, timings: timings), session, started: started)
    }

    /// What identifies the input's desired state without reading it: a
    /// commit's tree digest (`RevisionSource.treeDigest`), or the digest
    /// given with objects; nil for files on disk.
    func sourceDigest() async throws -> String? {
        switch input {
        case .revision(let source): try await source.treeDigest()
        case .objects(_, let digest): digest
        }
    }

    /// Every desired object of the input; an invalid revision throws `InvalidRevision`.
    func load() async throws -> RevisionSource.Desired {
        switch input {
        case .revision(let source):
            let validated = try await source.validated()
            defer { options.discard(validated) }
            return await RevisionSource.desired(validated)
        case .objects(let desired, _): return RevisionSource.Desired(objects: desired)
        }
    }

    /// The desired objects after the model promotion gate (`ModelGate`),
    /// judged against the live registry. Completed erasures whose manifest
    /// changed what they erased are held (`ErasureRuns.holdingCompleted`).
    func gated(_ desired: [DesiredObject], _ session: Session) async throws -> [DesiredObject] {
        let desired = try await ErasureRuns.holdingCompleted(desired, session)
        let models = desired.filter { $0.id.kind == .model }.map(\.id.name)
        guard !models.isEmpty else { return desired }
        return ModelGate.resolve(desired, ledger: try await ModelRegistry.ledger(models, session), trusted: options.keys.trustedKeys)
    }

    /// After a plan that ran: key rotation (it depends on the time, not on
    /// git), then open erasures and due retention.
    private func afterPlan(_ report: inout Report, _ session: Session) async throws {
        report.rotation = try await KeyRotation.run(session, kek: options.keys.kek, now: options.clock(),
                                                    revision: revision, actor: options.actor)
        report.timings.lap("key rotation (\(report.rotation.rotated.count) rotated)")
        guard options.runErasuresAndRetention else { return }
        let now = options.clock()
        options.progress(PassProgress(.erasures))
        report.erasures = try await ErasureRunner(session: session, keys: options.keys, now: now, revision: revision,
                                                  actor: options.actor).run()
        options.progress(PassProgress(.retention))
        report.retention = try await RetentionRunner(session: session, secretsDirectory: options.keys.secretsDirectory, now: now,
                                                     revision: revision, actor: options.actor).run(onlyDue: true, dryRun: false)
        report.timings.lap("erasures (\(report.erasures.completed.count) completed) and retention (\(report.retention.total) rows)")
        options.progress(PassProgress(.stores))
        report.storeChecks = try await StoreChecks(session: session, secretsDirectory: options.keys.secretsDirectory, now: now).run()
            .map { Report.StoreCheck(store: $0.store, ready: $0.ready, message: $0.message) }
        if !report.storeChecks.isEmpty { report.timings.lap("store health (\(report.storeChecks.count) checked)") }
    }
}
