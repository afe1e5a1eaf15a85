import AccordCore
import AccordEngine
import AccordSource
import AccordStore
import AccordSync
import ArgumentParser
import Foundation

struct Apply: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Reconcile once: make the live state match the manifests, and print what was done.",
        discussion: """
            Runs Accord's migrations, takes the database's apply lock (one applier at a time), plans \
            exactly as `accordctl diff` does and executes the plan in transactions of whole objects: each \
            object's rows commit with its inventory and audit entries, or not at all, and a transaction \
            the database refuses is redone one object per transaction, so only the failing objects stay \
            unapplied. Prune is opt-in; only \
            objects Accord created are pruned, and the deletion guard refuses a plan that would delete \
            more than --max-delete-percent of the managed objects, or keep none of them (a tenant \
            removed with deletionPolicy Retain is offboarded, which deletes nothing). When nothing outside \
            Accord wrote to the platform tables since the last complete apply, unchanged files are not \
            read again (see docs/engine.md; --full reads everything). Tenants are onboarded with \
            their data stores and a data key wrapped by the key-encryption key (--kek-file); without \
            one, tenants that need a key are stalled and everything else applies (docs/tenants.md). A model's \
            production version moves to a version that was never production only when its signature \
            verifies against a trusted key (--trusted-keys-dir) and its promotion metric beats the current \
            one; otherwise it stays and the model reports why. Moving back to a former production version \
            is a rollback, without gate (docs/models.md). After the plan, open erasures run (certificates \
            signed with --signing-key-file) and retention policies whose schedule is due are enforced \
            (docs/erasures.md). With --worktree, files no commit holds would reach the live database: \
            that needs --allow-uncommitted, and history and status show the apply as uncommitted on the \
            commit the files sit on. With a verification policy (--verify-file), an untrusted revision is \
            refused before anything is read, and a plan that changes a kind the policy reserves for other \
            signers is refused before anything is written. \
            Exit status: 0 done, 1 some objects failed (the rest applied), 2 error (invalid manifests, \
            unreachable database, lock timeout, refused by the deletion guard or a signer rule, an untrusted revision).
            """
    )

    @OptionGroup var source: SourceOptions
    @OptionGroup var database: DatabaseOptions
    @OptionGroup var keys: KeyOptions
    @OptionGroup var trusted: TrustedKeyOptions
    @OptionGroup var trust: TrustOptions
    @OptionGroup var output: OutputOptions

    @Flag(help: "Delete managed objects that were removed from git (tenants only with deletionPolicy: Delete; a Retain tenant is offboarded with or without it).")
    var prune = false

    @Flag(name: .customLong("dry-run"), help: "Plan and check the deletion guard under the lock; change no object (Accord's own schema is still brought up to date).")
    var dryRun = false

    @Option(name: .customLong("max-delete-percent"),
            help: "Deletion guard: refuse to remove more than this share of the managed objects (0-100).")
    var maxDeletePercent: Double = 10

    @Flag(name: .customLong("allow-mass-deletion"), help: "Let the plan remove more than --max-delete-percent, or everything.")
    var allowMassDeletion = false

    @Option(name: .customLong("lock-timeout"), help: "Seconds to wait for another applier to finish.")
    var lockTimeout: Double = 30

    @Flag(help: "Always read every manifest and compare every live row: no fast path (nothing changed) and no incremental pass (only changed files read).")
    var full = false

    @Flag(name: .customLong("allow-uncommitted"), help: "With --worktree: apply files on disk that no commit holds.")
    var allowUncommitted = false

    @Flag(help: "Print only the counts: what was created, updated, deleted and failed, erasures and retention.")
    var summary = false

    @Flag(help: "No progress line on standard error (it is shown only on a terminal, and never with NO_COLOR).")
    var quiet = false

    func validate() throws {
        guard (0...100).contains(maxDeletePercent) else {
            throw ValidationError("--max-delete-percent must be between 0 and 100, not \(maxDeletePercent)")
        }
        try LockTimeout.validate(lockTimeout)
        if allowUncommitted && !source.worktree {
            throw ValidationError("--allow-uncommitted goes with --worktree; without it apply reads a commit")
        }
    }

    func run() async throws {
        if source.worktree && !allowUncommitted {
            let why: String
            switch try await source.workTree() {
            case let tree? where tree.changes.isEmpty:
                why = "the files match HEAD (\(tree.head.prefix(12))): apply without --worktree to apply and record that commit"
            case let tree?:
                why = "\(SourceOptions.describe(tree.changes, under: ManifestPaths.normalize(source.path) ?? "")) differ from HEAD "
                    + "(\(tree.head.prefix(12))): commit them and apply the commit"
            case nil:
                why = "\(Text.quoted(source.repo)) is not the root of a git work tree, so no commit holds these files"
            }
            Console.error(CLIError("apply --worktree writes files on disk to the live database: \(why); or pass --allow-uncommitted"))
            throw ExitCode(2)
        }
        var startUp = Timings.sinceBegan()
        let keys = Pass.Keys(kek: try self.keys.kek(), signingKey: try self.keys.signingKey(), trustedKeys: try trusted.trustedKeys(),
                             secretsDirectory: try self.keys.secretsDirectory())
        startUp.lap("start-up: arguments and keys")
        let opened = try await DesiredSource.open(source)
        let strict = try trust.policy()?.mode == .strict
        let trusted = try await trust.verify(opened, lastApplied: strict ? try await database.lastApplied() : nil)
        startUp.lap("start-up: the revision opened" + (trusted == nil ? "" : ", its signature verified"))
        var options = Pass.Options(actor: "accordctl apply", keys: keys, prune: prune,
                                   guardrail: DeletionGuard(maxShare: maxDeletePercent / 100, allowed: allowMassDeletion),
                                   lockTimeout: LockTimeout.duration(lockTimeout))
        options.dryRun = dryRun
        options.full = full
        options.signer = trusted?.signer?.description
        options.authorize = trusted?.authorize
        let progress = ProgressLine.forStandardError(quiet: quiet)
        options.progress = { progress.update($0) }
        // The process ends after the pass: what the pass drops is left to the operating system.
        options.discard = { Release.atExit($0) }
        let pass = Pass(source: opened, options: options)
        let format = output.format
        let report = try await database.withSession(readOnly: false) { session in
            do {
                defer { progress.finish() }
                return try await pass.run(session)
            } catch let invalid as InvalidRevision {
                try DesiredSource.reject(invalid, format: format, label: nil)
            }
        }
        startUp.lap("start-up: connected", endingAt: report.timings.started)
        Timings.print(startUp, report.timings)
        let rendered = ApplyReport(report: report, revision: opened.commit, uncommittedBase: opened.uncommittedBase, dryRun: dryRun)
        switch output.format {
        case .text: Console.write(summary ? rendered.counts() : rendered.text(palette: .forStandardOutput()))
        case .json: Console.write(rendered.json())
        case .markdown: Console.write(rendered.markdown())
        }
        var end = Stopwatch(since: report.timings.last)
        end.lap("connection closed, report written")
        Timings.print(end)
        // Printed: the process ends without freeing the plan object by object.
        Release.atExit(report)
        if let refusal = report.refusal {
            Console.error(CLIError(refusal.description))
            throw ExitCode(2)
        }
        let waiting = !report.erasures.failed.isEmpty || !report.erasures.blocked.isEmpty || !report.rotation.blocked.isEmpty
            || !report.erasures.storeFailures.isEmpty
        throw ExitCode(report.outcome?.failed.isEmpty == false || waiting ? 1 : 0)
    }
}

