import AccordCore
@testable import AccordEngine
import Testing

/// Pairing, diffing, ordering and the deletion guard, on plain values.
@Suite struct PlannerTests {
    static func desired(_ id: ObjectID, _ fields: [String: JSONValue], manifest: String = "m") -> DesiredObject {
        DesiredObject(record: Record(id: id, fields: fields), manifestHash: manifest,
                      recordHash: sha256Hex(JSONValue.object(fields).canonical), sourcePath: "x.yaml", blobID: nil)
    }

    static func entry(_ d: DesiredObject, retained: Bool = false) -> InventoryEntry {
        InventoryEntry(id: d.id, manifestHash: d.manifestHash, recordHash: d.recordHash, blobID: nil,
                       sourcePath: d.sourcePath, generation: 1, retained: retained)
    }

    let tenant = ObjectID(kind: .tenant, name: "acme")
    let policy = ObjectID(kind: .retentionPolicy, name: "std")
    let worker = ObjectID(kind: .worker, tenant: "acme", name: "w")
    let flow = ObjectID(kind: .workflow, tenant: "acme", name: "f")

    @Test func createsRunInDependencyOrderAndDeletesInReverse() {
        let t = Self.desired(tenant, ["plan": .string("pro")])
        let p = Self.desired(policy, ["schedule": .string("1h")])
        let w = Self.desired(worker, ["replicas": .number(1)])
        let f = Self.desired(flow, ["definition": .object([:])])
        let plan = Planner.plan(.init(desired: [w, f, t, p], live: [], inventory: [], prune: true))
        #expect(plan.steps.map(\.id) == [policy, tenant, worker, flow])
        #expect(plan.steps.allSatisfy { $0.action == .create && $0.cause == .manifest })

        let removal = Planner.plan(.init(desired: [], live: [t.record, p.record, w.record, f.record],
                                         inventory: [t, p, w, f].map { Self.entry($0) }, prune: true))
        #expect(removal.steps.map(\.id) == [flow, worker, tenant, policy])
        #expect(removal.steps.map(\.action) == [.retain, .retain, .retain, .delete],
                "a tenant without deletionPolicy Delete is retained, and so are its workers and workflows")

        var deletable = t.record
        deletable.fields["deletion_policy"] = .string("Delete")
        let deletion = Planner.plan(.init(desired: [], live: [deletable, p.record, w.record, f.record],
                                          inventory: [t, p, w, f].map { Self.entry($0) }, prune: true))
        #expect(deletion.steps.map(\.action) == [.delete, .delete, .delete, .delete])

