import AccordCore
import AccordEngine
import AccordGit
import AccordSource
import AccordStore
import AccordSync
import ArgumentParser
import Foundation

struct Diff: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show the plan: every create, update and delete with its field-level changes.",
        discussion: """
            Compares the manifests at --ref with the live state in PostgreSQL (read only; nothing is \
            written), or with another revision given by --against, which needs no database at all. \
            The plan shown is exactly what `accordctl apply` with the same options would execute, \
            including the model promotion gate's verdict (give the same --trusted-keys-dir); with \
            --against no gate runs, so the plan shows production versions as git has them. With a \
            verification policy (--verify-file), a revision whose commits are not signed by trusted keys is \
            refused before anything is read (in strict mode, every commit since --against's base or the \
            database's last applied revision), and a plan that breaks the policy's signer rules is shown \
            and then refused as apply would refuse it. With a regions file (--regions-file), a tenant whose \
            region has no database is invalid and a region move without its annotation is refused, as by \
            apply, with or without --against (which reads only the file, no database). \
            With --against, each revision read whole leaves an index (identities, files, references) in \
            diff-index/ under the cache directory (ACCORD_CACHE_DIR, else $XDG_CACHE_HOME/accord, else \
            ~/.cache/accord), and a diff against an indexed revision reads only the files that changed; \
            the plan is the same. \
            Exit status: 0 in sync, 1 differences, 2 error (including invalid manifests and a plan the \
            signer rules refuse).
            """
    )

    @OptionGroup var source: SourceOptions
    @OptionGroup var database: DatabaseOptions
    @OptionGroup var trusted: TrustedKeyOptions
    @OptionGroup var trust: TrustOptions
    @OptionGroup var output: OutputOptions

    @Option(help: "Compare with this revision instead of the database (a pull request's base, e.g. origin/main).")
    var against: String?

    @Flag(help: "Plan deletions of managed objects removed from git, as `apply --prune` would.")
    var prune = false

    func validate() throws {
        if against != nil && source.worktree {
            throw ValidationError("--against compares two revisions; it cannot be combined with --worktree")
        }
    }

    func run() async throws {
        var opened = try await DesiredSource.open(source)
        // With a regions file, a tenant whose region has no database is invalid here as apply finds it.
        opened.regions = try database.regionNames()
        let verified: TrustOptions.Trusted?
        if try trust.policy()?.mode == .strict {
            // Strict: the commits since the base of --against, or since the revision the database last applied.
            let base: String?
            if let against {
                base = try await DesiredSource.open(source, ref: against).commit
            } else {
                base = try await database.lastApplied()
            }
            verified = try await trust.verify(opened, lastApplied: base)
        } else {
            verified = try await trust.verify(opened)
        }
        let plan: Plan
        let base: String?
        let inventory: [InventoryEntry]
        let headRevision: String?
        // With a regions file: where each tenant's data is, from git and from the registry.
        let regional = opened.regions != nil
        var tenantRegions: [String: String]
        if let against {
            let baseOpened = try await DesiredSource.open(source, ref: against)
            base = baseOpened.commit ?? against
            headRevision = opened.commit
            let result = try await offline(opened, baseOpened, label: against)
            (plan, inventory, tenantRegions) = (result.plan, result.inventory, result.tenantRegions)
        } else {
            let head = try await DesiredSource.load(source, opened: opened, format: output.format)
            headRevision = head.revision
            tenantRegions = Placement.tenantRegions(head.desired)
            base = nil
            let options = Pass.Options(actor: "accordctl diff", keys: Pass.Keys(trustedKeys: try trusted.trustedKeys()), prune: prune)
            let pass = Pass(desired: head.desired, revision: head.revision, path: ManifestPaths.normalize(source.path) ?? "", options: options)
            let live: [String: String]
            (plan, inventory, live) = try await database.withSession { session in
                let (plan, inventory) = try await pass.previewWithInventory(session)
                return (plan, inventory, session.regions == nil ? [:] : try await Placement.tenantRegions(session))
            }
            tenantRegions.merge(live) { fromGit, _ in fromGit }
        }
        // The policy's signer rules, as apply will check them: a plan it would refuse fails the diff.
        var refusal: String?
        if let verified, !plan.steps.isEmpty {
            refusal = try await verified.authorize(plan.steps, plan.sourcePaths(inventory: inventory)).map { PlanRefusal(by: .signerRule, reason: $0).description }
        }
        if regional, refusal == nil, let moves = Pass.regionMoves(plan) { refusal = PlanRefusal(by: .residency, reason: moves).description }
        var report = PlanReport(plan: plan, revision: headRevision, against: base)
        if regional { report.databases = { Placement.databases(of: $0, tenantRegions: tenantRegions) } }
        switch output.format {
        case .text: Console.write(report.text(palette: .forStandardOutput()))
        case .json: Console.write(report.json(extra: ["refused": JSONValue(refusal)]))
        case .markdown: Console.write(report.markdown(refusal: refusal))
        }
        if let refusal {
            Console.error(CLIError("apply would refuse this plan: \(refusal); nothing would be written"))
            throw ExitCode(2)
        }
        throw ExitCode(plan.isEmpty ? 0 : 1)
    }

    /// The plan from --against's revision to the head's, with no database:
    /// at the speed of the change when the base's index is cached
    /// (`OfflineDiff.fast`). Without it the base is read whole and indexed,
    /// and the head read at the speed of the change against that index;
    /// only where that cannot be exact is the head read whole too. Both
    /// revisions' indexes are stored for the next diff.
    func offline(_ head: SourceOptions.Opened, _ base: SourceOptions.Opened, label: String) async throws -> OfflineDiff.Result {
        let cache = GitMirror.defaultCacheDirectory()
        func key(_ source: SourceOptions.Opened) async -> String? {
            (try? await source.treeDigest()).flatMap { $0 }.map { "\($0) accord \(AccordVersion.current)" }
        }
        let baseKey = await key(base), headKey = await key(head)
        var timings = Stopwatch()
        var startUp = Timings.sinceBegan()
        defer {
            startUp.lap("start-up: arguments, both revisions opened, their tree ids read", endingAt: timings.started)
            Timings.print(startUp, timings)
        }
        /// The fast plan against `index`, with the head's index stored unless it already is.
        func fast(_ index: DiffIndex.File) async throws -> OfflineDiff.Result? {
            guard let fast = try await OfflineDiff.fast(head: head, base: base, index: index, prune: prune, timings: &timings) else { return nil }
            // The head's index too, for a diff against it next (a pull request's next commit).
            if let headKey, let encode = fast.headIndex, !FileManager.default.fileExists(atPath: DiffIndex.file(headKey, in: cache)) {
                try? DiffIndex.store(encode(headKey), key: headKey, in: cache)
                timings.lap("fast diff: stored the head's index")
            }
            return fast
        }
        if let baseKey, let index = DiffIndex.load(baseKey, from: cache) {
            timings.lap("fast diff: read the base's index (\(index.count) objects)")
            if let result = try await fast(index) { return result }
        }
        // The base read whole (an invalid one is reported after the head's own errors, as both read whole would).
        let validated: RevisionSource.Validated
        do {
            validated = try await base.validated()
        } catch let invalid as InvalidRevision {
            _ = try await DesiredSource.load(source, opened: head, format: output.format)
            try DesiredSource.reject(invalid, format: output.format, label: label)
        } catch {
            Console.error(error)
            throw ExitCode(2)
        }
        let old = await RevisionSource.desired(validated)
        timings.append(old.timings)
        let encoded = DiffIndex(key: baseKey ?? "", desired: old.objects).encoded()
        if let baseKey { try? DiffIndex.store(encoded, key: baseKey, in: cache) }
        timings.lap("cold diff: the base read whole and its index stored")
        if let baseKey, let index = DiffIndex.File(encoded, key: baseKey), let result = try await fast(index) { return result }
        let new = try await DesiredSource.load(source, opened: head, format: output.format)
        timings.append(new.timings)
        let result = OfflineDiff.full(head: new.desired, base: old.objects, prune: prune)
        timings.lap("full diff: planned")
        if let headKey { try? DiffIndex(key: headKey, desired: new.desired).store(in: cache) }
        timings.lap("full diff: stored the head's index")
        return result
    }
}