/// What `apply` prints: what it did (or, for a dry run or a refused plan,
/// what it would have done).
struct ApplyReport {
    let report: Pass.Report
    let revision: String?
    var uncommittedBase: String?
    let dryRun: Bool

    /// What was applied: a commit, or uncommitted files and the commit they sit on.
    var appliedLabel: String {
        revision.map { String($0.prefix(12)) }
            ?? uncommittedBase.map { "uncommitted files on \($0.prefix(12))" } ?? "files on disk"
    }

    var objects: Int { report.objects }

    var planReport: PlanReport { PlanReport(plan: report.plan, revision: revision, against: nil) }

    var failed: [ObjectFailure] { report.outcome?.failed ?? [] }

    var summary: String {
        let plan = report.plan
        if let refusal = report.refusal { return "refused by \(refusal.by.rawValue): nothing was written (\(plan.summary))" }
        if dryRun { return "dry run: no object was changed (\(plan.summary))" }
        let applied = report.outcome?.applied ?? []
        let n = { (a: Action) in applied.count { $0.action == a } }
        var text = "applied \(appliedLabel): \(n(.create)) created, \(n(.update)) updated, \(n(.delete)) deleted"
        if n(.retain) > 0 { text += ", \(n(.retain)) retained" }
        if !failed.isEmpty { text += "; \(failed.count) failed" }
        return text + "; \(plan.unchanged) unchanged of \(objects) objects"
    }