        // A worker removed alone is deleted even though its tenant retains.
        let alone = Planner.plan(.init(desired: [t, p, f], live: [t.record, p.record, w.record, f.record],
                                       inventory: [t, p, w, f].map { Self.entry($0) }, prune: true))
        #expect(alone.steps.map { "\($0.action.rawValue) \($0.id)" } == ["delete Worker/acme/w"])
    }

    @Test func aRowThatFollowsAnotherObjectIsADependencyAndAStalledObjectStaysInThePlan() {
        let w = Self.desired(worker, ["model_version": .string("1")])
        let moved = Self.desired(worker, ["model_version": .string("2")])
        let plan = Planner.plan(.init(desired: [moved], live: [w.record], inventory: [Self.entry(w)], prune: false))
        #expect(plan.steps.first?.cause == .dependency, "same manifest, new row: something it refers to changed")

        let stall = Stall(reason: .modelNotPromoted, message: "Model/m has no production version")
        let stalled = DesiredObject(record: Record(id: worker, fields: ["model_version": .null]), manifestHash: "m",
                                    recordHash: "r", sourcePath: "x.yaml", blobID: nil, stall: stall)
        var live = stalled.record
        live.fields["model_version"] = .null
        let waiting = Planner.plan(.init(desired: [stalled], live: [live], inventory: [], prune: false))
        #expect(waiting.steps.count == 1, "reported, not counted as in sync")
        #expect(waiting.steps.first?.desired?.stall == stall)
        #expect(waiting.unchanged == 0)
    }

    @Test func updatesNameEachChangedFieldAndTellDriftFromAChangeInGit() {
        let w = Self.desired(worker, ["replicas": .number(2), "capabilities": .array([.string("a")]), "role": .string("r")])
        var live = w.record
        live.fields["replicas"] = .number(9)
        let drift = Planner.plan(.init(desired: [w], live: [live], inventory: [Self.entry(w)], prune: false))
        #expect(drift.steps.first?.cause == .drift)
        #expect(drift.steps.first?.changes == [FieldChange(path: "replicas", old: .number(9), new: .number(2))])

        let changed = Self.desired(worker, ["replicas": .number(3), "capabilities": .array([.string("a")]), "role": .string("r")], manifest: "m2")
        let update = Planner.plan(.init(desired: [changed], live: [w.record], inventory: [Self.entry(w)], prune: false))
        #expect(update.steps.first?.cause == .manifest)
        #expect(update.steps.first?.changes.map(\.path) == ["replicas"])

        let adopted = Planner.plan(.init(desired: [changed], live: [w.record], inventory: [], prune: false))
        #expect(adopted.steps.first?.cause == .adopt)

        let deleted = Planner.plan(.init(desired: [w], live: [], inventory: [Self.entry(w)], prune: false))
        #expect(deleted.steps.first?.action == .create && deleted.steps.first?.cause == .drift)
    }

    @Test func nestedJSONChangesArePathsIntoTheColumn() {
        let old: JSONValue = .object(["steps": .array([.object(["name": .string("a"), "sla": .string("4h")])]), "trigger": .object(["manual": .bool(true)])])
        let new: JSONValue = .object(["steps": .array([.object(["name": .string("a"), "sla": .string("8h")])]), "trigger": .object(["event": .string("e")])])
        let changes = FieldDiff.changes(kind: .workflow, old: Record(id: flow, fields: ["definition": old]),
                                        new: Record(id: flow, fields: ["definition": new]))
        #expect(changes == [
            FieldChange(path: "definition.steps[a].sla", old: .string("4h"), new: .string("8h")),
            FieldChange(path: "definition.trigger.event", old: nil, new: .string("e")),
            FieldChange(path: "definition.trigger.manual", old: .bool(true), new: nil),
        ])
    }

    /// Steps (and retention rules) are matched by name: a step added in the
    /// middle is one change, a removed one another, a reorder says so.
    @Test func listsOfNamedObjectsAreComparedByName() {
        func step(_ name: String, _ sla: String = "1h") -> JSONValue { .object(["name": .string(name), "sla": .string(sla)]) }
        func changes(_ old: [JSONValue], _ new: [JSONValue]) -> [FieldChange] {
            FieldDiff.changes(kind: .workflow, old: Record(id: flow, fields: ["definition": .object(["steps": .array(old)])]),
                              new: Record(id: flow, fields: ["definition": .object(["steps": .array(new)])]))
        }
        #expect(changes([step("a"), step("c")], [step("a"), step("b"), step("c", "2h")]) == [
            FieldChange(path: "definition.steps[b]", old: nil, new: step("b")),
            FieldChange(path: "definition.steps[c].sla", old: .string("1h"), new: .string("2h")),
        ])
        #expect(changes([step("a"), step("b")], [step("b")]) == [FieldChange(path: "definition.steps[a]", old: step("a"), new: nil)])
        #expect(changes([step("a"), step("b")], [step("b"), step("a")])
                == [FieldChange(path: "definition.steps (order)", old: .array([.string("a"), .string("b")]), new: .array([.string("b"), .string("a")]))])
        // Without unique names, by position (same length) or as a whole.
        #expect(changes([step("a"), step("a")], [step("a"), step("a", "2h")]) == [FieldChange(path: "definition.steps[1].sla", old: .string("1h"), new: .string("2h"))])
        #expect(ManifestFieldPaths.path(.workflow, "definition.steps[b].sla") == "steps[b].sla")
        #expect(ManifestFieldPaths.path(.worker, "cost_per_task") == "costPerTask")
        #expect(ManifestFieldPaths.path(.tenant, "sso_issuer") == "auth.issuer")
        #expect(ManifestFieldPaths.path(.model, "versions.4.signature") == "versions[4].signature")
        #expect(ManifestFieldPaths.path(.model, "shadow_traffic_percent") == "shadow.trafficPercent")
    }

    @Test func withoutPruneRemovedObjectsAreOrphanedAndUnknownRowsUnmanaged() {
        let w = Self.desired(worker, ["replicas": .number(1)])
        let stranger = Record(id: ObjectID(kind: .tenant, name: "stranger"), fields: [:])
        let plan = Planner.plan(.init(desired: [], live: [w.record, stranger], inventory: [Self.entry(w)], prune: false))
        #expect(plan.isEmpty)
        #expect(plan.orphaned == [worker])
        #expect(plan.unmanaged == [stranger.id])

        let retained = Planner.plan(.init(desired: [], live: [w.record], inventory: [Self.entry(w, retained: true)], prune: true))
        #expect(retained.isEmpty && retained.unmanaged.isEmpty && retained.orphaned.isEmpty)
    }

    @Test func theDeletionGuardCountsAgainstManagedObjects() {
        let objects = (0..<20).map { Self.desired(ObjectID(kind: .retentionPolicy, name: "p\($0)"), [:]) }
        let inventory = objects.map { Self.entry($0) }
        func plan(keeping n: Int) -> Plan {
            Planner.plan(.init(desired: Array(objects.prefix(n)), live: objects.map(\.record), inventory: inventory, prune: true))
        }
        let guardrail = DeletionGuard()
        #expect(guardrail.refusal(plan(keeping: 18)) == nil, "2 of 20 is exactly 10%")
        #expect(guardrail.refusal(plan(keeping: 17))?.contains("3 of 20 managed objects, more than the 10%") == true)
        #expect(guardrail.refusal(plan(keeping: 0))?.contains("all 20 managed objects") == true)
        #expect(DeletionGuard(maxShare: 1).refusal(plan(keeping: 0)) != nil, "removing everything always needs the explicit flag")
        #expect(DeletionGuard(allowed: true).refusal(plan(keeping: 0)) == nil)
    }

    @Test func merkleRootIsOrderIndependentAndPairsRawDigests() {
        let a = sha256Hex("a"), b = sha256Hex("b"), c = sha256Hex("c")
        #expect(Merkle.root([a, b, c]) == Merkle.root([c, a, b]))
        #expect(Merkle.root([a]) == a)
        #expect(Merkle.root([]) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(Merkle.root([a, b]) != Merkle.root([a, c]))
        #expect(Merkle.root([a, b, c]).count == 64)

        // Values worked out independently: SHA-256 over the concatenated raw
        // 32-byte digests, neighbours paired, an odd last node moving up.
        let x = "00" + String(repeating: "1", count: 62), y = "ff" + String(repeating: "2", count: 62)
        let z = "0a" + String(repeating: "3", count: 62)
        #expect(Merkle.root([y, x]) == "27afe0ec2ba582b03b9e7201809bc551f06799efa3b54357194173ca271df1a1")
        #expect(Merkle.root([y, z, x]) == "9dbe745a4dbb2207091b0c202a7c0882f3034566083e99274754f84890700372")
    }

    @Test func merkleBucketsRecomputeOnlyWhatChanged() {
        let hashes = (0..<2_000).map { sha256Hex("manifest \($0)") }
        var buckets = Merkle.bucketRoots(hashes)
        #expect(buckets.count > 1_000)
        #expect(buckets.keys.allSatisfy { (0..<4096).contains($0) })
        #expect(hashes.allSatisfy { $0.hasPrefix(Merkle.prefix(of: Merkle.bucket(of: $0))) })
        #expect(Merkle.combine(buckets) == Merkle.root(hashes))
        // Replace one manifest: only its old and new buckets change.
        var changed = hashes
        changed[7] = sha256Hex("manifest 7, edited")
        let touched = Set([Merkle.bucket(of: hashes[7]), Merkle.bucket(of: changed[7])])
        let recomputed = Merkle.bucketRoots(changed.filter { touched.contains(Merkle.bucket(of: $0)) })
        for b in touched { buckets[b] = recomputed[b] }
        #expect(Merkle.combine(buckets) == Merkle.root(changed))
        #expect(Merkle.root(changed) != Merkle.root(hashes))
    }
}
