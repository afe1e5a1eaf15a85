import AccordCore
import AccordStore
import AccordTestSupport
import Foundation
import Testing

/// A full apply with more than a batch of objects other than tenants writes
/// every other batch on a second connection (`Executor.lane`). What it
/// leaves must be what one connection leaves: every object, an audit log
/// in plan order whose chain verifies, and a batch the database refuses
/// on the second connection redone on the first, object by object.
@Suite(TestDatabase.required, .timeLimit(.minutes(10)))
struct SecondConnectionTests {
    /// 210 tenants of ten workers: 2,100 workers, two batches of one group
    /// (2,000, then 100 on the second connection).
    static let tenants = 210

    /// Worker creates in the audit log, in the order they were sealed.
    static func auditedWorkers(_ session: Session) async throws -> [String] {
        try await session.rows("SELECT object FROM accord.audit_log WHERE action = 'create' AND object LIKE 'Worker/%' ORDER BY seq")
            .map { try $0.decode(String.self) }
    }

    /// Every worker of the generated platform, in plan order.
    static var workersInPlanOrder: [String] {
        (0..<tenants).map { "t\($0)" }.sorted().flatMap { t in (0..<10).map { "Worker/\(t)/w\($0)" } }
    }

    @Test func theSecondBatchGoesOnASecondConnectionAndTheLogStaysInPlanOrder() async throws {
        let db = try await TestDatabase.scratch()
        defer { Task { await db.drop() } }
        let fx = try CLITests.repo(files: GeneratedPlatform.files(tenants: Self.tenants))
        let run = try await CLITests.accordctl(["apply", "--repo", fx.root.path],
                                               environment: ["DATABASE_URL": db.urlText, "ACCORD_TIMINGS": "1"])
        #expect(run.status == 0, "\(run.stderr.suffix(800))")
        #expect(run.stderr.contains("1 batches on a second connection, 0 redone on the first"), "\(run.stderr.suffix(1500))")
        try await db.withSession { (session: Session) async throws in
            #expect(try await Self.auditedWorkers(session) == Self.workersInPlanOrder)
            #expect(try await session.scalar("SELECT count(*)::text FROM platform.workers") == "2100")
            #expect(try await session.scalar("SELECT count(*)::text FROM accord.inventory WHERE kind = 'Worker'") == "2100")
        }
        let verify = try await CLITests.accordctl(["audit", "verify"], environment: ["DATABASE_URL": db.urlText])
        #expect(verify.status == 0 && verify.stdout.contains("intact"), "\(verify.stdout) \(verify.stderr)")
        let diff = try await CLITests.accordctl(["diff", "--repo", fx.root.path], environment: ["DATABASE_URL": db.urlText])
        #expect(diff.stdout.hasSuffix("0 to create, 0 to update, 0 to delete\n"), "\(diff.stdout.suffix(300))")
    }

