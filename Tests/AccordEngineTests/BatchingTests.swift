import AccordCore
@testable import AccordStore
import Testing

/// How a group of steps is cut into transactions.
@Suite struct BatchingTests {
    static func tenant(_ i: Int, schema: Bool) -> PlanStep {
        let id = ObjectID(kind: .tenant, name: "t\(i)")
        let record = Record(id: id, fields: ["isolation": .string(schema ? "schema" : "shared")])
        return PlanStep(id: id, action: .create, cause: .manifest, changes: [],
                        desired: DesiredObject(record: record, manifestHash: "h\(i)", recordHash: "r\(i)", sourcePath: "t.yaml", blobID: nil))
    }

    @Test func tenantsGoInBatchesOfAtMost200WithAtMost20OwnSchemas() {
        // 500 tenants, every tenth with its own schema: 50 schema tenants.
        let steps = (0..<500).map { Self.tenant($0, schema: $0 % 10 == 0) }
        let batches = Executor.batches(steps)
        #expect(batches.flatMap { $0 }.map(\.id) == steps.map(\.id), "every step once, in order")
        #expect(batches.allSatisfy { $0.count <= Executor.tenantBatchSize })
        #expect(batches.map { $0.count } == [200, 200, 100])

        // All with their own schema: 20 per transaction.
        let schemas = (0..<45).map { Self.tenant($0, schema: true) }
        #expect(Executor.batches(schemas).map(\.count) == [20, 20, 5])
    }

    @Test func otherKindsGoInBatchesOf2000() {
        let steps = (0..<4500).map { i -> PlanStep in
            let id = ObjectID(kind: .worker, tenant: "t", name: "w\(i)")
            return PlanStep(id: id, action: .update, cause: .manifest, changes: [], desired: nil)
        }
        #expect(Executor.batches(steps).map(\.count) == [2000, 2000, 500])
        #expect(Executor.batches([]).isEmpty)
    }
}
