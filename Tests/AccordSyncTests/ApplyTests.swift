import AccordCore
import AccordEngine
@testable import AccordStore
@testable import AccordSync
import AccordTestSupport
import Foundation
import Testing

/// The engine against a real PostgreSQL: every test gets its own database.
@Suite(TestDatabase.required)
struct ApplyTests {
    static func apply(_ desired: [DesiredObject], _ db: ScratchDatabase, revision: String = "r1",
                      configure: (inout Pass.Options) -> Void = { _ in }) async throws -> Pass.Report {
        let pass = Self.pass(desired, revision: revision, configure: configure)
        return try await db.withSession { try await pass.run($0) }
    }

    /// A pass over `desired` with every key the tests use.
    static func pass(_ desired: [DesiredObject], revision: String = "r1", configure: (inout Pass.Options) -> Void = { _ in }) -> Pass {
        var options = Pass.Options()
        options.keys.kek = TestKeys.kek
        options.keys.trustedKeys = ExampleKeys.trusted
        options.keys.signingKey = ExampleKeys.signing
        configure(&options)
        return Pass(desired: desired, revision: revision, path: "", options: options)
    }

    static func preview(_ desired: [DesiredObject], _ db: ScratchDatabase, prune: Bool = false) async throws -> Plan {
        var options = Pass.Options()
        options.prune = prune
        options.keys.trustedKeys = ExampleKeys.trusted
        return try await db.withSession { try await Pass(desired: desired, revision: nil, path: "", options: options).preview($0) }
    }

    /// Every platform row with its xmin (the transaction that last wrote it).
    static func rowVersions(_ db: ScratchDatabase) async throws -> [String] {
        try await db.withSession { session in
            var out: [String] = []
            for table in ["tenants", "workers", "workflows", "workflow_versions", "models", "model_versions", "retention_policies", "erasures"] {
                for row in try await session.rows("SELECT t::text || ' @' || xmin::text FROM platform.\(table) t ORDER BY 1") {
                    out.append("\(table): " + (try row.decode(String.self)))
                }
            }
            return out
        }
    }

    static func scalar(_ db: ScratchDatabase, _ sql: String) async throws -> String? {
        try await db.withSession { try await $0.scalar(sql) }
    }

