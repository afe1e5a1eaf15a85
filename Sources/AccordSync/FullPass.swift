import AccordCore
import AccordEngine
import AccordStore
import Foundation

extension Pass {
    /// Every manifest read and every live row compared: always correct.
    func full(_ session: Session, digest: String?, timings: Stopwatch) async throws -> Planned {
        var timings = timings
        let loaded = try await load()
        timings.append(loaded.timings)
        timings.lap("load desired state")
        let desired = try await gated(loaded.objects, session)
        timings.lap("model promotion gate")
        let markerBefore = try await FastPath.marker(session)
        let live = try await LiveState.read(session)
        timings.lap("read live state (\(live.records.count) rows, \(live.inventory.count) inventory)")
        let plan = Planner.plan(.init(desired: desired, live: live.records, inventory: live.inventory, prune: options.prune))
        return Planned(kind: .full, plan: plan, desired: desired, inventory: live.inventory, inventoryIsComplete: true,
                       objects: desired.count, markerBefore: markerBefore,
                       merkle: .all(storeBuckets: digest != nil), listingDigest: digest,
                       bulkLoad: live.inventory.isEmpty && plan.count(.create) >= options.bulkLoadThreshold,
                       timings: timings)
    }
}
