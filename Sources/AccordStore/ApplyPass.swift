import AccordCore
import AccordEngine
import Foundation

/// One reconcile pass against a database: migrate, lock, read live state,
/// plan, guard, execute, record. `accordctl apply` and the daemon run this;
/// `accordctl diff` runs `preview`, the same planning without writes.
public struct ApplyPass: Sendable {
    public struct Options: Sendable {
        public var prune = false
        public var dryRun = false
        public var guardrail = DeletionGuard()
        public var lockTimeout: Duration = .seconds(30)
        public var actor = "accordctl"

        public init() {}
    }

    public struct Report: Sendable {
        public let plan: Plan
        /// Set when the deletion guard refused the plan (nothing was written).
        public let refusal: String?
        /// nil for a dry run or a refused plan.
        public let outcome: Executor.Outcome?
        public let recorded: Bool
    }

    public let desired: [DesiredObject]
    public let revision: String?
    public let path: String
    public let options: Options

    public init(desired: [DesiredObject], revision: String?, path: String, options: Options) {
        self.desired = desired
        self.revision = revision
        self.path = path
        self.options = options
    }

    public var merkleRoot: String { Merkle.root(desired.map(\.manifestHash)) }

    /// The plan only: reads, never writes (a database Accord never ran on
    /// reads as empty).
    public func preview(_ session: Session) async throws -> Plan {
        let version = try await Migrations.checkNotNewer(session)
        let live = version < Migrations.latest ? LiveState.Snapshot(records: [], inventory: []) : try await LiveState.read(session)
        return Planner.plan(.init(desired: desired, live: live.records, inventory: live.inventory, prune: options.prune))
    }

    public func run(_ session: Session) async throws -> Report {
        let started = Date()
        try await Migrations.run(session)
        try await ApplyLock.acquire(session, holder: Self.holder(options.actor), timeout: options.lockTimeout)
        do {
            let report = try await locked(session, started: started)
            try await ApplyLock.release(session)
            return report
        } catch {
            try? await ApplyLock.release(session)
            throw error
        }
    }

    private func locked(_ session: Session, started: Date) async throws -> Report {
        let live = try await LiveState.read(session)
        let plan = Planner.plan(.init(desired: desired, live: live.records, inventory: live.inventory, prune: options.prune))
        if let refusal = options.guardrail.refusal(plan) {
            return Report(plan: plan, refusal: refusal, outcome: nil, recorded: false)
        }
        if options.dryRun {
            return Report(plan: plan, refusal: nil, outcome: nil, recorded: false)
        }
        var executor = Executor(session: session, revision: revision, audit: try await AuditChain.load(session, actor: options.actor))
        let outcome = try await executor.run(plan, desired: desired, inventory: live.inventory)

        var audit = executor.auditHead
        let last = try await History.lastRevision(session)
        let changed = !outcome.applied.isEmpty || !outcome.failed.isEmpty || outcome.bookkeeping > 0
        guard changed || last?.revision != revision || last?.root != merkleRoot else {
            return Report(plan: plan, refusal: nil, outcome: outcome, recorded: false)
        }
        var pass = History.Pass(revision: revision, path: path, startedAt: started,
                                result: !outcome.failed.isEmpty ? .partial : outcome.applied.isEmpty ? .unchanged : .applied,
                                merkleRoot: merkleRoot, objects: desired.count, actor: options.actor)
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
        return Report(plan: plan, refusal: nil, outcome: outcome, recorded: true)
    }

    static func holder(_ actor: String) -> String {
        let host = ProcessInfo.processInfo.hostName
        return "\(actor) on \(host) (pid \(ProcessInfo.processInfo.processIdentifier))"
    }
}