    /// The summary line, then, when there were any, one line of erasure
    /// and retention counts (`--summary`).
    func counts() -> String {
        var extra: [String] = []
        let e = report.erasures
        if !e.completed.isEmpty || !e.waiting.isEmpty || !e.failed.isEmpty || !e.blocked.isEmpty {
            extra.append("erasures: \(e.completed.count) certified, \(e.waiting.count + e.blocked.count) waiting, \(e.failed.count) failed")
        }
        let r = report.retention
        if !r.policies.isEmpty {
            extra.append("retention: \(r.policies.count) policies \(r.dryRun ? "counted" : "enforced"), \(r.total) rows \(r.dryRun ? "would be deleted" : "deleted")")
        }
        return summary + "\n" + (extra.isEmpty ? "" : extra.joined(separator: "; ") + "\n")
    }

    /// The summary first, then what was done object by object.
    func text(palette: Palette) -> String {
        var out = summary + "\n"
        if report.refusal != nil || dryRun {
            out += planReport.text(palette: palette)
        } else {
            // What was done: one line per object; the changed fields of
            // updates (creates list their fields in `diff`).
            // (Only failures need the set: a pass of 100,000 creates builds none.)
            let appliedIDs = failed.isEmpty ? [] : Set((report.outcome?.applied ?? []).map(\.id))
            let failedIDs = Set(failed.map(\.id)).subtracting(appliedIDs)
            for step in report.plan.steps where !failedIDs.contains(step.id) {
                if palette.enabled {
                    out += palette.paint(PlanReport.heading(step), step.action)
                } else {
                    PlanReport.appendHeading(step, to: &out)
                }
                out += "\n"
                if step.action == .update {
                    for change in step.changes {
                        for line in PlanReport.changeLines(change, kind: step.id.kind) { out += line + "\n" }
                    }
                }
            }
            for failure in failed {
                out += appliedIDs.contains(failure.id)
                    ? "! \(failure.id) applied, except: \(failure.reason.rawValue): \(failure.message)\n"
                    : "! \(failure.id) not applied: \(failure.reason.rawValue): \(failure.message)\n"
            }
            if !report.plan.orphaned.isEmpty {
                out += "\(report.plan.orphaned.count) removed from git but kept (apply with --prune to delete them)\n"
            }
            for r in report.rotation.rotated {
                out += "~ Tenant/\(r.tenant) (data key rotated: version \(r.from) retired, version \(r.to) active)\n"
            }
            for tenant in report.rotation.blocked {
                out += "! Tenant/\(tenant) data key due for rotation: no key-encryption key configured\n"
            }
            out += Self.erasureLines(report.erasures) + Self.retentionLines(report.retention)
        }
        return out
    }

    func json() -> String {
        planReport.json(extra: [
            "dryRun": .bool(dryRun),
            "refused": JSONValue(report.refusal?.description),
            "applied": .array((report.outcome?.applied ?? []).map { .string($0.id.description) }),
            "failed": .array(failed.map { f in
                .object(["id": .string(f.id.description), "reason": .string(f.reason.rawValue),
                         "message": .string(f.message), "stalled": .bool(f.stalled)])
            }),
            "result": .string(summary),
            "pass": .string(report.kind.rawValue),
            "keysCreated": .object((report.outcome?.keysCreated ?? [:]).mapValues { JSONValue($0) }),
            "keysRotated": .array(report.rotation.rotated.map { r in
                .object(["tenant": .string(r.tenant), "retiredVersion": JSONValue(r.from), "version": JSONValue(r.to)])
            }),
            "keyRotationBlocked": JSONValue(strings: report.rotation.blocked),
            "erasures": Self.erasureJSON(report.erasures),
            "retention": Self.retentionJSON(report.retention),
        ])
    }

