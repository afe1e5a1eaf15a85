import AccordCore
import AccordEngine
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
extension ApplyPass {
    /// More changed files than this share of all files is a full pass.
    static let incrementalShare = 0.02

    func incremental(_ session: Session, started: Date, timings: Stopwatch) async throws -> Report? {
        var timings = timings
        guard let listing = input.listing, let loadFiles = input.loadFiles, let changedSince = input.changedSince,
              let base = try await FastPath.base(session, path: path, prune: options.prune),
              let baseRevision = base.revision else { return nil }
        timings.lap("incremental: base state holds")
        guard let paths = await changedSince(baseRevision) else { return nil }
        timings.lap("incremental: git diff from \(baseRevision.prefix(12))")
        let touchedPaths = Set(paths)
        let changed = listing.filter { touchedPaths.contains($0.path) }
        // Changed paths no longer in the listing were removed.
        let removed = touchedPaths.subtracting(changed.map(\.path)).sorted()
        let touched = changed.map(\.path) + removed
        guard !touched.isEmpty, Double(touched.count) <= max(64, Self.incrementalShare * Double(listing.count)) else { return nil }

        // Read when the base was proved, before anything else was read.
        let markerBefore = base.marker
        let orphans = Set(base.orphaned)
        let touchedJSON = JSONValue(strings: touched).canonical
        let lookup: Input.Lookup = { ids in
            try await Self.outside(ids, excluding: touchedJSON, orphans: orphans, session)
        }
        guard let loaded = try await loadFiles(changed.map(\.path), lookup) else { return nil }
        let desired = try await gated(loaded, session)
        timings.lap("incremental: read \(changed.count) changed files (\(removed.count) removed), \(desired.count) objects")

        let newIDs = Set(desired.map(\.id))
        let inventory = try await LiveState.inventory(ids: newIDs, paths: touched, session)
        let oldIDs = Set(inventory.map(\.id))
        // An object that leaves git: the full pass checks what refers to it.
        for e in inventory where !e.retained && !orphans.contains(e.id) && !newIDs.contains(e.id) { return nil }
        let live = try await LiveState.read(newIDs.union(oldIDs), session)
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
        timings.lap("incremental: checked \(oldIDs.count) recorded objects of those files")

        let subset = Planner.plan(.init(desired: desired, live: live, inventory: inventory, prune: options.prune))
        // The base pass was complete: its managed objects are its desired ones and its orphans.
        let managed = base.objects + base.orphaned.count
        let before = inventory.filter { !$0.retained && !orphans.contains($0.id) }.count
        let objects = base.objects - before + desired.count
        let orphaned = (orphans.subtracting(oldIDs).union(subset.orphaned)).sorted()
        let plan = Plan(steps: subset.steps, orphaned: orphaned, unmanaged: subset.unmanaged,
                        unchanged: objects - subset.steps.count, managed: managed)
        timings.lap("incremental: plan (\(plan.steps.count) steps)")
        if let refusal = options.guardrail.refusal(plan) {
            return Report(plan: plan, refusal: refusal, outcome: nil, recorded: false, objects: objects, incremental: true, timings: timings)
        }
        if options.dryRun {
            return Report(plan: plan, refusal: nil, outcome: nil, recorded: false, objects: objects, incremental: true, timings: timings)
        }
        try await FastPath.invalidate(session)
        var executor = try await makeExecutor(session)
        let outcome = try await executor.run(plan, desired: desired, inventory: inventory)
        timings.lap("execute (\(outcome.applied.count) applied, \(outcome.bookkeeping) bookkeeping)")
        // The buckets of manifest hashes that left or joined the set.
        let oldHashes = Set(inventory.filter { !$0.retained && !orphans.contains($0.id) }.map(\.manifestHash))
        let newHashes = Set(desired.map(\.manifestHash))
        let touchedBuckets = Set(oldHashes.symmetricDifference(newHashes).map { Merkle.bucket(of: $0) })
        var buckets = try await FastPath.merkleBuckets(session)
        let recomputed = try await Self.bucketRoots(touchedBuckets, excluding: Set(orphaned), session)
        for b in touchedBuckets { buckets[b] = recomputed[b] }
        let merkleRoot = Merkle.combine(buckets)
        if outcome.isComplete {
            try await FastPath.storeMerkleBuckets(recomputed, replacing: false,
                                                  emptied: touchedBuckets.filter { recomputed[$0] == nil }.sorted(), session)
            try await FastPath.record(session, digest: input.listingDigest, path: path, prune: options.prune, revision: revision,
                                      objects: objects, orphaned: orphaned,
                                      marker: try await executor.marker(after: markerBefore))
        } else {
            try await FastPath.clear(session)
        }
        timings.lap("incremental: Merkle root")
        return try await recordHistory(session, plan: plan, outcome: outcome, audit: executor.auditHead, objects: objects,
                                       merkleRoot: merkleRoot, started: started, timings: timings, incremental: true)
    }

