import AccordCore
import AccordEngine
import Testing

/// How a group of steps is cut into transactions.
@Suite struct BatchingTests {
    static func tenant(_ i: Int, schema: Bool) -> PlanStep {
        let id = ObjectID(kind: .tenant, name: "t\(i)")
        let record = Record(id: id, fields: ["isolation": .string(schema ? "schema" : "shared")])
        return PlanStep(id: id, action: .create, cause: .manifest, changes: [],
                        desired: DesiredObject(record: record, manifestHash: "h\(i)", recordHash: "r\(i)", sourcePath: "t.yaml", blobID: nil))
    }

    @Test func tenantsGoInBatchesOfAtMost2000WithAtMost20OwnSchemas() {
        // 500 tenants, every tenth with its own schema: 50 schema tenants,
        // so a batch is cut at the 21st.
        let steps = (0..<500).map { Self.tenant($0, schema: $0 % 10 == 0) }
        let batches = ExecutionOrder.batches(steps)
        #expect(batches.flatMap { $0 }.map(\.id) == steps.map(\.id), "every step once, in order")
        #expect(batches.allSatisfy { $0.count <= ExecutionOrder.tenantBatchSize })
        #expect(batches.map { $0.count } == [200, 200, 100])

        // In the shared stores: 2,000 per transaction, as other kinds.
        let shared = (0..<4_500).map { Self.tenant($0, schema: false) }
        #expect(ExecutionOrder.batches(shared).map(\.count) == [2_000, 2_000, 500])

        // All with their own schema: 20 per transaction.
        let schemas = (0..<45).map { Self.tenant($0, schema: true) }
        #expect(ExecutionOrder.batches(schemas).map(\.count) == [20, 20, 5])
    }

    @Test func otherKindsGoInBatchesOf2000() {
        let steps = (0..<4500).map { i -> PlanStep in
            let id = ObjectID(kind: .worker, tenant: "t", name: "w\(i)")
            return PlanStep(id: id, action: .update, cause: .manifest, changes: [], desired: nil)
        }
        #expect(ExecutionOrder.batches(steps).map(\.count) == [2000, 2000, 500])
        #expect(ExecutionOrder.batches([]).isEmpty)
    }
}

/// The executor's pure half: which steps wait, which are held, which need a key.
@Suite struct ExecutionOrderTests {
    static func step(_ id: ObjectID, _ action: Action = .create, record: [String: JSONValue] = [:], stall: Stall? = nil,
                     changes: [FieldChange] = []) -> PlanStep {
        PlanStep(id: id, action: action, cause: .manifest, changes: changes,
                 desired: DesiredObject(record: Record(id: id, fields: record), manifestHash: "h", recordHash: "r",
                                        sourcePath: "x.yaml", blobID: nil, stall: stall))
    }

    @Test func groupsFollowKindAndAction() {
        let t = ObjectID(kind: .tenant, name: "t"), w1 = ObjectID(kind: .worker, tenant: "t", name: "a"), w2 = ObjectID(kind: .worker, tenant: "t", name: "b")
        let groups = ExecutionOrder.groups([Self.step(t), Self.step(w1), Self.step(w2), Self.step(w2, .update)])
        #expect(groups.map { $0.map(\.id) } == [[t], [w1, w2], [w2]])
    }

    @Test func anObjectReferringToAFailedOneWaitsAndAStallHoldsOrWaits() {
        let model = ObjectID(kind: .model, name: "m")
        let worker = ObjectID(kind: .worker, tenant: "t", name: "w")
        let other = ObjectID(kind: .worker, tenant: "t", name: "o")
        let blocked = Stall(reason: .promotionBlocked, message: "blocked", appliesRest: true)
        let waiting = Stall(reason: .modelNotPromoted, message: "no production version")
        let triage = ExecutionOrder.triage([
            Self.step(worker, record: ["model": .string("m")]),
            Self.step(other, record: ["model": .string("n")], stall: waiting),
            Self.step(model, .update, stall: blocked, changes: [FieldChange(path: "versions", old: nil, new: .null)]),
        ], failed: [model])
        #expect(triage.waiting.map(\.step.id) == [worker, other])
        #expect(triage.waiting[0].failure.reason == .dependencyNotReady && triage.waiting[0].failure.disposition == .waiting)
        #expect(triage.waiting[0].failure.message == "Model/m was not applied")
        #expect(triage.waiting[1].failure.reason == .modelNotPromoted && triage.waiting[1].failure.stalled)
        #expect(triage.ready.map(\.id) == [model], "a blocked promotion applies the rest of its row")
        #expect(triage.held.map(\.step.id) == [model] && triage.held[0].failure.reason == .promotionBlocked)
        // An unchanged model that only reports its blocked promotion writes nothing.
        let quiet = ExecutionOrder.triage([Self.step(model, .update, stall: blocked)], failed: [])
        #expect(quiet.ready.isEmpty && quiet.held.count == 1)
    }

    @Test func aFailedLiveModelDoesNotHoldItsWorkers() {
        let model = ObjectID(kind: .model, name: "m")
        #expect(!ExecutionOrder.blocksDependents(Self.step(model, .update)))
        #expect(ExecutionOrder.blocksDependents(Self.step(model, .create)))
    }

    @Test func tenantsWithoutAnActiveKeyGetTheNextVersionOrWait() {
        let a = Self.step(ObjectID(kind: .tenant, name: "a")), b = Self.step(ObjectID(kind: .tenant, name: "b"))
        let c = Self.step(ObjectID(kind: .tenant, name: "c"))
        let known = ["a": ExecutionOrder.KeyState(latest: 2, active: true), "b": ExecutionOrder.KeyState(latest: 3, active: false)]
        let keyed = ExecutionOrder.dataKeys([a, b, c], known: known, hasKEK: true)
        #expect(keyed.ready.map(\.id.name) == ["a", "b", "c"] && keyed.newKeys == ["b": 4, "c": 1] && keyed.waiting.isEmpty)
        let without = ExecutionOrder.dataKeys([a, b, c], known: known, hasKEK: false)
        #expect(without.ready.map(\.id.name) == ["a"] && without.newKeys.isEmpty)
        #expect(without.waiting.map(\.failure.reason) == [.keyEncryptionKeyMissing, .keyEncryptionKeyMissing])
        #expect(ExecutionOrder.needsDataKeys([a]) && !ExecutionOrder.needsDataKeys([Self.step(ObjectID(kind: .tenant, name: "a"), .delete)]))
    }
}