    @Test func firstApplyCreatesEverythingAndASecondChangesNothing() async throws {
        let db = try await TestDatabase.scratch()
        defer { Task { await db.drop() } }
        let desired = try Manifests.examples().desired()
        #expect(try await Self.preview(desired, db).count(.create) == 25, "a database Accord never ran on reads as empty")

        let first = try await Self.apply(desired, db)
        #expect(first.plan.count(.create) == 25)
        #expect(first.outcome?.applied.count == 25)
        #expect(first.outcome?.failed.isEmpty == true)
        #expect(try await Self.scalar(db, "SELECT count(*)::text FROM platform.workers") == "10")
        #expect(try await Self.scalar(db, "SELECT string_agg(name || '=' || status || '/' || isolation, ',' ORDER BY name) FROM platform.tenants")
            == "acme-corp=active/schema,brightpath=active/shared,kestrel-health=active/schema,northwind=active/shared")
        #expect(try await Self.scalar(db, "SELECT model_version || ' ' || status FROM platform.workers WHERE name = 'outreach-drafter'") == "3 paused")
        #expect(try await Self.scalar(db, "SELECT count(*)::text FROM platform.model_versions") == "5")
        #expect(try await Self.scalar(db, "SELECT string_agg(name || ':' || version, ',' ORDER BY name) FROM platform.workflows")
            == "lead-followup:1,monthly-risk-report:1")
        #expect(try await Self.scalar(db, "SELECT status FROM platform.erasures") == "completed",
                "the erasure ran after its tenant was onboarded, in the same apply")

        let before = try await Self.rowVersions(db)
        let second = try await Self.apply(desired, db)
        #expect(second.plan.isEmpty)
        #expect(second.plan.unchanged == 25)
        #expect(second.recorded == false, "the same revision again records no new history")
        #expect(try await Self.rowVersions(db) == before, "a no-op apply touches no platform row")
        #expect(try await Self.scalar(db, "SELECT count(*)::text FROM accord.revisions") == "1")
    }

    /// On a database Accord never ran on, `diff` judges the models as
    /// `apply` will: without trusted keys no production version passes, and
    /// both plans say so for the same objects.
    @Test func aFreshDatabaseIsPlannedThroughThePromotionGateToo() async throws {
        let db = try await TestDatabase.scratch()
        defer { Task { await db.drop() } }
        let desired = try Manifests.examples().desired()
        var options = Pass.Options()
        options.keys.trustedKeys = nil
        let preview = try await db.withSession { try await Pass(desired: desired, revision: nil, path: "", options: options).preview($0) }
        func stalls(_ plan: Plan) -> [String] {
            plan.steps.compactMap { step in step.desired?.stall.map { "\(step.id) \($0.reason)" } }.sorted()
        }
        #expect(stalls(preview).contains { $0.hasPrefix("Model/") && $0.hasSuffix("PromotionBlocked") })
        #expect(stalls(preview).contains { $0.hasPrefix("Worker/") && $0.hasSuffix("ModelNotPromoted") })
        let applied = try await Self.apply(desired, db, configure: { $0.keys.trustedKeys = nil; $0.dryRun = true })
        #expect(stalls(applied.plan) == stalls(preview))
        #expect(applied.plan.steps.map(\.id) == preview.steps.map(\.id))
    }

    @Test func awkwardTextSurvivesTheWayIn() async throws {
        let db = try await TestDatabase.scratch()
        defer { Task { await db.drop() } }
        var manifests = try Manifests.examples()
        manifests.edit("tenants/acme-corp.yaml", "displayName: Acme Corp", #"displayName: "Acme\tCorp \\N \\ back\nslash “quoted” ünï""#)
        let desired = try manifests.desired()
        _ = try await Self.apply(desired, db)
        #expect(try await Self.scalar(db, "SELECT display_name FROM platform.tenants WHERE name = 'acme-corp'")
            == "Acme\tCorp \\N \\ back\nslash “quoted” ünï")
        #expect(try await Self.preview(desired, db).isEmpty, "what was written reads back equal")
        #expect(try await db.withSession { try await AuditChain.verify($0) }.isIntact)
    }

    @Test func oneFieldChangeInGitIsOneUpdateNamingThatField() async throws {
        let db = try await TestDatabase.scratch()
        defer { Task { await db.drop() } }
        var manifests = try Manifests.examples()
        _ = try await Self.apply(manifests.desired(), db)

        manifests.edit("workers/brightpath.yaml", "replicas: 1", "replicas: 3")
        let plan = try await Self.preview(manifests.desired(), db)
        #expect(plan.steps.count == 1)
        let step = try #require(plan.steps.first)
        #expect(step.id.description == "Worker/brightpath/support-triage")
        #expect(step.action == .update)
        #expect(step.cause == .manifest)
        #expect(step.changes == [FieldChange(path: "replicas", old: .number(1), new: .number(3))])

        let report = try await Self.apply(manifests.desired(), db, revision: "r2")
        #expect(report.outcome?.applied.map(\.id.description) == ["Worker/brightpath/support-triage"])
        #expect(try await Self.scalar(db, "SELECT replicas::text FROM platform.workers WHERE name = 'support-triage'") == "3")
        #expect(try await Self.scalar(db, "SELECT generation || '/' || observed_generation FROM accord.inventory WHERE name = 'support-triage'") == "2/2")
    }

    @Test func promotingAModelRedeploysItsWorkersInTheSamePlan() async throws {
        let db = try await TestDatabase.scratch()
        defer { Task { await db.drop() } }
        var manifests = try Manifests.examples()
        _ = try await Self.apply(manifests.desired(), db)
        manifests.edit("models/support-drafter.yaml", "production: \"3\"", "production: \"4\"")
        manifests.edit("models/support-drafter.yaml", "version: \"4\"\n    trafficPercent", "version: \"3\"\n    trafficPercent")
        let plan = try await Self.preview(manifests.desired(), db)
        #expect(plan.steps.first?.id.description == "Model/support-drafter")
        let workers = plan.steps.filter { $0.id.kind == .worker }
        #expect(workers.count == 6)
        #expect(workers.allSatisfy { $0.changes == [FieldChange(path: "model_version", old: .string("3"), new: .string("4"))] })
        #expect(workers.allSatisfy { $0.cause == .dependency }, "a dependency's change is not drift, and not a change of the worker's manifest")
    }

    @Test func driftIsShownAndRevertedAndUnmanagedRowsAreNeverTouched() async throws {
        let db = try await TestDatabase.scratch()
        defer { Task { await db.drop() } }
        let desired = try Manifests.examples().desired()
        _ = try await Self.apply(desired, db)
        try await db.withSession { session in
            try await session.execute("UPDATE platform.workers SET replicas = 9, status = 'stopped' WHERE name = 'risk-analyst'")
            try await session.execute("DELETE FROM platform.retention_policies WHERE name = 'strict-eu'")
            try await session.execute("DELETE FROM platform.model_versions WHERE model = 'lead-scorer' AND version = '1.0'")
            try await session.execute("UPDATE platform.workflow_versions SET definition = '{}' WHERE name = 'lead-followup'")
            try await session.execute("INSERT INTO platform.tenants (name, display_name, plan, region, isolation, status) VALUES ('rogue', 'R', 'pro', 'eu', 'shared', 'active')")
        }
        let plan = try await Self.preview(desired, db, prune: true)
        #expect(plan.steps.map { "\($0.action.rawValue) \($0.id) \($0.cause.rawValue)" } == [
            "update Model/lead-scorer drift",
            "create RetentionPolicy/strict-eu drift",
            "update Worker/acme-corp/risk-analyst drift",
            "update Workflow/northwind/lead-followup drift",
        ])
        #expect(plan.steps[2].changes.map(\.path) == ["replicas", "status"])
        #expect(plan.steps[0].changes.map(\.path).contains("versions.1.0"))
        #expect(plan.unmanaged.map(\.description) == ["Tenant/rogue"])

        let report = try await Self.apply(desired, db) { $0.prune = true }
        #expect(report.outcome?.applied.count == 4)
        #expect(try await Self.preview(desired, db, prune: true).isEmpty)
        #expect(try await Self.scalar(db, "SELECT replicas || status FROM platform.workers WHERE name = 'risk-analyst'") == "2running")
        #expect(try await Self.scalar(db, "SELECT count(*)::text FROM platform.tenants WHERE name = 'rogue'") == "1")
        #expect(try await Self.scalar(db, "SELECT version::text FROM platform.workflows WHERE name = 'lead-followup'") == "2",
                "an edited immutable version is superseded, not rewritten")
    }

    @Test func pruneDeletesOnlyOwnedObjectsAndOnlyWhenAsked() async throws {
        let db = try await TestDatabase.scratch()
        defer { Task { await db.drop() } }
        var manifests = try Manifests.examples()
        _ = try await Self.apply(manifests.desired(), db)
        try await db.withSession { try await $0.execute(
            "INSERT INTO platform.workers (tenant, name, role, model, status) VALUES ('acme-corp', 'handmade', 'x', 'y', 'running')") }
        manifests.files["erasures/acme-corp.yaml"] = nil
        manifests.files["workflows/acme-corp-monthly-risk-report.yaml"] = nil

        let kept = try await Self.apply(manifests.desired(), db, revision: "r2")
        #expect(kept.plan.steps.isEmpty)
        #expect(kept.plan.orphaned.map(\.description) == ["Erasure/acme-corp/dsr-2026-11-0007", "Workflow/acme-corp/monthly-risk-report"])
        #expect(try await Self.scalar(db, "SELECT count(*)::text FROM platform.workflows") == "2")

        let pruned = try await Self.apply(manifests.desired(), db, revision: "r3") { $0.prune = true; $0.guardrail = DeletionGuard(maxShare: 0.5) }
        #expect(pruned.plan.steps.map { "\($0.action.rawValue) \($0.id)" } == [
            "retain Erasure/acme-corp/dsr-2026-11-0007", "delete Workflow/acme-corp/monthly-risk-report",
        ])
        #expect(try await Self.scalar(db, "SELECT count(*)::text FROM platform.workflows") == "1")
        #expect(try await Self.scalar(db, "SELECT count(*)::text FROM platform.workflow_versions WHERE deleted_at IS NOT NULL") == "1",
                "a pruned workflow keeps its versions, marked deleted")
        #expect(try await Self.scalar(db, "SELECT count(*)::text FROM platform.erasures") == "1", "removing an erasure changes no data")
        #expect(try await Self.scalar(db, "SELECT count(*)::text FROM platform.workers WHERE name = 'handmade'") == "1")
        #expect(try await Self.preview(manifests.desired(), db, prune: true).isEmpty)
    }

    @Test func theDeletionGuardRefusesMassDeletionAndAnEmptyRepository() async throws {
        let db = try await TestDatabase.scratch()
        defer { Task { await db.drop() } }
        let desired = try Manifests.examples().desired()
        _ = try await Self.apply(desired, db)
        let before = try await Self.rowVersions(db)

        let empty = try await Self.apply([], db, revision: "r2") { $0.prune = true }
        #expect(empty.refusal?.reason.contains("all 25 managed objects") == true)
        #expect(empty.outcome == nil)
        // Without prune, an empty repository would still offboard every Retain tenant: refused too.
        let emptyUnpruned = try await Self.apply([], db, revision: "r2")
        #expect(emptyUnpruned.refusal?.reason.contains("all 25 managed objects") == true)
        #expect(emptyUnpruned.plan.count(.retain) > 0 && emptyUnpruned.outcome == nil)
        let some = try await Self.apply(Array(desired.prefix(19)), db, revision: "r3") { $0.prune = true }
        let deletions = some.plan.count(.delete)
        #expect(deletions == 5 && some.plan.count(.retain) == 1, "two workflows and three workers deleted, the erasure retained")
        #expect(some.refusal?.reason.contains("would delete 5 of 25 managed objects, more than the 10%") == true)
        #expect(try await Self.rowVersions(db) == before, "a refused plan writes nothing")

        let allowed = try await Self.apply(Array(desired.prefix(19)), db, revision: "r4") {
            $0.prune = true
            $0.guardrail = DeletionGuard(maxShare: 0.10, allowed: true)
        }
        #expect(allowed.refusal == nil)
        #expect(allowed.outcome?.applied.count == 6)
    }

    @Test func aFailingObjectIsReportedAndTheOthersApply() async throws {
        let db = try await TestDatabase.scratch()
        defer { Task { await db.drop() } }
        var manifests = try Manifests.examples()
        _ = try await Self.apply(manifests.desired(), db)
        try await db.withSession { try await $0.execute("ALTER TABLE platform.workers ADD CONSTRAINT fewer_than_50 CHECK (replicas < 50)") }
        manifests.edit("workers/brightpath.yaml", "replicas: 1", "replicas: 60")
        manifests.edit("workers/northwind.yaml", "replicas: 4", "replicas: 5")
        manifests.edit("retention/strict-eu.yaml", "schedule: 30m", "schedule: 45m")

        let report = try await Self.apply(manifests.desired(), db, revision: "r2")
        let failure = try #require(report.outcome?.failed.first)
        #expect(report.outcome?.failed.count == 1)
        #expect(failure.id.description == "Worker/brightpath/support-triage")
        #expect(failure.message.hasPrefix("a constraint of the live table refuses the row: "))
        #expect(failure.message.contains("fewer_than_50") && failure.message.contains("SQLSTATE 23514"))
        #expect(failure.stalled)
        #expect(report.outcome?.applied.map(\.id.description).sorted() == ["RetentionPolicy/strict-eu", "Worker/northwind/lead-enricher"])
        #expect(try await Self.scalar(db, "SELECT replicas::text FROM platform.workers WHERE name = 'support-triage'") == "1")

        let status = try await db.withSession { try await ObjectStatus.read($0, id: failure.id) }
        #expect(status.first?.ready == false)
        #expect(status.first?.stalled == true)
        #expect(status.first?.generation == 2)
        #expect(status.first?.observedGeneration == 1)
        #expect(try await Self.scalar(db, "SELECT result FROM accord.revisions ORDER BY id DESC LIMIT 1") == "partial")

        try await db.withSession { try await $0.execute("ALTER TABLE platform.workers DROP CONSTRAINT fewer_than_50") }
        let retry = try await Self.apply(manifests.desired(), db, revision: "r3")
        #expect(retry.outcome?.applied.map(\.id.description) == ["Worker/brightpath/support-triage"])
        let healed = try await db.withSession { try await ObjectStatus.read($0, id: failure.id) }
        #expect(healed.first?.ready == true)
        #expect(healed.first?.observedGeneration == 2)
    }

    /// A scratch database whose tenants table refuses one tenant (constraint `refused`).
    static func scratch(refusingTenant name: String) async throws -> ScratchDatabase {
        let db = try await TestDatabase.scratch()
        try await db.withSession { session in
            try await Migrations.run(session)
            try await session.execute("ALTER TABLE platform.tenants ADD CONSTRAINT refused CHECK (name <> '\(name)')")
        }
        return db
    }

    @Test func dependentsOfAFailedObjectWaitForIt() async throws {
        let db = try await Self.scratch(refusingTenant: "kestrel-health")
        defer { Task { await db.drop() } }
        let report = try await Self.apply(try Manifests.examples().desired(), db)
        let failed = report.outcome?.failed.map { "\($0.id) \($0.reason.rawValue)" }
        #expect(failed == ["Tenant/kestrel-health ApplyFailed", "Worker/kestrel-health/intake-summarizer DependencyNotReady"])
        #expect(report.outcome?.applied.count == 23)

        // Once the database accepts it, the tenant and its worker are created and their failures cleared.
        try await db.withSession { try await $0.execute("ALTER TABLE platform.tenants DROP CONSTRAINT refused") }
        let retry = try await Self.apply(try Manifests.examples().desired(), db, revision: "r2")
        #expect(retry.outcome?.applied.map(\.id.description).sorted() == ["Tenant/kestrel-health", "Worker/kestrel-health/intake-summarizer"])
        #expect(retry.outcome?.failed.isEmpty == true)
        #expect(try await Self.scalar(db, "SELECT count(*)::text FROM accord.object_status") == "0")
        let status = try await db.withSession { try await ObjectStatus.read($0, id: ObjectID(kind: .tenant, name: "kestrel-health")) }
        #expect(status.first?.ready == true)
    }

    /// Each batch is prepared, its audit entries sealed on the chain as the
    /// batch before leaves it, while that batch's transaction runs. When
    /// that batch fails and is retried object by object, the chain moves
    /// differently: the prepared batch is sealed again, and the log still
    /// verifies.
    @Test func aBatchPreparedBehindOneThatFailsIsSealedAgain() async throws {
        let db = try await Self.scratch(refusingTenant: "t100")
        defer { Task { await db.drop() } }
        // 450 tenants, every tenth with a schema of its own: three batches of tenants
        // (t100 in the first, by name), 4,500 workers in three.
        let desired = try Manifests(files: GeneratedPlatform.files(tenants: 450, ownSchemaEvery: 10)).desired()
        let report = try await Self.apply(desired, db)
        let failed = report.outcome?.failed.map { "\($0.id) \($0.reason.rawValue)" }.sorted()
        #expect(failed == ["Tenant/t100 ApplyFailed"] + (0..<10).map { "Worker/t100/w\($0) DependencyNotReady" })
        #expect(report.outcome?.applied.count == desired.count - 11)
        #expect(try await Self.scalar(db, "SELECT count(*)::text FROM platform.tenants") == "449")
        #expect(try await Self.scalar(db, "SELECT count(*)::text FROM platform.workers") == "4490")
        #expect(try await Self.scalar(db, "SELECT count(*)::text FROM accord.tenant_keys") == "449")
        let verification = try await db.withSession { try await AuditChain.verify($0) }
        #expect(verification.isIntact, "\(verification.problems)")
        // One entry per object applied, one per failure, one for the pass.
        #expect(verification.entries == desired.count - 11 + 11 + 1)
        #expect(try await Self.scalar(db, "SELECT count(DISTINCT object)::text FROM accord.audit_log WHERE action = 'create'")
            == String(desired.count - 11))
    }

    /// A first load of many objects builds the deferred indexes after its
    /// rows (they are built anew); a smaller one keeps them; a pass that
    /// finds them missing (a load killed halfway) builds them first.
    @Test func aBulkFirstLoadBuildsItsSecondaryIndexesAtTheEnd() async throws {
        let indexes = "SELECT string_agg(c.relname || '=' || c.oid::text, ',' ORDER BY c.relname) FROM pg_class c WHERE c.relname IN ('inventory_source_path', 'inventory_manifest_hash', 'workers_model') AND c.relkind = 'i'"
        for bulk in [true, false] {
            let db = try await TestDatabase.scratch()
            defer { Task { await db.drop() } }
            try await db.withSession { try await Migrations.run($0) }
            let before = try #require(try await Self.scalar(db, indexes))
            let definitions = try await Self.scalar(db, indexes.replacingOccurrences(of: "c.oid::text", with: "pg_get_indexdef(c.oid)"))
            let report = try await Self.apply(try Manifests.examples().desired(), db) { $0.bulkLoadThreshold = bulk ? 25 : 26 }
            #expect(report.outcome?.applied.count == 25)
            let after = try #require(try await Self.scalar(db, indexes))
            #expect(after.split(separator: ",").count == 3)
            #expect((before != after) == bulk, "rebuilt only by a bulk load: \(before) → \(after)")
            #expect(try await Self.scalar(db, indexes.replacingOccurrences(of: "c.oid::text", with: "pg_get_indexdef(c.oid)")) == definitions,
                    "built as the migrations define them")
        }

        let db = try await TestDatabase.scratch()
        defer { Task { await db.drop() } }
        _ = try await Self.apply(try Manifests.examples().desired(), db)
        try await db.withSession { session in
            try await session.execute("DROP INDEX accord.inventory_manifest_hash")
            try await session.execute("DROP INDEX platform.workers_model")
        }
        let again = try await Self.apply(try Manifests.examples().desired(), db)
        #expect(again.outcome?.applied.isEmpty == true)
        #expect(try await Self.scalar(db, indexes)?.split(separator: ",").count == 3)
    }

    @Test(.timeLimit(.minutes(5))) func twoConcurrentAppliersNeverBothWrite() async throws {
        let db = try await TestDatabase.scratch()
        defer { Task { await db.drop() } }
        let desired = try Manifests.examples().desired()
        // Whichever waits, waits for the whole of the other's pass: under the suite's load that can exceed
        // the default 30 s, and what is tested here is that they never both write (the bound is tested below).
        async let a = Self.apply(desired, db, revision: "r1") { $0.lockTimeout = .seconds(240) }
        async let b = Self.apply(desired, db, revision: "r1") { $0.lockTimeout = .seconds(240) }
        let reports = try await [a, b]
        #expect(reports.map { $0.outcome?.applied.count ?? -1 }.sorted() == [0, 25], "one applied everything, the other found nothing to do")
        #expect(try await Self.scalar(db, "SELECT count(*)::text FROM accord.audit_log WHERE action = 'create'") == "25")

        // A holder that does not let go: the other waits --lock-timeout, then names it.
        try await db.withSession { holder in
            try await ApplyLock.acquire(holder, holder: "test holder", timeout: .seconds(1))
            do {
                _ = try await Self.apply(desired, db, revision: "r2") { $0.lockTimeout = .milliseconds(300) }
                Issue.record("the second applier should not get the lock")
            } catch let busy as ApplyLock.Busy {
                #expect(busy.description.contains("test holder"))
                #expect(busy.description.contains("--lock-timeout"))
            }
        }
    }

    @Test func historyRecordsRevisionsWithTheirMerkleRoot() async throws {
        let db = try await TestDatabase.scratch()
        defer { Task { await db.drop() } }
        var manifests = try Manifests.examples()
        let desired = try manifests.desired()
        _ = try await Self.apply(desired, db, revision: "aaaa")
        manifests.edit("workers/brightpath.yaml", "replicas: 1", "replicas: 2")
        let changed = try manifests.desired()
        _ = try await Self.apply(changed, db, revision: "bbbb")
        let history = try await db.withSession { try await History.list($0, limit: 10) }
        #expect(history.map(\.revision) == ["bbbb", "aaaa"])
        #expect(history.map(\.result) == [.applied, .applied])
        #expect(history[1].merkleRoot == Merkle.root(desired.map(\.manifestHash)))
        #expect(history[0].merkleRoot == Merkle.root(changed.map(\.manifestHash)))
        #expect(history[0].merkleRoot != history[1].merkleRoot)
        #expect(history[0].updated == 1 && history[1].created == 25)
    }

    @Test func theAuditChainVerifiesAndDetectsEditedAndDeletedEntries() async throws {
        let db = try await TestDatabase.scratch()
        defer { Task { await db.drop() } }
        _ = try await Self.apply(try Manifests.examples().desired(), db)
        try await db.withSession { session in
            #expect(try await AuditChain.verify(session).isIntact)
            await #expect(throws: SQLFailure.self, "the log is append-only") {
                try await session.execute("UPDATE accord.audit_log SET action = 'x' WHERE seq = 3")
            }
            try await session.execute("ALTER TABLE accord.audit_log DISABLE TRIGGER audit_log_append_only")

            try await session.execute("UPDATE accord.audit_log SET body = replace(body, 'manifest', 'drift') WHERE seq = 3")
            var result = try await AuditChain.verify(session)
            #expect(result.problems.contains("entry 3: its content does not match its hash (edited)"))
            try await session.execute("UPDATE accord.audit_log SET body = replace(body, 'drift', 'manifest') WHERE seq = 3")
            #expect(try await AuditChain.verify(session).isIntact)

            try await session.execute("DELETE FROM accord.audit_log WHERE seq = 5")
            result = try await AuditChain.verify(session)
            #expect(result.problems.contains("entries 5–5 are missing (deleted)"))

            try await session.execute("TRUNCATE accord.audit_log")
            result = try await AuditChain.verify(session)
            #expect(result.problems.contains { $0.contains("entries were removed from the end") })
        }
    }

    /// The contract other services read (SPEC §2): each registry table's
    /// key and the columns that must exist, written out here by hand so a
    /// rename in the code cannot pass by renaming the readers with it.
    @Test func theRegistryTablesHaveTheKeysAndColumnsOfTheContract() async throws {
        let db = try await TestDatabase.scratch()
        defer { Task { await db.drop() } }
        let contract: [(table: String, key: [String], columns: [String])] = [
            ("tenants", ["name"], ["plan", "region", "isolation", "status"]),
            ("workers", ["tenant", "name"], ["role", "model", "model_version", "replicas", "status"]),
            ("workflows", ["tenant", "name"], ["version"]),
            ("workflow_versions", ["tenant", "name", "version"], ["definition"]),
            ("models", ["name"], ["production_version", "shadow_version", "shadow_traffic_percent"]),
            ("model_versions", ["model", "version"], ["digest", "artifact"]),
            ("retention_policies", ["name"], ["rules"]),
            ("erasures", ["tenant", "name"], ["status", "completed_at"]),
        ]
        try await db.withSession { session in
            _ = try await Migrations.run(session)
            for (table, key, columns) in contract {
                let present = try await session.rows("""
                    SELECT column_name FROM information_schema.columns WHERE table_schema = 'platform' AND table_name = $1
                    """, [table]).map { try $0.decode(String.self) }
                #expect(Set(columns + key).isSubset(of: Set(present)), "platform.\(table): \(present)")
                let primaryKey = try await session.rows("""
                    SELECT k.column_name FROM information_schema.table_constraints c
                    JOIN information_schema.key_column_usage k ON k.constraint_name = c.constraint_name AND k.table_schema = c.table_schema
                    WHERE c.table_schema = 'platform' AND c.table_name = $1 AND c.constraint_type = 'PRIMARY KEY'
                    ORDER BY k.ordinal_position
                    """, [table]).map { try $0.decode(String.self) }
                #expect(primaryKey == key, "platform.\(table) keyed by \(primaryKey)")
            }
            let types = try await session.rows("""
                SELECT table_name || '.' || column_name || ' ' || data_type FROM information_schema.columns
                WHERE table_schema = 'platform' AND (table_name, column_name) IN
                    (('workflow_versions', 'definition'), ('retention_policies', 'rules'), ('erasures', 'completed_at'))
                ORDER BY 1
                """).map { try $0.decode(String.self) }
            #expect(types == ["erasures.completed_at timestamp with time zone", "retention_policies.rules jsonb", "workflow_versions.definition jsonb"])
        }
        // The status values of the contract, as an apply writes them.
        _ = try await Self.apply(try Manifests.examples().desired(), db)
        #expect(try await Self.scalar(db, "SELECT string_agg(DISTINCT status, ',' ORDER BY status) FROM platform.workers") == "paused,running")
        #expect(try await Self.scalar(db, "SELECT string_agg(DISTINCT status, ',') FROM platform.tenants") == "active")
        #expect(try await Self.scalar(db, "SELECT string_agg(DISTINCT status, ',') FROM platform.erasures") == "completed")
    }

    @Test func migrationsAreIdempotentAndANewerDatabaseIsRefused() async throws {
        let db = try await TestDatabase.scratch()
        defer { Task { await db.drop() } }
        try await db.withSession { session in
            #expect(try await Migrations.run(session).count == Migrations.latest)
            #expect(try await Migrations.run(session).isEmpty)
            try await session.execute("INSERT INTO accord.schema_migrations (version, name) VALUES (999, 'from the future')")
            await #expect(throws: Migrations.TooNew.self) { try await Migrations.run(session) }
        }
        do {
            _ = try await Self.apply([], db)
            Issue.record("expected the newer schema to be refused")
        } catch let error as Migrations.TooNew {
            #expect(error.description.contains("version 999, newer than this binary knows (\(Migrations.latest))"))
        }
    }

    @Test func workflowVersionsBumpOnlyOnRealChange() async throws {
        let db = try await TestDatabase.scratch()
        defer { Task { await db.drop() } }
        var manifests = try Manifests.examples()
        _ = try await Self.apply(manifests.desired(), db)
        manifests.edit("workers/northwind.yaml", "replicas: 4", "replicas: 6")
        _ = try await Self.apply(manifests.desired(), db, revision: "r2")
        #expect(try await Self.scalar(db, "SELECT max(version)::text FROM platform.workflow_versions WHERE name = 'lead-followup'") == "1")
        manifests.edit("workflows/northwind-lead-followup.yaml", "sla: 30m", "sla: 45m")
        let report = try await Self.apply(manifests.desired(), db, revision: "r3")
        #expect(report.plan.steps.first?.changes.map(\.path) == ["definition.steps[qualify].sla"])
        #expect(try await Self.scalar(db, "SELECT string_agg(version::text, ',' ORDER BY version) FROM platform.workflow_versions WHERE name = 'lead-followup'") == "1,2")
        #expect(try await Self.scalar(db, "SELECT version::text FROM platform.workflows WHERE name = 'lead-followup'") == "2")
    }

    @Test func editingAWorkflowWithoutChangingItsSpecMakesNoVersion() async throws {
        let db = try await TestDatabase.scratch()
        defer { Task { await db.drop() } }
        var manifests = try Manifests.examples()
        let file = "workflows/northwind-lead-followup.yaml"
        _ = try await Self.apply(manifests.desired(), db)
        let versions = "SELECT string_agg(version::text || ':' || md5(definition::text), ',' ORDER BY version) FROM platform.workflow_versions WHERE name = 'lead-followup'"
        let current = "SELECT version::text FROM platform.workflows WHERE name = 'lead-followup'"
        let before = try await Self.scalar(db, versions)
        #expect(before?.hasPrefix("1:") == true && before?.contains(",") == false)
        #expect(try await Self.scalar(db, current) == "1")

        // Labels and annotations, comments, key order, flow style and
        // quoting: the same spec written differently.
        manifests.edit(file, "    accord.dev/team: revops\n", "    accord.dev/team: growth\n  annotations:\n    accord.dev/owner: revops\n")
        manifests.edit(file, "spec:\n  trigger:\n    event: lead_enriched\n", "# routed by the CRM\nspec:\n  trigger: {event: \"lead_enriched\"}  # the enrichment hook\n")
        manifests.edit(file, "    - name: qualify\n      worker: lead-qualifier\n      sla: 30m\n", "    - sla: 30m\n      worker: 'lead-qualifier'\n      name: qualify\n")
        manifests.edit(file, "        - {field: context.lead.crmId, operator: exists}\n", "        - operator: exists\n          field: context.lead.crmId\n")
        _ = try await Self.apply(manifests.desired(), db, revision: "r2")
        #expect(try await Self.scalar(db, versions) == before, "no new version, and version 1 is untouched")
        #expect(try await Self.scalar(db, current) == "1")
        #expect(try await Self.scalar(db, "SELECT count(*)::text FROM platform.workflow_versions") == "2", "one version for each example workflow")
    }
}

