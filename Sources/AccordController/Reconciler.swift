import AccordCore
import AccordEngine
import AccordGit
import AccordSource
import AccordStore
import AccordSync
import AccordTrust
import Foundation
import Logging

/// The leader's loop. It polls the repository every `interval` (a webhook
/// rings for an immediate fetch), runs a pass on every new commit, a full
/// pass every `resync` (drift), and a pass when a held object's retry is
/// due. Each pass is `Pass` — the same code as `accordctl apply`.
/// Shutdown is honoured between passes and, inside a pass, between two
/// transactions (`Pass.Options.stopRequested`).
///
/// A write made outside Accord to the registry is heard as it commits
/// (`DriftNotices`, `DriftQueue`): once the burst pauses, a targeted pass
/// reverts exactly the objects written, at the revision applied. An object
/// rewritten outside `driftRepeatLimit` times within `driftRepeatWindow`
/// is `DriftRepeated`: its reverts back off (retry-min doubling to
/// retry-max) instead of fighting the writer in a loop.
///
/// A fetch that fails (the remote is unreachable, credentials are refused)
/// sets `SourceUnavailable`, and fetches back off (retry-min doubling to
/// retry-max); the last fetched revision stays applied and resyncs go on
/// against it. A pass that cannot read the mirror has it cloned anew.
actor Reconciler {
    let config: ControllerConfig
    let state: ControllerState
    let metrics: ControllerMetrics
    let doorbell: Doorbell
    let logger: Logger
    let storeLogger: Logger
    let watcher: RepositoryWatcher
    let clock = ContinuousClock()
    /// Writes made outside Accord, heard by the leader's listener.
    nonisolated let drift = DriftQueue()
    /// Rung after each pass: the notification sender delivers what it wrote.
    nonisolated let outbox = Doorbell()

    private var book: RetryBook
    private var repository: GitRepository?
    private var head: String?
    /// The commit the last pass settled (applied, or found invalid).
    private var settled: String?
    private var passErrors = 0
    private var fetchFailures = 0
    private var nextPoll: ContinuousClock.Instant
    /// Why the mirror must be cloned anew at the next fetch.
    private var damaged: String?
    /// The commit a damaged mirror was last cloned anew for (once per commit).
    private var recloneTriedFor: String?
    private var passRetryAt: ContinuousClock.Instant?
    /// When the last pass started: retries due before it were its to take.
    private var lastPassStart = Date.distantPast
    /// Under a verification policy: the last commit that verified (what
    /// resyncs apply while a newer one is refused) and its signer, and the
    /// fetched commit the policy refused, with why.
    private var verifiedHead: String?
    private var verifiedSigner: String?
    private var verifiedRange: TrustedRange?
    private var refusedHead: (commit: String, reason: String)?
    /// The signer of the revision applied (what a drift revert applies again).
    private var appliedSigner: String?
    /// When each object written outside was last reverted (within the window).
    private var driftReverts: [ObjectID: [ContinuousClock.Instant]] = [:]
    /// Objects rewritten outside too often, with when their next revert is
    /// due, how many times in a row they were and the manifest they are held
    /// at; until then no drift revert touches them (a heard write waits,
    /// and a drift revert that reads every row holds them back), while a
    /// pass on a commit or the resync still reverts them. An entry whose
    /// time is past only counts the holds.
    private var driftHeld: [ObjectID: (until: ContinuousClock.Instant, times: Int, manifestHash: String)] = [:]
    private var driftWaiting: Set<ObjectID> = []
    static let driftRepeatLimit = 5
    static let driftRepeatWindow: Duration = .seconds(600)
    /// The source as an object (`Source/git`), and the copy last written.
    private var source: SourceStatus?
    private var publishedSource: SourceStatus?

    init(config: ControllerConfig, state: ControllerState, metrics: ControllerMetrics, doorbell: Doorbell, logger: Logger) {
        self.config = config
        self.state = state
        self.metrics = metrics
        self.doorbell = doorbell
        self.logger = logger
        var store = logger
        store.logLevel = max(logger.logLevel, .info)
        self.storeLogger = store
        self.watcher = RepositoryWatcher(repo: config.repo, branch: config.branch, cacheDirectory: config.cacheDirectory)
        self.book = RetryBook(backoff: Backoff(min: config.retryMin, max: config.retryMax))
        self.nextPoll = clock.now
    }

    /// Runs while this replica leads: returns on shutdown or cancellation.
    func lead() async {
        book.clear()
        settled = nil
        verifiedHead = nil
        verifiedSigner = nil
        verifiedRange = nil
        refusedHead = nil
        appliedSigner = nil
        driftReverts = [:]
        driftHeld = [:]
        driftWaiting = []
        passErrors = 0
        passRetryAt = nil
        lastPassStart = .distantPast
        nextPoll = clock.now
        source = await loadSource()
        publishedSource = source
        var nextResync = clock.now.advanced(by: config.resync)
        var fetchNow = true
        while !doorbell.isShuttingDown && !Task.isCancelled {
            if fetchNow || clock.now >= nextPoll {
                nextPoll = clock.now.advanced(by: await fetch())
            }
            let resyncDue = clock.now >= nextResync
            let retryDue = book.nextDue(after: lastPassStart).map { $0 <= Date() } ?? false
            let errorRetryDue = passRetryAt.map { clock.now >= $0 } ?? false
            if let repository, let head, head != settled || resyncDue || retryDue || errorRetryDue {
                // The pass finds whatever was written outside before it reads the rows.
                drift.clear()
                await pass(repository, head, full: resyncDue)
                if resyncDue { nextResync = clock.now.advanced(by: config.resync) }
            } else if !drift.isEmpty || driftHeldDue {
                await revertDrift()
            }
            guard !doorbell.isShuttingDown && !Task.isCancelled else { break }
            var deadline = min(nextPoll, nextResync)
            if !drift.isEmpty { deadline = clock.now }
            if let due = driftWaiting.compactMap({ driftHeld[$0]?.until }).min() { deadline = min(deadline, due) }
            if let due = book.nextDue(after: lastPassStart) { deadline = min(deadline, clock.now.advanced(by: .milliseconds(Int64(max(0, due.timeIntervalSinceNow) * 1000)))) }
            if let retry = passRetryAt { deadline = min(deadline, retry) }
            fetchNow = await doorbell.wait(until: deadline).contains(.webhook)
            if fetchNow { logger.info("webhook: fetching now") }
        }
    }

    /// Fetches and resolves the branch; returns the wait until the next
    /// fetch: the poll interval, or the backoff after a failure.
    private func fetch() async -> Duration {
        do {
            let fetched = try await watcher.head(damaged: damaged)
            damaged = nil
            if let why = fetched.recloned {
                logger.warning("the mirror was damaged and has been cloned anew", metadata: ["repo": "\(watcher.shown)", "reason": "\(why)"])
            }
            if fetchFailures > 0 {
                logger.info("the repository is reachable again", metadata: ["repo": "\(watcher.shown)", "failedFetches": .number(fetchFailures)])
            }
            if fetched.commit != head { logger.info("new revision", metadata: ["revision": "\(fetched.commit)", "repo": "\(watcher.shown)"]) }
            fetchFailures = 0
            metrics.setSourceUnavailable(false)
            repository = fetched.repository
            head = fetched.commit
            await state.fetched("fetched \(watcher.shown) at \(fetched.commit)")
            updateSource { s in
                if s.fetchedRevision != fetched.commit {
                    s.fetchedRevision = fetched.commit
                    s.fetchedAt = Date()
                }
                if s.reason == .fetchFailed || s.fetchedRevision != s.appliedRevision && s.reason == .applied {
                    s.ready = s.fetchedRevision == s.appliedRevision
                    s.reason = s.ready ? .applied : .fetched
                    s.message = s.ready ? "applied \(fetched.commit.prefix(12))" : "fetched \(fetched.commit.prefix(12)); not applied yet"
                    s.errors = []
                }
            }
            await publishSource()
            return config.interval
        } catch {
            fetchFailures += 1
            let delay = book.backoff.delay(attempt: fetchFailures)
            metrics.gitFetchFailed()
            metrics.setSourceUnavailable(true)
            let kept = head.map { "; \($0.prefix(12)) stays applied" } ?? ""
            logger.warning("fetching the repository failed; retrying with backoff\(kept)", metadata: [
                "repo": "\(watcher.shown)", "error": "\(error)", "failures": .number(fetchFailures),
                "retryInSeconds": .seconds(delay)])
            await state.fetchFailed("fetch \(watcher.shown): \(error)", failures: fetchFailures,
                                    nextFetchAt: Date().addingTimeInterval(delay.seconds))
            updateSource { s in
                s.ready = false
                s.reason = .fetchFailed
                s.message = "fetching \(watcher.shown) failed\(kept): \(error)"
                s.errors = []
            }
            await publishSource()
            return delay
        }
    }

    /// A pass on the fetched commit — under a verification policy, only
    /// once it verifies. A refused commit is never read: its refusal is
    /// recorded (status, history, audit, log) once, and resyncs go on
    /// against the last commit that verified.
    private func pass(_ repository: GitRepository, _ head: String, full: Bool) async {
        guard let verifier = config.verifier, verifier.policy.mode != .off else {
            await apply(repository, head, full: full, signer: nil)
            return
        }
        switch await verify(verifier, repository, head) {
        case .trusted(let signer):
            await apply(repository, head, full: full, signer: signer)
        case .refused:
            if full, let verified = verifiedHead, verified != head {
                await apply(repository, verified, full: true, signer: verifiedSigner)
            }
            settled = head
        case .failed:
            break
        }
    }

    enum Verification { case trusted(String?), refused, failed }

    private func verify(_ verifier: CommitVerifier, _ repository: GitRepository, _ commit: String) async -> Verification {
        if commit == verifiedHead { return .trusted(verifiedSigner) }
        if let refused = refusedHead, refused.commit == commit { return .refused }
        let lastApplied = verifier.policy.mode == .strict ? (verifiedHead ?? source?.appliedRevision) : nil
        do {
            switch try await verifier.verify(commit, lastApplied: lastApplied, in: repository) {
            case .success(let range):
                let signer = range.signer
                verifiedHead = commit
                verifiedSigner = signer?.description
                verifiedRange = range
                refusedHead = nil
                metrics.setSourceVerified(true)
                let message = "commit \(commit.prefix(12)) is signed by \(signer?.description ?? "a trusted key")"
                updateSource { s in
                    s.verified = true
                    s.verification = message
                }
                await state.verified(true, message: message)
                logger.info("commit verified", metadata: ["revision": "\(commit)", "signer": "\(signer?.description ?? "")",
                                                          "mode": "\(verifier.policy.mode.rawValue)"])
                return .trusted(signer?.description)
            case .failure(let refusal):
                refusedHead = (commit, refusal.reason)
                metrics.setSourceVerified(false)
                let kept = (verifiedHead ?? source?.appliedRevision).map { "; \($0.prefix(12)) stays applied" } ?? "; nothing is applied"
                updateSource { s in
                    s.ready = false
                    s.reason = .signatureUnverified
                    s.message = "\(refusal)\(kept)"
                    s.errors = []
                    s.verified = false
                    s.verification = refusal.reason
                }
                await state.verified(false, message: refusal.description)
                // Deciding not to apply is this pass's outcome: a leader stays (or becomes) ready.
                await state.passed(revision: nil, result: .refused, error: refusal.description, retries: book)
                logger.error("the commit is not trusted; nothing of it is read or applied (waiting for a new commit)", metadata: [
                    "revision": "\(commit)", "reason": "\(refusal.reason)", "mode": "\(verifier.policy.mode.rawValue)"])
                await recordUnverified(refusal)
                outbox.ring(.outbox)
                await publishSource()
                return .refused
            }
        } catch {
            passErrors += 1
            let delay = book.backoff.delay(attempt: passErrors)
            passRetryAt = clock.now.advanced(by: delay)
            logger.error("verifying the commit failed; retrying", metadata: [
                "revision": "\(commit)", "error": "\(error)", "retryInSeconds": .seconds(delay)])
            return .failed
        }
    }

    /// History's `unverified` row and its `refuse` audit entry, once per commit.
    private func recordUnverified(_ refusal: Refusal) async {
        var entry = History.Pass(revision: refusal.commit, path: config.path, startedAt: Date(), result: .unverified, merkleRoot: "",
                                 objects: 0, actor: "accord-controller")
        entry.reason = refusal.reason
        do {
            try await Self.recordRefusal(entry, config.databaseURL, storeLogger)
        } catch {
            logger.warning("could not record the refused commit in history", metadata: ["error": "\(error)"])
        }
    }

    nonisolated static func recordRefusal(_ entry: History.Pass, _ url: DatabaseURL, _ logger: Logger) async throws {
        try await Database.withConnection(url, logger: logger) { connection in
            let session = Session(connection, logger: logger)
            try await Migrations.run(session)
            try await History.recordRefusal(entry, actor: entry.actor, session)
        }
    }

    private func apply(_ repository: GitRepository, _ commit: String, full: Bool, signer: String?,
                       drift heard: Drift? = nil) async {
        lastPassStart = Date()
        await state.reconciling(true)
        let started = clock.now
        var kind: PassKind? = full ? .full : nil
        let result: PassResult
        var failure: String?
        do {
            let report = try await run(repository, commit, full: full, signer: signer, drift: heard)
            kind = report.kind
            // A drift revert re-applies the applied revision: the fetched one stays as settled as it was.
            if heard == nil { settled = commit }
            passErrors = 0
            passRetryAt = nil
            if report.interrupted {
                settled = nil
                result = .interrupted
                logger.notice("shutting down: the pass stopped between two transactions; every object is whole, and the ones it did not reach are left for the next pass", metadata: [
                    "revision": "\(commit)", "applied": .number(report.outcome?.applied.count ?? 0),
                    "left": .number(report.outcome?.interrupted.count ?? 0)])
            } else if let refusal = report.refusal {
                result = .refused
                failure = refusal.description
                updateSource { s in
                    s.ready = false
                    s.reason = switch refusal.by {
                    case .deletionGuard: .deletionGuardRefused
                    case .signerRule: .signerRuleRefused
                    case .residency: .revisionInvalid
                    }
                    s.message = "\(commit.prefix(12)) not applied: \(refusal.by.rawValue) refused its plan: \(refusal.reason)"
                    s.errors = []
                }
                logger.error("\(refusal.by.rawValue) refused the plan; nothing was written", metadata: [
                    "revision": "\(commit)", "reason": "\(refusal.reason)"])
            } else {
                result = .ok
                appliedSigner = signer
                // Held back for its drift backoff by a revert that read every row: reverted when that ends.
                if heard != nil {
                    let holds = driftHolds
                    driftWaiting.formUnion(report.held.map(\.id).filter { holds[$0] != nil })
                }
                if heard != nil { await noteDriftReverted(report) }
                updateSource { s in
                    if s.appliedRevision != commit {
                        s.appliedRevision = commit
                        s.appliedAt = Date()
                    }
                    // A newer commit still refused (or fetches failing) keeps the source not ready.
                    guard s.reason != .fetchFailed, refusedHead == nil else { return }
                    s.ready = true
                    s.reason = .applied
                    s.message = "applied \(commit.prefix(12))"
                    s.errors = []
                }
                record(report, commit: commit, duration: clock.now - started)
                await scheduleRetries()
            }
        } catch let invalid as InvalidRevision {
            settled = commit
            passErrors = 0
            passRetryAt = nil
            result = .invalid
            failure = invalid.description
            updateSource { s in
                s.ready = false
                s.reason = .revisionInvalid
                s.message = "\(commit.prefix(12)) not applied: its manifests are invalid (\(invalid.set.diagnostics.count) error\(invalid.set.diagnostics.count == 1 ? "" : "s")); "
                    + (s.appliedRevision.map { "\($0.prefix(12)) stays applied" } ?? "nothing is applied")
                s.errors = invalid.set.diagnostics.prefix(SourceStatus.errorsKept).map(\.description)
            }
            logger.error("the revision is invalid; nothing was applied (waiting for a new commit)", metadata: [
                "revision": "\(commit)", "errors": .number(invalid.set.diagnostics.count),
                "first": "\(invalid.set.diagnostics.first.map(\.description) ?? "")"])
        } catch {
            // The mirror could not be read: clone it anew at once (once per commit).
            if let gitError = error as? GitError, watcher.isRemote, recloneTriedFor != commit {
                recloneTriedFor = commit
                damaged = "reading \(commit.prefix(12)) failed: \(gitError)"
                nextPoll = clock.now
            }
            passErrors += 1
            let delay = book.backoff.delay(attempt: passErrors)
            passRetryAt = clock.now.advanced(by: delay)
            result = .error
            let message = String(describing: error)
            failure = message
            updateSource { s in
                guard s.reason != .fetchFailed else { return }
                s.ready = false
                s.reason = .passFailed
                s.message = "\(commit.prefix(12)) not applied yet: the pass failed and is retried: \(message)"
                s.errors = []
            }
            logger.error("the pass failed; retrying", metadata: [
                "revision": "\(commit)", "error": "\(message)", "retryInSeconds": .seconds(delay)])
        }
        await publishSource()
        metrics.passDuration(clock.now - started, pass: kind, result: result)
        metrics.setQueueDepth(book.depth)
        await state.passed(revision: result == .ok ? commit : nil, result: result, error: failure, retries: book)
        await state.reconciling(false)
        outbox.ring(.outbox)
    }

    /// Objects whose reverts back off and are not due yet, at the manifest
    /// they are held at: what a drift revert holds back (`Pass.Options.holdBack`).
    private var driftHolds: [ObjectID: String] {
        let now = clock.now
        var out: [ObjectID: String] = [:]
        for (id, hold) in driftHeld where hold.until > now { out[id] = hold.manifestHash }
        return out
    }

    /// Whether an object whose reverts back off is due again and was heard meanwhile.
    private var driftHeldDue: Bool {
        let now = clock.now
        return driftWaiting.contains { driftHeld[$0].map { $0.until <= now } ?? true }
    }

    /// Reverts what was written outside Accord, once the burst of notices
    /// pauses: a targeted pass at the applied revision over the objects
    /// heard (the pass is full when the base it needs does not hold: a
    /// truncated table, a notice possibly missed, a failure recorded).
    private func revertDrift() async {
        while let wait = drift.settling() {
            try? await Task.sleep(for: wait)
        }
        let batch = drift.take()
        guard let repository, let commit = source?.appliedRevision else {
            // Nothing applied yet: the pass on the fetched commit reads every row anyway.
            driftWaiting = []
            return
        }
        let now = clock.now
        var objects = batch.objects.union(driftWaiting)
        driftWaiting = []
        for id in objects {
            guard let held = driftHeld[id] else { continue }
            if held.until > now {
                objects.remove(id)
                driftWaiting.insert(id)
            }
        }
        guard !objects.isEmpty || !batch.kinds.isEmpty else { return }
        logger.info("written outside Accord: reverting", metadata: [
            "objects": .number(objects.count), "tables truncated": "\(batch.kinds.map(\.rawValue).sorted())",
            "notices": .number(batch.notices), "revision": "\(commit)"])
        // A truncated table, or notices possibly missed: only a pass that reads every row is exact.
        let exact = batch.kinds.isEmpty && batch.heardSince != nil
        await apply(repository, commit, full: !exact, signer: appliedSigner, drift: Drift(objects: objects, heardSince: batch.heardSince))
    }

    /// After a drift revert: counts each object's reverts within the
    /// window, and backs off one reverted too often (`DriftRepeated`).
    private func noteDriftReverted(_ report: Pass.Report) async {
        let now = clock.now
        var held: [(failure: ObjectFailure, next: Date)] = []
        for step in report.outcome?.applied ?? [] where step.cause == .drift {
            metrics.driftReverted(kind: step.id.kind)
            if let hold = driftHeld[step.id], hold.until <= now {
                // The revert its backoff waited for: in sync again, so its status is clear (the pass
                // cleared it) and counting starts over; should the writer go on, the next hold is longer.
                driftReverts[step.id] = [now]
                continue
            }
            var times = (driftReverts[step.id] ?? []).filter { now - $0 < Self.driftRepeatWindow }
            times.append(now)
            driftReverts[step.id] = times
            guard times.count >= Self.driftRepeatLimit else {
                // A fight over for a whole window: its next hold starts from the shortest backoff.
                if let hold = driftHeld[step.id], now - hold.until >= Self.driftRepeatWindow { driftHeld[step.id] = nil }
                continue
            }
            let repeated = (driftHeld[step.id]?.times ?? 0) + 1
            let delay = book.backoff.delay(attempt: repeated)
            driftHeld[step.id] = (now.advanced(by: delay), repeated, step.desired?.manifestHash ?? "")
            metrics.driftRepeated(kind: step.id.kind)
            logger.warning("DriftRepeated: written outside Accord again and again; its reverts back off", metadata: [
                "object": "\(step.id)", "kind": "\(step.id.kind.rawValue)", "reason": "DriftRepeated",
                "reverts": .number(times.count), "windowSeconds": .seconds(Self.driftRepeatWindow),
                "nextRevertInSeconds": .seconds(delay)])
            let next = Date().addingTimeInterval(delay.seconds)
            held.append((ObjectFailure(id: step.id, action: .update, reason: .driftRepeated,
                                       message: "written outside Accord \(times.count) times within \(DurationText.format(Self.driftRepeatWindow)); its reverts back off",
                                       disposition: .retry), next))
        }
        guard !held.isEmpty else { return }
        do {
            try await Self.recordHeld(held, revision: source?.appliedRevision, config.databaseURL, storeLogger)
        } catch {
            logger.warning("could not record DriftRepeated in the objects' status", metadata: ["error": "\(error)"])
        }
    }

    nonisolated static func recordHeld(_ held: [(failure: ObjectFailure, next: Date)], revision: String?, _ url: DatabaseURL,
                                       _ logger: Logger) async throws {
        try await Database.withConnection(url, logger: logger) { connection in
            try await DriftRecord.held(held, revision: revision, actor: "accord-controller", Session(connection, logger: logger))
        }
    }

    /// Changes the source's status; `since` moves when `ready` changes.
    private func updateSource(_ change: (inout SourceStatus) -> Void) {
        var s = source ?? SourceStatus(url: watcher.shown, branch: config.branch ?? "(default)", path: config.path.isEmpty ? "/" : config.path,
                                       ready: false, reason: .fetched, message: "not fetched yet")
        let wasReady = source?.ready
        s.url = watcher.shown
        change(&s)
        if wasReady != s.ready { s.since = Date() }
        source = s
    }

    /// Writes the source's status when it changed; a failed write is
    /// logged and tried again at the next change or pass.
    private func publishSource() async {
        guard let source, source != publishedSource else { return }
        do {
            try await Self.write(source, config.databaseURL, storeLogger)
            publishedSource = source
        } catch {
            logger.warning("could not record the source's status", metadata: ["error": "\(error)"])
        }
    }

    /// The status the last leader recorded, so the applied revision is
    /// known before this leader's first pass.
    private func loadSource() async -> SourceStatus? {
        do {
            return try await Self.readSource(config.databaseURL, storeLogger)
        } catch {
            logger.warning("could not read the source's status", metadata: ["error": "\(error)"])
            return nil
        }
    }

    nonisolated static func write(_ source: SourceStatus, _ url: DatabaseURL, _ logger: Logger) async throws {
        try await Database.withConnection(url, logger: logger) { connection in
            let session = Session(connection, logger: logger)
            try await Migrations.run(session)
            try await SourceStatus.write(source, session)
        }
    }

    nonisolated static func readSource(_ url: DatabaseURL, _ logger: Logger) async throws -> SourceStatus? {
        try await Database.withConnection(url, logger: logger) { connection in
            let session = Session(connection, logger: logger)
            return try await Migrations.isCurrent(session) ? try await SourceStatus.read(session) : nil
        }
    }

    private func run(_ repository: GitRepository, _ commit: String, full: Bool, signer: String?,
                     drift heard: Drift?) async throws -> Pass.Report {
        var options = Pass.Options(actor: "accord-controller", keys: config.keys, prune: config.prune,
                                   guardrail: DeletionGuard(maxShare: config.maxDeletePercent / 100, allowed: false),
                                   lockTimeout: .seconds(5))
        options.full = full
        options.signer = signer
        if let heard {
            // A drift revert: erasures and retention wait for the next pass on a commit or the resync.
            options.drift = heard
            options.runErasuresAndRetention = false
        }
        if let verifier = config.verifier, verifier.policy.mode != .off, let range = verifiedRange, range.commit == commit {
            options.authorize = { steps, paths in try await verifier.authorize(steps, paths: paths, range: range, in: repository) }
        }
        options.holdBack = book.holdBack(now: Date())
        if heard != nil {
            // A drift revert holds back what is DriftRepeated, also when it has to read every row
            // (a truncated table, a missed notice); a pass on a commit or the resync reverts it.
            options.holdBack.merge(driftHolds) { failed, _ in failed }
        }
        options.stopRequested = { [doorbell] in doorbell.isShuttingDown }
        let pass = Pass(source: RevisionSource(repository: repository, commit: commit, directory: config.path), options: options)
        return try await Self.execute(pass, config.databaseURL, regions: config.regions, storeLogger, metrics)
    }

    /// Runs the pass on a connection of its own (the control database's,
    /// with a regions file), then reads the erasure gauges and each region's health.
    nonisolated static func execute(_ pass: Pass, _ url: DatabaseURL, regions: RegionDatabases?, _ logger: Logger,
                                    _ metrics: ControllerMetrics) async throws -> Pass.Report {
        try await Database.withConnection(url, logger: logger) { connection in
            let session = Session(connection, logger: logger).placing(regions).opened(at: url)
            let report = try await pass.run(session)
            if let regions { metrics.setRegions(await regions.check()) }
            let erasures = try await ErasureCounts.read(session)
            metrics.setErasures(erasures)
            metrics.setStores(jobs: try await StoreJobs.counts(session),
                              up: try await StoreRegistry.health(session).mapValues(\.ready))
            return report
        }
    }

    /// Writes each failed object's next retry beside its failure, for
    /// `accordctl status`; a failure to write it only loses that display.
    private func scheduleRetries() async {
        let retries = book.entries.values.compactMap { e in e.nextRetry.map { (id: e.id, at: $0) } }
        guard !retries.isEmpty else { return }
        do {
            try await Self.record(retries, config.databaseURL, storeLogger)
        } catch {
            logger.warning("could not record the next retry times", metadata: ["error": "\(error)"])
        }
    }

    nonisolated static func record(_ retries: [(id: ObjectID, at: Date)], _ url: DatabaseURL, _ logger: Logger) async throws {
        try await Database.withConnection(url, logger: logger) { connection in
            try await RetrySchedule.record(retries, Session(connection, logger: logger))
        }
    }

    private func record(_ report: Pass.Report, commit: String, duration: Duration) {
        // Objects the book held as failed before this pass: applied now, they were retried.
        let retried = Set(book.entries.keys)
        if report.outcome != nil { book.record(report, now: Date()) }
        let applied = report.outcome?.applied ?? []
        let failures = report.outcome?.failed ?? []
        let failed = Set(failures.map(\.id))
        for step in applied { metrics.reconciled(kind: step.id.kind, result: .applied) }
        for f in failures { metrics.reconciled(kind: f.id.kind, result: f.stalled ? .stalled : .failed) }
        for step in report.held where !failed.contains(step.id) { metrics.reconciled(kind: step.id.kind, result: .held) }
        metrics.appliedRevision(commit)
        for step in applied {
            logger.info("\(step.id.kind.rawValue) \(Self.pastTense(step.action))", metadata: [
                "object": "\(step.id)", "kind": "\(step.id.kind.rawValue)", "action": "\(step.action.rawValue)",
                "cause": "\(retried.contains(step.id) ? "retry" : Self.cause(step.cause))", "revision": "\(commit)"])
            if let promotion = Self.promotion(step) {
                logger.notice("model promoted", metadata: [
                    "object": "\(step.id)", "from": "\(promotion.from ?? "none")", "to": "\(promotion.to)", "revision": "\(commit)"])
            }
        }
        var fields: Logger.Metadata = [
            "revision": "\(commit)", "pass": "\(report.kind.rawValue)", "applied": .number(applied.count),
            "failed": .number(failures.count), "held": .number(report.held.count), "objects": .number(report.objects),
            "durationSeconds": .seconds(duration),
        ]
        if let next = book.nextDue { fields["nextRetry"] = "\(Timestamp.rfc3339(epochSeconds: Int64(next.timeIntervalSince1970)))" }
        logger.info("reconciled", metadata: fields)
        for c in report.erasures.completed {
            logger.notice("erasure certified", metadata: [
                "object": "\(c.id)", "deleted": .number(c.deleted), "certificateSha256": "\(c.certificateSha256)", "revision": "\(commit)"])
        }
        for f in report.erasures.storeFailures {
            logger.warning("erasure: a store's part failed; retried with backoff", metadata: [
                "object": "\(f.id)", "store": "\(f.store)", "error": "\(f.error)"])
        }
        for count in report.retention.counts {
            logger.info("retention enforced", metadata: [
                "policy": "\(count.policy)", "tenant": "\(count.tenant)", "store": "\(count.store)", "deleted": .number(count.rows)])
        }
        for f in report.retention.failures {
            logger.warning("retention: a store could not be reached; the policy runs again next time", metadata: [
                "policy": "\(f.policy)", "tenant": "\(f.tenant)", "store": "\(f.store)", "error": "\(f.error)"])
        }
        for check in report.storeChecks where !check.ready {
            logger.warning("store unavailable", metadata: ["store": "\(check.store)", "reason": "\(check.message)"])
        }
        for (id, stage) in report.erasures.escalated {
            logger.warning("erasure SLA: \(stage.meaning)", metadata: ["object": "\(id)", "stage": "\(stage.rawValue)"])
        }
        for f in failures {
            let entry = book.entries[f.id]
            logger.warning(f.reason == .promotionBlocked ? "promotion blocked" : "object not applied", metadata: [
                "object": "\(f.id)", "reason": "\(f.reason.rawValue)", "stalled": .stringConvertible(f.stalled), "error": "\(f.message)",
                "nextRetry": "\(entry?.nextRetry.map { Timestamp.rfc3339(epochSeconds: Int64($0.timeIntervalSince1970)) } ?? "none")"])
        }
    }

    static func pastTense(_ action: Action) -> String {
        switch action {
        case .create: "created"
        case .update: "updated"
        case .delete: "deleted"
        case .retain: "retained"
        }
    }

    /// Why a step was in the plan, as the log says it: `commit` (git
    /// changed), `drift` (edited outside Accord), `dependency` (an object
    /// it derives from changed), `adopt`; `retry` is decided by the book.
    static func cause(_ cause: StepCause) -> String {
        switch cause {
        case .manifest: "commit"
        case .drift: "drift"
        case .dependency: "dependency"
        case .adopt: "adopt"
        }
    }

    /// A model step that moved its production version.
    static func promotion(_ step: PlanStep) -> (from: String?, to: String)? {
        guard step.id.kind == .model, step.action != .delete, step.action != .retain else { return nil }
        let desired = step.desired?.record.fields["production_version"]?.stringValue
        if step.action == .create { return desired.map { (nil, $0) } }
        guard let change = step.changes.first(where: { $0.path == "production_version" }), let to = change.new?.stringValue else { return nil }
        return (change.old?.stringValue, to)
    }
}
