import AccordConnectors
import AccordCore
import AccordEngine
import AccordStore
import Foundation

/// Retention (SPEC §1, §8): for each policy that is due (or every policy,
/// on demand), the tenant data tables in PostgreSQL (`Retention`), then
/// each rule that names an external store, for each tenant of the policy
/// that lists the store, with the store's own means (`StoreConnector`);
/// counts per tenant and store in one audit entry per policy. A policy one
/// of whose stores cannot be reached is not marked as run, so it runs
/// again next time (every deletion is by age, so running again is safe).
public struct RetentionRunner: Sendable {
    let session: Session
    let secretsDirectory: String?
    let now: Date
    let revision: String?
    let actor: String

    public init(session: Session, secretsDirectory: String?, now: Date, revision: String?, actor: String) {
        self.session = session
        self.secretsDirectory = secretsDirectory
        self.now = now
        self.revision = revision
        self.actor = actor
    }

    public func run(onlyDue: Bool, dryRun: Bool) async throws -> Retention.Outcome {
        var outcome = Retention.Outcome(dryRun: dryRun)
        outcome.policies = try await Retention.policies(session, now: now, onlyDue: onlyDue)
        guard !outcome.policies.isEmpty else { return outcome }
        let tables = try await Retention.enforceTables(outcome.policies, session, now: now, dryRun: dryRun)
        outcome.counts = tables.counts
        outcome.failures += tables.unavailable.map { ($0.policy, $0.tenant, "postgres", $0.reason.description) }

        let rules = try await Retention.externalRules(outcome.policies, session)
        if !rules.isEmpty {
            let registry = try await StoreRegistry.read(session)
            for rule in rules {
                guard let spec = registry[rule.store] else { continue }
                let entries = spec.holds.filter { rule.entry == nil || $0.entry == rule.entry }
                do {
                    let secret = try spec.credentials.map { try SecretFile.credentials($0, in: secretsDirectory, store: rule.store) }
                    let connector = try Connectors.make(StoreAccess(name: rule.store, spec: spec, secret: secret))
                    for entry in entries {
                        let cutoff = now.addingTimeInterval(-rule.maxAgeSeconds)
                        let requestID = "accord-retention-" + String(sha256Hex("\(rule.policy)/\(rule.tenant)/\(rule.store)/\(entry.entry)/\(Int64(now.timeIntervalSince1970))").prefix(24))
                        let n = try await connector.enforceRetention(tenant: rule.tenant, entry: entry, olderThan: cutoff, dryRun: dryRun,
                                                                     requestID: requestID)
                        if n > 0 {
                            outcome.counts.append(.init(policy: rule.policy, tenant: rule.tenant, store: "\(rule.store)/\(entry.entry)", rows: n))
                        }
                    }
                } catch {
                    outcome.failures.append((rule.policy, rule.tenant, rule.store, String(describing: error)))
                }
            }
        }
        guard !dryRun else { return outcome }
        let failed = Set(outcome.failures.map(\.policy))
        try await Retention.record(outcome, completed: outcome.policies.filter { !failed.contains($0) }, onlyDue: onlyDue,
                                   now: now, revision: revision, actor: actor, session)
        return outcome
    }

    /// `accordctl retention run`: every managed policy now, under the apply
    /// lock (a dry run too, so its counts are not taken mid-apply).
    public static func runNow(_ session: Session, secretsDirectory: String?, now: Date, dryRun: Bool, lockTimeout: Duration,
                              actor: String) async throws -> Retention.Outcome {
        guard try await Migrations.isCurrent(session) else { return Retention.Outcome(dryRun: dryRun) }
        return try await ApplyLock.holding(session, actor: actor, timeout: lockTimeout) {
            let revision = try await History.lastRevision(session)?.revision
            return try await RetentionRunner(session: session, secretsDirectory: secretsDirectory, now: now, revision: revision,
                                             actor: actor).run(onlyDue: false, dryRun: dryRun)
        }
    }
}
