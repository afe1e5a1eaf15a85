import AccordCore
import AccordEngine
import AccordSource
import AccordStore
import Foundation

/// A pass that reads only the manifest files whose blob ids changed since
/// the last complete pass, and plans only their objects. It runs when that
/// pass's base still holds (`FastPath.base`: same path and prune setting,
/// no outside write to `platform`, no failure), so every object in an
/// unchanged file is exactly as that pass left it, live and desired.
///
/// It handles what is common and local — objects changed, added or moved
/// between the changed files — and hands everything else to the full pass,
/// which is always correct: a change that is not valid on its own, an
/// object removed from git, a model whose production version or a tenant
/// whose status changes (their workers in other files would change too),
/// or more changed files than the shortcut is worth.
///
/// A targeted pass (drift heard from `DriftNotices`) plans the same way,
/// over the files of the objects written outside Accord.
extension Pass {
    /// More changed files than this share of all files is a full pass.
    static let incrementalShare = 0.02

    func incremental(_ session: Session, digest: String, timings: Stopwatch) async throws -> Planned? {
        var timings = timings
        guard case .revision(let source) = input,
              let base = try await FastPath.base(session, path: path, prune: options.prune),
              let baseRevision = base.revision else { return nil }
        timings.lap("incremental: base state holds")
        guard let paths = await source.changedPaths(since: baseRevision) else { return nil }
        timings.lap("incremental: git diff from \(baseRevision.prefix(12))")
        return try await partial(.incremental, paths: paths, source: source, base: base, digest: digest, session, timings: timings)
    }

    /// A pass that reverts the objects written outside Accord that the
    /// controller heard of (`Options.drift`), at the revision the last
    /// complete pass applied: it reads the files those objects are written
    /// in and plans their objects, as an incremental pass plans changed
    /// files. It runs when that pass's base holds but for outside writes,
    /// and every outside write since it began was heard
    /// (`FastPath.base(heardSince:)`), so every object not heard of is as
    /// that pass left it. It never records a new base (the next pass
    /// that is not targeted is a full one); it does not forget the old
    /// one either, which only it trusts, and only for what it reverts.
    func targeted(_ session: Session, digest: String, drift: Drift, timings: Stopwatch) async throws -> Planned? {
        var timings = timings
        guard case .revision(let source) = input, !drift.objects.isEmpty, let heardSince = drift.heardSince,
              let base = try await FastPath.base(session, path: path, prune: options.prune, heardSince: heardSince),
              base.revision == revision, base.digest == digest else { return nil }
        timings.lap("targeted: base state holds, every outside write since heard")
        // Rows written outside for objects Accord does not manage have no file: they are left alone, as a full pass leaves them.
        let paths = Set(try await LiveState.inventory(ids: drift.objects, paths: [], session).map(\.sourcePath)).sorted()
        timings.lap("targeted: \(drift.objects.count) objects written outside, in \(paths.count) files")
        return try await partial(.targeted, paths: paths, source: source, base: base, digest: digest, session, timings: timings)
    }

    /// The plan of the objects in `paths` (changed files, or the files of
    /// objects written outside) against a base that holds for the rest.
    private func partial(_ kind: PassKind, paths: [String], source: RevisionSource, base: FastPath.State, digest: String,
                         _ session: Session, timings: Stopwatch) async throws -> Planned? {
        var timings = timings
        let label = kind.rawValue
        // Only the changed files are looked up, by path: the tree is never walked.
        guard Double(paths.count) <= max(64, Self.incrementalShare * Double(base.objects)),
              let changed = try await source.blobIDs(paths) else { return nil }
        // Changed paths that are no files of the revision were removed.
        let removed = Set(paths).subtracting(changed.map(\.path)).sorted()
        let touched = changed.map(\.path) + removed
        timings.lap("\(label): \(changed.count) changed and \(removed.count) removed files looked up")

        // Read when the base was proved, before anything else was read.
        let markerBefore = base.marker
        let orphans = Set(base.orphaned)
        guard let partial = try await source.read(changed.map(\.path)) else { return nil }
        timings.append(partial.timings)
        // A Store, or an object referring to one, is checked against the
        // Stores' regions and entries, which only the full pass reads.
        guard !partial.ids.union(partial.references).contains(where: { $0.kind == .store }) else { return nil }
        let outside = try await IncrementalReads.outside(partial.ids.union(partial.references), excluding: touched,
                                                         orphans: orphans, session)
        timings.lap("\(label): look up \(partial.references.count) references outside")
        guard let loaded = RevisionSource.desired(partial, outside: outside.existing, context: outside.context) else { return nil }
        let desired = try await gated(loaded, session)
        timings.lap("\(label): read \(changed.count) files (\(removed.count) removed), \(desired.count) objects")

        let newIDs = Set(desired.map(\.id))
        let inventory = try await LiveState.inventory(ids: newIDs, paths: touched, session)
        let oldIDs = Set(inventory.map(\.id))
        // An object that leaves git: the full pass checks what refers to it.
        for e in inventory where !e.retained && !orphans.contains(e.id) && !newIDs.contains(e.id) { return nil }
        let live = try await LiveState.read(newIDs.union(oldIDs), session)
        if kind == .incremental {
            // A desired change that other files' objects derive from: the full pass plans those too.
            // (A targeted pass plans the same desired state, whatever was written outside.)
            var liveByID: [ObjectID: Record] = [:]
            for r in live { liveByID[r.id] = r }
            for d in desired {
                guard let row = liveByID[d.id] else { continue }
                switch d.id.kind {
                case .model where row["production_version"] != d.record["production_version"]: return nil
                case .tenant where row["status"] != d.record["status"]: return nil
                default: continue
                }
            }
        }
        timings.lap("\(label): checked \(oldIDs.count) recorded objects of those files")

        let subset = Planner.plan(.init(desired: desired, live: live, inventory: inventory, prune: options.prune))
        // The base pass was complete: its managed objects are its desired ones and its orphans.
        let managed = base.objects + base.orphaned.count
        let before = inventory.filter { !$0.retained && !orphans.contains($0.id) }
        let objects = base.objects - before.count + desired.count
        let orphaned = (orphans.subtracting(oldIDs).union(subset.orphaned)).sorted()
        let plan = Plan(steps: subset.steps, orphaned: orphaned, unmanaged: subset.unmanaged,
                        unchanged: objects - subset.steps.count, managed: managed)
        // The buckets of manifest hashes that left or joined the set.
        let touchedBuckets = Set(Set(before.map(\.manifestHash)).symmetricDifference(desired.map(\.manifestHash))
            .map { Merkle.bucket(of: $0) })
        return Planned(kind: kind, plan: plan, desired: desired, inventory: inventory, inventoryIsComplete: false,
                       objects: objects, markerBefore: markerBefore,
                       merkle: .touched(touchedBuckets, orphaned: Set(orphaned)),
                       listingDigest: digest, bulkLoad: false, timings: timings)
    }
}
