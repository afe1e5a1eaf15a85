import AccordConnectors
import AccordCore
import AccordEngine
import AccordStore
import Foundation

/// Runs open erasures after a pass (SPEC §1, §8), in three phases:
///
/// 1. For each open erasure whose attempt is due: its SLA stage, then its
///    PostgreSQL part (`ErasureRuns.erasePostgres`), which creates a job
///    per external store of its tenant.
/// 2. Every due store job moves as far as it can — `pending → erasing →
///    verifying → verified` — through its store's connector, several
///    stores at once. A store that is down fails only its own jobs, each
///    retried with backoff; after one unreachable answer in a pass, the
///    store's other jobs wait for the next pass instead of each waiting
///    out the timeout. Every step is recorded before the next begins, so
///    a crash resumes where it stopped; deletes are idempotent, and the
///    counts deleted are recorded once, before the first delete.
/// 3. Each erasure whose store jobs are all verified gets its signed
///    certificate (`ErasureRuns.issueCertificate`).
struct ErasureRunner {
    let session: Session
    let keys: Pass.Keys
    let now: Date
    let revision: String?
    let actor: String

    /// Store jobs moving at once.
    static let parallelJobs = 8

    func run() async throws -> ErasureRuns.Outcome {
        var outcome = ErasureRuns.Outcome()
        let open = try await ErasureRuns.openErasures(session)
        guard !open.isEmpty else { return outcome }
        var audit = try await AuditChain.load(session, actor: actor)
        var ready: [ErasureRuns.Open] = []
        var erasedHere = 0
        for e in open {
            for stage in try await ErasureRuns.advanceSLA(e, now: now, revision: revision, audit: &audit, session) {
                outcome.escalated.append((e.id, stage))
            }
            guard keys.signingKey != nil else {
                if let next = e.nextAttemptAt, next > now { continue }
                try await ErasureRuns.recordBlocked(e, revision: revision, audit: &audit, session)
                outcome.blocked.append(e.id)
                continue
            }
            if e.postgresErasedAt != nil {
                ready.append(e)
                continue
            }
            if let next = e.nextAttemptAt, next > now { continue }
            do {
                _ = try await ErasureRuns.erasePostgres(e, now: now, revision: revision, audit: &audit, session)
                erasedHere += 1
                FaultPoint.erasurePostgresCommitted.reach(String(erasedHere))
                ready.append(e)
            } catch let down as RegionUnavailable {
                // Only this tenant's region is down: its erasures wait with backoff, the others go on.
                outcome.failed.append(try await ErasureRuns.fail(e, down.description, because: .regionUnavailable, now: now,
                                                                revision: revision, audit: &audit, session))
            } catch let error as SQLFailure where !error.isConnectionLost {
                outcome.failed.append(try await ErasureRuns.fail(e, error.description, now: now, revision: revision, audit: &audit, session))
            } catch let error as SQLFailure {
                throw error
            } catch {
                outcome.failed.append(try await ErasureRuns.fail(e, String(describing: error), now: now, revision: revision,
                                                                audit: &audit, session))
            }
        }
        guard let key = keys.signingKey, !ready.isEmpty else { return outcome }

        let jobs = try await StoreJobs.jobs(of: ready.map(\.id), session)
        outcome.storeFailures = try await runJobs(jobs.filter { $0.state != .verified && ($0.nextAttemptAt.map { $0 <= now } ?? true) })

        let after = try await StoreJobs.jobs(of: ready.map(\.id), session)
        for e in ready {
            let waiting = after.filter { $0.erasureID == e.id && $0.state != .verified }
            guard waiting.isEmpty else {
                outcome.waiting.append((e.id, waiting.map(\.store)))
                continue
            }
            if let completed = try await ErasureRuns.issueCertificate(e, key: key, now: now, revision: revision, audit: &audit, session) {
                outcome.completed.append(completed)
            }
        }
        return outcome
    }

