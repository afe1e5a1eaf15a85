import AccordCore
import AccordEngine
@testable import AccordStore
@testable import AccordSync
import AccordTestSupport
import Foundation
import Testing

/// `Pass.Options.holdBack`: the controller's per-object backoff.
@Suite(TestDatabase.required)
struct HoldBackTests {
    @Test func aHeldObjectIsLeftOutUntilItsManifestChanges() async throws {
        let db = try await TestDatabase.scratch()
        defer { Task { await db.drop() } }
        var manifests = try Manifests.examples()
        _ = try await ApplyTests.apply(manifests.desired(), db)

        manifests.edit("workers/brightpath.yaml", "replicas: 1", "replicas: 3")
        manifests.edit("workers/northwind.yaml", "replicas: 4", "replicas: 5")
        let desired = try manifests.desired()
        let triage = ObjectID(kind: .worker, tenant: "brightpath", name: "support-triage")
        let hash = try #require(desired.first { $0.id == triage }?.manifestHash)

        let held = try await ApplyTests.apply(desired, db, revision: "r2") { $0.holdBack = [triage: hash] }
        #expect(held.held.map(\.id) == [triage])
        #expect(held.outcome?.applied.map(\.id.name) == ["lead-enricher"])
        #expect(try await ApplyTests.scalar(db, "SELECT replicas::text FROM platform.workers WHERE name = 'support-triage'") == "1")
        #expect(try await ApplyTests.scalar(db, "SELECT replicas::text FROM platform.workers WHERE name = 'lead-enricher'") == "5")

        // Not a complete pass: the next one is not the fast path, and it applies what was held.
        let next = try await ApplyTests.apply(desired, db, revision: "r2")
        #expect(next.kind != .fast)
        #expect(next.outcome?.applied.map(\.id) == [triage])
        #expect(try await ApplyTests.scalar(db, "SELECT replicas::text FROM platform.workers WHERE name = 'support-triage'") == "3")

        // Held at an older manifest: the new one is attempted.
        manifests.edit("workers/brightpath.yaml", "replicas: 3", "replicas: 4")
        let changed = try await ApplyTests.apply(manifests.desired(), db, revision: "r3", configure: { $0.holdBack = [triage: hash] })
        #expect(changed.held.isEmpty)
        #expect(try await ApplyTests.scalar(db, "SELECT replicas::text FROM platform.workers WHERE name = 'support-triage'") == "4")
    }
}