    @Test func aBatchRefusedOnTheSecondConnectionIsRedoneOnTheFirstObjectByObject() async throws {
        let db = try await TestDatabase.scratch()
        defer { Task { await db.drop() } }
        // The last tenant in plan order: its workers are in the second batch.
        let last = (0..<Self.tenants).map { "t\($0)" }.max()!
        try await db.withSession { (session: Session) async throws in
            try await Migrations.run(session)
            try await session.execute("""
                ALTER TABLE platform.workers ADD CONSTRAINT refuse_one CHECK (NOT (tenant = '\(last)' AND name = 'w3'))
                """)
        }
        let fx = try CLITests.repo(files: GeneratedPlatform.files(tenants: Self.tenants))
        let run = try await CLITests.accordctl(["apply", "--repo", fx.root.path],
                                               environment: ["DATABASE_URL": db.urlText, "ACCORD_TIMINGS": "1"])
        #expect(run.status == 1, "some objects failed, the rest applied: \(run.stderr.suffix(800))")
        #expect(run.stderr.contains("0 batches on a second connection, 1 redone on the first"), "\(run.stderr.suffix(1500))")
        #expect((run.stdout + run.stderr).contains("Worker/\(last)/w3"), "\(run.stdout.suffix(800))")
        let refused = "Worker/\(last)/w3"
        try await db.withSession { (session: Session) async throws in
            #expect(try await Self.auditedWorkers(session) == Self.workersInPlanOrder.filter { $0 != refused })
            #expect(try await session.scalar("SELECT count(*)::text FROM platform.workers") == "2099")
            #expect(try await session.scalar("""
                SELECT reason FROM accord.object_status WHERE kind = 'Worker' AND tenant = '\(last)' AND name = 'w3'
                """) == "ApplyFailed")
            try await session.execute("ALTER TABLE platform.workers DROP CONSTRAINT refuse_one")
        }
        let verify = try await CLITests.accordctl(["audit", "verify"], environment: ["DATABASE_URL": db.urlText])
        #expect(verify.status == 0 && verify.stdout.contains("intact"), "\(verify.stdout) \(verify.stderr)")
        let again = try await CLITests.accordctl(["apply", "--repo", fx.root.path], environment: ["DATABASE_URL": db.urlText])
        #expect(again.status == 0, "\(again.stderr.suffix(800))")
        let diff = try await CLITests.accordctl(["diff", "--repo", fx.root.path], environment: ["DATABASE_URL": db.urlText])
        #expect(diff.stdout.hasSuffix("0 to create, 0 to update, 0 to delete\n"), "\(diff.stdout.suffix(300))")
    }

    /// The second connection writes its audit entries, sealed on the head
    /// the first batch will leave, before that batch is done. Here the first
    /// batch is refused and retried object by object, so the head moves
    /// elsewhere: the entries written ahead are rolled back to their
    /// savepoint and sealed again, and the batch still commits on the second
    /// connection (had they stayed, the entries sealed again would collide
    /// with them and the batch would be redone on the first).
    @Test func entriesWrittenAheadBehindARefusedBatchAreSealedAgain() async throws {
        let db = try await TestDatabase.scratch()
        defer { Task { await db.drop() } }
        // The first tenant in plan order: its workers are in the first batch.
        let first = (0..<Self.tenants).map { "t\($0)" }.min()!
        try await db.withSession { (session: Session) async throws in
            try await Migrations.run(session)
            try await session.execute("""
                ALTER TABLE platform.workers ADD CONSTRAINT refuse_one CHECK (NOT (tenant = '\(first)' AND name = 'w3'))
                """)
        }
        let fx = try CLITests.repo(files: GeneratedPlatform.files(tenants: Self.tenants))
        let run = try await CLITests.accordctl(["apply", "--repo", fx.root.path],
                                               environment: ["DATABASE_URL": db.urlText, "ACCORD_TIMINGS": "1"])
        #expect(run.status == 1, "some objects failed, the rest applied: \(run.stderr.suffix(800))")
        #expect(run.stderr.contains("1 batches on a second connection, 0 redone on the first"), "\(run.stderr.suffix(1500))")
        let refused = "Worker/\(first)/w3"
        try await db.withSession { (session: Session) async throws in
            #expect(try await Self.auditedWorkers(session) == Self.workersInPlanOrder.filter { $0 != refused })
            #expect(try await session.scalar("SELECT count(*)::text FROM platform.workers") == "2099")
            #expect(try await session.scalar("SELECT count(*)::text FROM accord.audit_log WHERE object LIKE 'Worker/%'") == "2100",
                    "2,099 creates and the refusal, nothing twice")
        }
        let verify = try await CLITests.accordctl(["audit", "verify"], environment: ["DATABASE_URL": db.urlText])
        #expect(verify.status == 0 && verify.stdout.contains("intact"), "\(verify.stdout) \(verify.stderr)")
    }
}
