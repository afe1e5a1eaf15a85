import AccordCore
import AccordEngine
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
        let head = try await DesiredSource.load(source, opened: opened, format: output.format)
        let plan: Plan
        let base: String?
        let inventory: [InventoryEntry]
        // With a regions file: where each tenant's data is, from git and from the registry.
        let regional = opened.regions != nil
        var tenantRegions = Placement.tenantRegions(head.desired)
        if let against {
            let old = try await DesiredSource.load(source, ref: against, format: output.format, label: against)
            base = old.revision ?? against
            inventory = old.desired.map {
                InventoryEntry(id: $0.id, manifestHash: $0.manifestHash, recordHash: $0.recordHash,
                               blobID: $0.blobID, sourcePath: $0.sourcePath, generation: 1)
            }
            plan = Planner.plan(.init(desired: head.desired, live: old.desired.map(\.record), inventory: inventory, prune: prune))
            tenantRegions.merge(Placement.tenantRegions(old.desired)) { new, _ in new }
        } else {
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
        var report = PlanReport(plan: plan, revision: head.revision, against: base)
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
}