    static func erasureLines(_ e: ErasureRuns.Outcome) -> String {
        var out = ""
        for s in e.escalated { out += "! \(s.id) SLA \(s.stage.rawValue): \(s.stage.meaning)\n" }
        for c in e.completed { out += "✓ \(c.id) erased: \(c.deleted) rows deleted, certificate issued\n" }
        for f in e.failed { out += "! \(f.id) \(f.reason.rawValue): \(f.message)\n" }
        for id in e.blocked { out += "! \(id) waits: no signing key configured (ACCORD_SIGNING_KEY_FILE)\n" }
        for f in e.storeFailures { out += "! \(f.id) Store/\(f.store) not verified yet: \(f.error)\n" }
        for w in e.waiting { out += "… \(w.id) waits for \(w.stores.count == 1 ? "store" : "stores") \(w.stores.joined(separator: ", ")) before its certificate\n" }
        return out
    }

    static func erasureJSON(_ e: ErasureRuns.Outcome) -> JSONValue {
        .object([
            "completed": .array(e.completed.map { .object(["id": .string($0.id.description), "deleted": JSONValue($0.deleted)]) }),
            "failed": .array(e.failed.map { .object(["id": .string($0.id.description), "message": .string($0.message)]) }),
            "waitingForSigningKey": JSONValue(strings: e.blocked.map(\.description)),
            "waitingForStores": .array(e.waiting.map { .object(["id": .string($0.id.description), "stores": JSONValue(strings: $0.stores)]) }),
            "storeFailures": .array(e.storeFailures.map {
                .object(["id": .string($0.id.description), "store": .string($0.store), "error": .string($0.error)])
            }),
            "slaCrossed": .array(e.escalated.map { .object(["id": .string($0.id.description), "stage": .string($0.stage.rawValue)]) }),
        ])
    }

    static func retentionLines(_ r: Retention.Outcome) -> String {
        var out = ""
        for c in r.counts {
            out += "- RetentionPolicy/\(c.policy): \(c.rows) rows \(r.dryRun ? "would be deleted" : "deleted") from \(c.store) of Tenant/\(c.tenant)\n"
        }
        for f in r.failures {
            out += "! RetentionPolicy/\(f.policy): Store/\(f.store) of Tenant/\(f.tenant) not reached: \(f.error) (the policy runs again next time)\n"
        }
        if !r.policies.isEmpty {
            out += "retention: \(r.policies.count) policies \(r.dryRun ? "counted" : "enforced"), \(r.total) rows \(r.dryRun ? "would be deleted" : "deleted")\n"
        }
        return out
    }

    static func retentionJSON(_ r: Retention.Outcome) -> JSONValue {
        .object([
            "dryRun": .bool(r.dryRun), "policies": JSONValue(strings: r.policies), "total": JSONValue(r.total),
            "counts": .array(r.counts.map {
                .object(["policy": .string($0.policy), "tenant": .string($0.tenant), "store": .string($0.store), "rows": JSONValue($0.rows)])
            }),
            "failures": .array(r.failures.map {
                .object(["policy": .string($0.policy), "tenant": .string($0.tenant), "store": .string($0.store), "error": .string($0.error)])
            }),
        ])
    }

    func markdown() -> String {
        planReport.markdown() + "\n**\(summary)**\n"
    }
}

/// `--lock-timeout SECONDS`: from 0 to a year, so it always fits a duration.
enum LockTimeout {
    static let maximum: Double = 365 * 86_400

    static func validate(_ seconds: Double) throws {
        guard seconds.isFinite, (0...maximum).contains(seconds) else {
            throw ValidationError("--lock-timeout must be a number of seconds from 0 to \(Int(maximum)), not \(seconds)")
        }
    }

    static func duration(_ seconds: Double) -> Duration { .milliseconds(Int64(seconds * 1000)) }
}
