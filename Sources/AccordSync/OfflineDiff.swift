import AccordCore
import AccordEngine
import AccordSource
import Foundation

/// `accordctl diff --against BASE`: the plan from one revision to another,
/// with no database. Read whole (`full`), both revisions are parsed; at
/// the speed of the change (`fast`), only the files git's tree diff names
/// are read, at both revisions, and the rest of the base is known from
/// its index (`DiffIndex`): every object outside those files is the same
/// at both revisions, so it has no step, and what the changed files need
/// of it — which identities exist, what they refer to, production versions
/// and suspended tenants — is in the index. The fast plan is the full
/// plan; where that cannot be shown from the changed files and the index
/// (a change not valid on its own, an object removed that another file
/// refers to, a production version or a tenant's status that other files'
/// rows derive from, a Store, more changed files than the shortcut is
/// worth) `fast` returns nil and the caller reads both revisions whole.
public enum OfflineDiff {
    public struct Result: Sendable {
        public let plan: Plan
        /// The base's objects as inventory entries (the planned ones at least):
        /// where each object that left git was written.
        public let inventory: [InventoryEntry]
        /// Each tenant's region, the head's over the base's (for the databases a step writes).
        public let tenantRegions: [String: String]
        /// The head's index encoded under a key, when it is known without
        /// another read (the base's index with the changed files' entries).
        public let headIndex: (@Sendable (String) -> [UInt8])?
    }

    /// More changed files than this share of the base's files is read whole.
    static let share = 0.02

    static func entry(_ d: DesiredObject) -> InventoryEntry {
        InventoryEntry(id: d.id, manifestHash: d.manifestHash, recordHash: d.recordHash,
                       blobID: d.blobID, sourcePath: d.sourcePath, generation: 1)
    }

    static func regions(_ desired: [DesiredObject], into out: inout [String: String]) {
        for d in desired where d.id.kind == .tenant {
            if let region = d.record["region"].stringValue { out[d.id.name] = region }
        }
    }

    /// Both revisions read whole.
    public static func full(head: [DesiredObject], base: [DesiredObject], prune: Bool) -> Result {
        // The hashes are worked out here, on every core (`DesiredObject`).
        let inventory = ParallelMap.run(base, entry)
        let plan = Planner.plan(.init(desired: head, live: base.map(\.record), inventory: inventory, prune: prune))
        var tenantRegions: [String: String] = [:]
        regions(base, into: &tenantRegions)
        regions(head, into: &tenantRegions)
        return Result(plan: plan, inventory: inventory, tenantRegions: tenantRegions, headIndex: nil)
    }

    /// Only the changed files read, the rest from the base's index; nil
    /// when the full read is needed to be exact (see the type).
    public static func fast(head: RevisionSource, base: RevisionSource, index: DiffIndex.File, prune: Bool,
                            timings: inout Stopwatch) async throws -> Result? {
        guard let baseCommit = base.commit, let paths = await head.changedPaths(since: baseCommit) else { return nil }
        timings.lap("fast diff: git diff from \(baseCommit.prefix(12)): \(paths.count) files")
        guard Double(paths.count) <= max(64, share * Double(index.fileCount)) else { return nil }
        let changed = Set(paths)
        guard let oldFiles = try await base.blobIDs(paths), let newFiles = try await head.blobIDs(paths),
              let oldPart = try await base.read(oldFiles.map(\.path)), let newPart = try await head.read(newFiles.map(\.path)) else { return nil }
        timings.append(oldPart.timings)
        timings.append(newPart.timings)
        // A Store, or an object referring to one, is checked against every Store's regions and entries.
        let named = oldPart.ids.union(oldPart.references).union(newPart.ids).union(newPart.references)
        guard !named.contains(where: { $0.kind == .store }) else { return nil }

        // Everything outside the changed files, from the index, in one scan: of the identities the
        // changed files define or name, which exist outside them, and what rows derive from
        // (production versions, suspended tenants, regions); whether anything outside refers to
        // an object the changed files no longer define; with a regions file, whether every
        // unchanged tenant's region has a database.
        guard let found = index.outside(skipping: changed, asked: named, gone: oldPart.ids.subtracting(newPart.ids),
                                        regions: head.regions?.names) else { return nil }
        let outside = found.existing, context = found.context
        var tenantRegions = found.tenantRegions
        timings.lap("fast diff: \(found.kept) objects outside the changed files, from the index")
        guard let old = RevisionSource.desired(oldPart, outside: outside, context: context),
              let new = RevisionSource.desired(newPart, outside: outside, context: context) else { return nil }
        var oldByID: [ObjectID: DesiredObject] = [:]
        for d in old { oldByID[d.id] = d }
        // Rows of other files derive from a Model's production version and a Tenant's status.
        for d in new {
            guard let o = oldByID[d.id] else { continue }
            switch d.id.kind {
            case .model where o.record["production_version"] != d.record["production_version"]: return nil
            case .tenant where o.record["status"] != d.record["status"]: return nil
            default: continue
            }
        }
        let inventory = ParallelMap.run(old, entry)
        let subset = Planner.plan(.init(desired: new, live: old.map(\.record), inventory: inventory, prune: prune))
        let baseTotal = index.count
        let headTotal = baseTotal - old.count + new.count
        let plan = Plan(steps: subset.steps, orphaned: subset.orphaned, unmanaged: subset.unmanaged,
                        unchanged: headTotal - (new.count - subset.unchanged), managed: baseTotal)
        regions(old, into: &tenantRegions)
        regions(new, into: &tenantRegions)
        timings.lap("fast diff: planned \(old.count) objects before, \(new.count) after")
        let added = new.map(DiffIndex.Entry.init)
        return Result(plan: plan, inventory: inventory, tenantRegions: tenantRegions,
                      headIndex: { key in index.encoded(key: key, replacing: changed, with: added) })
    }
}