/// The no-op fast path: proved from file ids and live hashes, never trusted
/// past a change, a drift or a failure.
@Suite(TestDatabase.required)
struct FastPathTests {
    static func run(_ desired: [DesiredObject], digest: String, _ db: ScratchDatabase, revision: String = "r1",
                    prune: Bool = false) async throws -> Pass.Report {
        var options = Pass.Options()
        options.prune = prune
        options.keys.kek = TestKeys.kek
        options.keys.trustedKeys = ExampleKeys.trusted
        let pass = Pass(input: .objects(desired, listingDigest: digest), revision: revision, path: "", options: options)
        return try await db.withSession { try await pass.run($0) }
    }

    @Test func aSecondApplyOfTheSameFilesIsProvedWithoutReadingThem() async throws {
        let db = try await TestDatabase.scratch()
        defer { Task { await db.drop() } }
        let desired = try Manifests.examples().desired()
        let first = try await Self.run(desired, digest: "d1", db)
        #expect(first.kind != .fast)
        #expect(first.outcome?.applied.count == 25)

        let second = try await Self.run([], digest: "d1", db)
        #expect(second.kind == .fast, "no manifests were needed: the empty list passed in was never used")
        #expect(second.objects == 25)
        #expect(second.plan.isEmpty)

        let newCommit = try await Self.run([], digest: "d1", db, revision: "r2")
        #expect(newCommit.kind == .fast)
        #expect(newCommit.recorded, "a new commit with the same manifests is recorded in history")
        #expect(try await ApplyTests.scalar(db, "SELECT string_agg(revision || ':' || result, ',' ORDER BY id) FROM accord.revisions") == "r1:applied,r2:unchanged")
        #expect(try await db.withSession { try await AuditChain.verify($0) }.isIntact)

        let pruneChanged = try await Self.run(desired, digest: "d1", db, revision: "r2", prune: true)
        #expect(pruneChanged.kind != .fast, "another prune setting needs a full pass")
    }

