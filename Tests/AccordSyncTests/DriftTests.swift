import AccordCore
import AccordEngine
import AccordGit
import AccordSource
@testable import AccordStore
@testable import AccordSync
import AccordTestSupport
import Foundation
import Synchronization
import Testing

/// Writes made outside Accord, heard as they commit (`DriftNotices`), and
/// the targeted pass that reverts exactly them — against a real PostgreSQL
/// and a real git repository.
@Suite(TestDatabase.required)
struct DriftTests {
    @Test func everyRegistryTableNotifiesAndPayloadsParseToTheirObjects() {
        #expect(Set(DriftNotices.tables.map(\.name)) == Set(Migrations.platformTables))
        #expect(DriftNotices.tables.count == Migrations.platformTables.count)
        let cases: [(String, DriftNotices.Notice?)] = [
            (#"{"table":"workers","key":["acme","w1"]}"#, .object(ObjectID(kind: .worker, tenant: "acme", name: "w1"))),
            (#"{"table":"tenants","key":["acme"]}"#, .object(ObjectID(kind: .tenant, name: "acme"))),
            (#"{"table":"model_versions","key":["scorer"]}"#, .object(ObjectID(kind: .model, name: "scorer"))),
            (#"{"table":"workflow_versions","key":["acme","report"]}"#, .object(ObjectID(kind: .workflow, tenant: "acme", name: "report"))),
            (#"{"table":"stores","key":["eu"]}"#, .object(ObjectID(kind: .store, name: "eu"))),
            (#"{"table":"erasures","all":true}"#, .kind(.erasure)),
            (#"{"table":"workers","key":["acme","w1"],"tx":"7741"}"#, .object(ObjectID(kind: .worker, tenant: "acme", name: "w1"), transaction: 7741)),
            (#"{"committed":"7741"}"#, .committed(transaction: 7741)),
            (#"{"committed":7741}"#, nil),
            (#"{"table":"workers","key":["acme","w1"],"tx":"x"}"#, nil),
            (#"{"table":"workers","key":["acme"]}"#, nil),
            (#"{"table":"workers","key":["acme",null]}"#, nil),
            (#"{"table":"gadgets","key":["a"]}"#, nil),
            (#"{"table":"tenants","key":[""]}"#, nil),
            ("not json", nil),
        ]
        for (payload, expected) in cases {
            #expect(DriftNotices.parse(payload) == expected, "\(payload)")
        }
    }

    @Test func outsideWritesAreHeardWithTheirKeysAndAccordsOwnAreNot() async throws {
        let db = try await TestDatabase.scratch()
        defer { Task { await db.drop() } }
        _ = try await FastPathTests.run(try Manifests.examples().desired(), digest: "d1", db)
        let heard = Mutex<[DriftNotices.Notice]>([])
        let (listening, began) = AsyncStream.makeStream(of: Int64.self)
        let listener = Task {
            try await db.withSession { session in
                try await DriftNotices.listen(session, listening: { began.yield($0) }) { notice in
                    heard.withLock { $0.append(notice) }
                }
            }
        }
        defer { listener.cancel() }
        var started = listening.makeAsyncIterator()
        let since = try #require(await started.next())
        #expect(since == 0, "no outside write yet")

        try await db.withSession { session in
            try await session.script("""
                UPDATE platform.workers SET replicas = 7 WHERE name = 'crm-updater';
                UPDATE platform.model_versions SET artifact = 'x' WHERE model = 'lead-scorer';
                INSERT INTO platform.retention_policies (name, rules, schedule) SELECT 'rogue', rules, schedule FROM platform.retention_policies LIMIT 1;
                DELETE FROM platform.retention_policies WHERE name = 'rogue';
                """)
            // Accord's own writes are not drift.
            try await session.transaction {
                try await session.execute("SET LOCAL accord.applier = 'on'")
                try await session.execute("UPDATE platform.workers SET replicas = 9 WHERE name = 'lead-enricher'")
            }
            try await session.execute("TRUNCATE platform.erasures")
        }
        let expected: [DriftNotices.Notice] = [
            .object(ObjectID(kind: .worker, tenant: "northwind", name: "crm-updater")),
            .object(ObjectID(kind: .model, name: "lead-scorer")),
            .object(ObjectID(kind: .retentionPolicy, name: "rogue")),
            .object(ObjectID(kind: .retentionPolicy, name: "rogue")),
            .kind(.erasure),
        ]
        // The rows' notices without their transactions, and each transaction's commit notice.
        func rows(_ notices: [DriftNotices.Notice]) -> [DriftNotices.Notice] {
            notices.compactMap {
                switch $0 {
                case .object(let id, _): .object(id)
                case .kind: $0
                case .committed: nil
                }
            }
        }
        let deadline = ContinuousClock.now + .seconds(30)
        while rows(heard.withLock { $0 }).count < expected.count, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
        }
        try await Task.sleep(for: .milliseconds(200))
        // One notice per row written, in commit order; PostgreSQL delivers a payload repeated within one
        // transaction once (lead-scorer's versions are several rows of one statement).
        let versions = try await ApplyTests.scalar(db, "SELECT count(*)::text FROM platform.model_versions WHERE model = 'lead-scorer'")
        #expect(versions != "1", "the model has several version rows")
        let all = heard.withLock { $0 }
        #expect(rows(all) == expected)
        // Every row's notice names its transaction, whose commit notice follows it, once; Accord's own
        // transaction and the TRUNCATE send none.
        var transactions: [Int64] = []
        for (i, notice) in all.enumerated() {
            guard case .object(_, let transaction) = notice else { continue }
            let tx = try #require(transaction, "\(notice) names no transaction")
            #expect(all[(i + 1)...].contains(.committed(transaction: tx)), "\(all)")
            if transactions.last != tx { transactions.append(tx) }
        }
        let commits = all.compactMap { if case .committed(let tx) = $0 { tx } else { nil } }
        #expect(commits == transactions, "\(all)")
        #expect(try await db.withSession { try await FastPath.outsideWrites($0) } > since)
    }

    /// The example platform committed to a real repository, applied by a pass over that revision.
    struct Applied {
        let fixture: GitFixture
        let source: RevisionSource

        init(_ db: ScratchDatabase) async throws {
            fixture = try GitFixture(copying: Manifests.root.appendingPathComponent("examples/platform"))
            let commit = try fixture.commit("the example platform")
            source = RevisionSource(repository: try await GitRepository.open(at: fixture.root.path), commit: commit, directory: "")
            let first = try await run(db)
            #expect(first.outcome?.applied.count == 25)
        }

        func run(_ db: ScratchDatabase, drift: Drift? = nil, full: Bool = false, dryRun: Bool = false) async throws -> Pass.Report {
            var options = Pass.Options(actor: "accord-controller")
            options.keys.kek = TestKeys.kek
            options.keys.trustedKeys = ExampleKeys.trusted
            options.keys.signingKey = ExampleKeys.signing
            options.runErasuresAndRetention = false
            options.drift = drift
            options.full = full
            options.dryRun = dryRun
            return try await db.withSession { try await Pass(source: source, options: options).run($0) }
        }
    }

    @Test func aTargetedPassRevertsExactlyTheObjectsHeardAsAFullPassWould() async throws {
        let db = try await TestDatabase.scratch()
        defer { Task { await db.drop() } }
        let applied = try await Applied(db)
        let since = try await db.withSession { try await FastPath.outsideWrites($0) }
        try await db.withSession { session in
            try await session.script("""
                UPDATE platform.workers SET replicas = 40, status = 'stopped' WHERE name = 'risk-analyst';
                UPDATE platform.tenants SET status = 'suspended' WHERE name = 'northwind';
                UPDATE platform.model_versions SET artifact = 'x' WHERE model = 'lead-scorer';
                INSERT INTO platform.retention_policies (name, rules, schedule) SELECT 'rogue', rules, schedule FROM platform.retention_policies LIMIT 1;
                """)
        }
        let heard: Set<ObjectID> = [
            ObjectID(kind: .worker, tenant: "acme-corp", name: "risk-analyst"), ObjectID(kind: .tenant, name: "northwind"),
            ObjectID(kind: .model, name: "lead-scorer"), ObjectID(kind: .retentionPolicy, name: "rogue"),
        ]
        // What a full pass would do, planned without writing.
        let fullPlan = try await applied.run(db, full: true, dryRun: true).plan
        #expect(Set(fullPlan.steps.map(\.id)) == heard.subtracting([ObjectID(kind: .retentionPolicy, name: "rogue")]))
        #expect(fullPlan.unmanaged.contains(ObjectID(kind: .retentionPolicy, name: "rogue")))

        let targeted = try await applied.run(db, drift: Drift(objects: heard, heardSince: since))
        #expect(targeted.kind == .targeted)
        #expect(targeted.plan.steps.map(\.id) == fullPlan.steps.map(\.id))
        #expect(targeted.plan.steps.map(\.changes) == fullPlan.steps.map(\.changes))
        #expect(targeted.plan.steps.allSatisfy { $0.cause == .drift }, "\(targeted.plan.steps.map(\.cause))")
        #expect(targeted.outcome?.applied.count == 3)
        #expect(targeted.outcome?.isComplete == true)
        #expect(try await ApplyTests.scalar(db, "SELECT replicas || ' ' || status FROM platform.workers WHERE name = 'risk-analyst'") == "2 running")
        #expect(try await ApplyTests.scalar(db, "SELECT status FROM platform.tenants WHERE name = 'northwind'") == "active")
        #expect(try await ApplyTests.scalar(db, "SELECT count(*)::text FROM platform.retention_policies WHERE name = 'rogue'") == "1",
                "a row Accord does not manage is left alone, as a full pass leaves it")
        // It is in history and the audit log, and a full plan now finds nothing to do.
        #expect(try await ApplyTests.scalar(db, "SELECT result || ' ' || updated FROM accord.revisions ORDER BY id DESC LIMIT 1") == "applied 3")
        #expect(try await db.withSession { try await AuditChain.verify($0) }.isIntact)
        #expect(try await applied.run(db, full: true, dryRun: true).plan.steps.isEmpty)

        // The base it planned against stays: a second write heard is reverted by a targeted pass too.
        try await db.withSession { try await $0.execute("UPDATE platform.workers SET replicas = 41 WHERE name = 'risk-analyst'") }
        let again = try await applied.run(db, drift: Drift(objects: [ObjectID(kind: .worker, tenant: "acme-corp", name: "risk-analyst")],
                                                          heardSince: since))
        #expect(again.kind == .targeted)
        #expect(again.outcome?.applied.map(\.id.name) == ["risk-analyst"])
    }

    @Test func aWriteThatMayNotHaveBeenHeardMakesTheDriftPassFull() async throws {
        let db = try await TestDatabase.scratch()
        defer { Task { await db.drop() } }
        let applied = try await Applied(db)
        // Written before the listener began: the count it began at is past the base's.
        try await db.withSession { try await $0.execute("UPDATE platform.workers SET replicas = 40 WHERE name = 'risk-analyst'") }
        let began = try await db.withSession { try await FastPath.outsideWrites($0) }
        try await db.withSession { try await $0.execute("UPDATE platform.workers SET replicas = 7 WHERE name = 'crm-updater'") }
        let report = try await applied.run(db, drift: Drift(objects: [ObjectID(kind: .worker, tenant: "northwind", name: "crm-updater")],
                                                           heardSince: began))
        #expect(report.kind == .full, "the write to risk-analyst was never heard: only a full pass finds it")
        #expect(Set(report.outcome?.applied.map(\.id.name) ?? []) == ["risk-analyst", "crm-updater"])
        // A change to the tenant stores' tables also needs the full pass.
        let since = try await db.withSession { try await FastPath.outsideWrites($0) }
        try await db.withSession { try await $0.script("CREATE SCHEMA tenant_zz_extra; CREATE TABLE tenant_zz_extra.t (id int)") }
        try await db.withSession { try await $0.execute("UPDATE platform.workers SET replicas = 8 WHERE name = 'crm-updater'") }
        let stores = try await applied.run(db, drift: Drift(objects: [ObjectID(kind: .worker, tenant: "northwind", name: "crm-updater")],
                                                           heardSince: since))
        #expect(stores.kind == .full)
    }
}