    /// Which of `ids` are desired objects defined outside the touched files,
    /// and what rows derived from them need (production versions, suspended
    /// tenants). Valid because nothing changed outside those files since the
    /// last complete pass.
    static func outside(_ ids: Set<ObjectID>, excluding touchedJSON: String, orphans: Set<ObjectID>,
                        _ session: Session) async throws -> Input.Outside {
        let keys = RegistryWriter.keysJSON(Array(ids))
        var existing = Set<ObjectID>()
        for row in try await session.rows("""
            SELECT i.kind, i.tenant, i.name
            FROM json_to_recordset($1::json) AS x(kind text, tenant text, name text)
            JOIN accord.inventory i ON i.kind = x.kind AND i.tenant = x.tenant AND i.name = x.name
            WHERE i.retained_at IS NULL
              AND i.source_path NOT IN (SELECT json_array_elements_text($2::json))
            """, [keys, touchedJSON]) {
            let (kind, tenant, name) = try row.decode((String, String, String).self)
            guard let id = ObjectID(stored: kind, tenant, name) else { continue }
            if !orphans.contains(id) { existing.insert(id) }
        }
        var context = DesiredState.Context()
        let models = JSONValue(strings: existing.filter { $0.kind == .model }.map(\.name)).canonical
        for row in try await session.rows("""
            SELECT name, production_version FROM platform.models WHERE name IN (SELECT json_array_elements_text($1::json))
            """, [models]) {
            let (name, production) = try row.decode((String, String?).self)
            if let production { context.production[name] = production }
        }
        let tenants = JSONValue(strings: existing.filter { $0.kind == .tenant }.map(\.name)).canonical
        for row in try await session.rows("""
            SELECT name FROM platform.tenants WHERE status = 'suspended' AND name IN (SELECT json_array_elements_text($1::json))
            """, [tenants]) {
            context.suspendedTenants.insert(try row.decode(String.self))
        }
        return Input.Outside(existing: existing, context: context)
    }

    /// Bucket roots recomputed from the inventory (managed objects but the
    /// orphaned) for the given buckets; empty buckets are absent.
    static func bucketRoots(_ buckets: Set<Int>, excluding orphaned: Set<ObjectID>, _ session: Session) async throws -> [Int: String] {
        let prefixes = buckets.map(Merkle.prefix(of:))
        var hashes: [String] = []
        for row in try await session.rows("""
            SELECT i.kind, i.tenant, i.name, i.manifest_hash
            FROM json_array_elements_text($1::json) AS p(prefix)
            JOIN accord.inventory i ON (i.manifest_hash COLLATE "C") >= p.prefix COLLATE "C"
                                   AND (i.manifest_hash COLLATE "C") < (p.prefix || 'g') COLLATE "C"
            WHERE i.retained_at IS NULL
            """, [JSONValue(strings: prefixes).canonical]) {
            let (kind, tenant, name, hash) = try row.decode((String, String, String, String).self)
            if let id = ObjectID(stored: kind, tenant, name), orphaned.contains(id) {
                continue
            }
            hashes.append(hash)
        }
        return Merkle.bucketRoots(hashes)
    }
}