    @Test func driftOrADeletedRowOrAChangedFileForcesAFullPass() async throws {
        let db = try await TestDatabase.scratch()
        defer { Task { await db.drop() } }
        let desired = try Manifests.examples().desired()
        _ = try await Self.run(desired, digest: "d1", db)
        #expect(try await Self.run(desired, digest: "d1", db).kind == .fast)

        for drift in [
            "UPDATE platform.workers SET replicas = 7 WHERE name = 'crm-updater'",
            "DELETE FROM platform.erasures",
            "UPDATE platform.model_versions SET artifact = 'x' WHERE model = 'lead-scorer' AND version = '1.0'",
            "UPDATE platform.workflow_versions SET definition = '[]'",
        ] {
            try await db.withSession { try await $0.execute(drift) }
            let report = try await Self.run(desired, digest: "d1", db)
            #expect(report.kind != .fast, "\(drift)")
            #expect(report.outcome?.applied.count == 1 || drift.contains("workflow_versions"), "\(drift)")
            #expect(try await Self.run(desired, digest: "d1", db).kind == .fast, "after \(drift) was reverted")
        }
        #expect(try await Self.run(desired, digest: "d2", db).kind != .fast)
    }

    @Test func aPassWithAFailureIsNeverTheBaseOfTheFastPath() async throws {
        let db = try await TestDatabase.scratch()
        defer { Task { await db.drop() } }
        var manifests = try Manifests.examples()
        _ = try await Self.run(manifests.desired(), digest: "d1", db)
        try await db.withSession { try await $0.execute("ALTER TABLE platform.workers ADD CONSTRAINT small CHECK (replicas < 50)") }
        manifests.edit("workers/brightpath.yaml", "replicas: 1", "replicas: 60")
        let failing = try await Self.run(manifests.desired(), digest: "d2", db)
        #expect(failing.outcome?.failed.count == 1)
        let again = try await Self.run(manifests.desired(), digest: "d2", db)
        #expect(again.kind != .fast)
        #expect(again.outcome?.failed.count == 1)
    }
}

@Suite struct AuditBodyTests {
    @Test func theSealedBodyIsTheCanonicalJSONOfTheEntry() throws {
        let entry = AuditEntry(action: "update", object: "Worker/a/b", revision: nil,
                               detail: .object(["fields": .array([.string("replicas")]), "cause": .string("drift \"x\"")]))
        let body = AuditChain.body(seq: 7, at: "2026-11-21T00:00:00.000Z", actor: "accordctl", entry)
        let expected: JSONValue = .object([
            "seq": .number(7), "at": .string("2026-11-21T00:00:00.000Z"), "actor": .string("accordctl"),
            "action": .string("update"), "object": .string("Worker/a/b"), "revision": .null, "detail": entry.detail,
        ])
        #expect(body == expected.canonical)
        #expect(try JSONParser.parse(body) == expected)
    }
}