    /// Moves every given job as far as it goes; the failures, one per job.
    func runJobs(_ jobs: [StoreJobs.Job]) async throws -> [(id: ObjectID, store: String, error: String)] {
        guard !jobs.isEmpty else { return [] }
        let registry = try await StoreRegistry.read(session)
        let circuit = StoreCircuit()
        var failures: [(id: ObjectID, store: String, error: String)] = []
        try await withThrowingTaskGroup(of: (ObjectID, String, String)?.self) { group in
            var queue = jobs[...]
            func next(_ group: inout ThrowingTaskGroup<(ObjectID, String, String)?, Error>) {
                guard let job = queue.popFirst() else { return }
                let session = self.session, now = self.now, secretsDirectory = keys.secretsDirectory
                group.addTask {
                    try await Self.advance(job, spec: registry[job.store], secretsDirectory: secretsDirectory,
                                           circuit: circuit, now: now, session)
                }
            }
            for _ in 0..<Self.parallelJobs { next(&group) }
            while let result = try await group.next() {
                if let (id, store, error) = result { failures.append((id, store, error)) }
                next(&group)
            }
        }
        return failures.sorted { ($0.id, $0.store) < ($1.id, $1.store) }
    }

    /// One job, from its state to `verified` or to a failure recorded with
    /// its next attempt. Returns the failure, if any.
    static func advance(_ job: StoreJobs.Job, spec: StoreSpec?, secretsDirectory: String?, circuit: StoreCircuit,
                        now: Date, _ session: Session) async throws -> (ObjectID, String, String)? {
        var state = job.current
        func fail(_ message: String, remaining: [String: Int]? = nil) async throws -> (ObjectID, String, String) {
            let next = now.addingTimeInterval(StoreJobs.backoff(afterAttempts: job.attempts + 1))
            try await StoreJobs.fail(job, resume: state, error: message, next: next, remaining: remaining, session)
            return (job.erasureID, job.store, message)
        }
        guard let spec else { return try await fail("Store/\(job.store) is not in the registry (removed from git?); the erasure waits until it is back") }
        if let reason = await circuit.openReason(job.store) {
            return try await fail("not tried in this pass: \(reason)")
        }
        let connector: any StoreConnector
        do {
            let secret = try spec.credentials.map { try SecretFile.credentials($0, in: secretsDirectory, store: job.store) }
            connector = try Connectors.make(StoreAccess(name: job.store, spec: spec, secret: secret))
        } catch {
            return try await fail(String(describing: error))
        }
        let scope = SubjectScope(tenant: job.tenant, subject: job.subject, requestID: job.requestID)
        do {
            if state == .pending {
                let before = connector.countsBeforeDeleting ? try await connector.count(scope) : nil
                try await StoreJobs.advance(job, to: .erasing, deleted: before, at: now, session)
                state = .erasing
            }
            if state == .erasing {
                let reported = try await connector.delete(scope)
                FaultPoint.storeDeleted.reach(job.store)
                try await StoreJobs.advance(job, to: .verifying, deleted: reported, at: now, session)
                state = .verifying
            }
            if state == .verifying {
                let remaining = try await connector.count(scope)
                let left = remaining.values.reduce(0, +)
                guard left == 0 else {
                    state = .erasing
                    return try await fail("\(left) of the subject's items remain after the delete; deleting again", remaining: remaining)
                }
                try await StoreJobs.advance(job, to: .verified, remaining: remaining, at: Date(), session)
            }
            return nil
        } catch let error as StoreFailure {
            if error.kind == .unreachable || error.kind == .timeout { await circuit.open(job.store, because: error.description) }
            return try await fail(error.description)
        }
    }
}

/// The stores found unreachable in this pass: their other jobs wait for
/// the next pass instead of each waiting out the store's timeout.
actor StoreCircuit {
    private var open: [String: String] = [:]

    func open(_ store: String, because reason: String) { if open[store] == nil { open[store] = reason } }
    func openReason(_ store: String) -> String? { open[store] }
}
