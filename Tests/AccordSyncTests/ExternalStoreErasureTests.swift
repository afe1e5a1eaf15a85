@testable import AccordConnectors
import AccordCore
import AccordEngine
@testable import AccordStore
@testable import AccordSync
import AccordTestSupport
import Foundation
import Testing

/// Erasures that reach every store of the tenant (SPEC §8): PostgreSQL in
/// one transaction, then ClickHouse, Redis, S3 and an http service, each a
/// durable job; the certificate only once every store is verified, listing
/// each; a store that is down holds back only its own part and is resumed.
@Suite(TestDatabase.required, TestStores.required(.clickhouse, .redis, .s3, .eraser), .timeLimit(.minutes(5)))
struct ExternalStoreErasureTests {
    typealias T = ApplyTests
    static let subject = ErasureTests.subject
    static let other = ErasureTests.other

    /// Four stores with seeded data of the subject (and of others), their
    /// credentials files, and the manifests that name them.
    struct Fixture {
        let db: ScratchDatabase
        var manifests: Manifests
        let secrets: URL
        let database: String
        let prefix: String
        let bucket: String
        let resource: String
        let clickhouse: ClickHouseConnector
        let redis: RedisConnector
        let s3: S3Connector
        let eraser: HTTPEraserConnector

        func keys() -> Pass.Keys {
            Pass.Keys(kek: TestKeys.kek, signingKey: ExampleKeys.signing, trustedKeys: ExampleKeys.trusted, secretsDirectory: secrets.path)
        }

        func apply(revision: String, hours: Double = 1) async throws -> Pass.Report {
            try await T.apply(manifests.desired(), db, revision: revision) {
                $0.keys = keys()
                $0.clock = { ErasureTests.at(hours: hours) }
            }
        }

        /// What each store still holds of the subject for acme-corp.
        func remaining() async throws -> [String: Int] {
            let scope = SubjectScope(tenant: "acme-corp", subject: ExternalStoreErasureTests.subject, requestID: "check")
            var out: [String: Int] = [:]
            out["analytics"] = try await clickhouse.count(scope).values.reduce(0, +)
            out["sessions"] = try await redis.count(scope).values.reduce(0, +)
            out["uploads"] = try await s3.count(scope).values.reduce(0, +)
            return out
        }
    }

    static func fixture(clickhouseEndpoint: String? = nil, vectorsTimeout: String = "30s") async throws -> Fixture {
        let db = try await TestDatabase.scratch()
        var manifests = try Manifests.examples()
        let erasure = manifests.files.removeValue(forKey: "erasures/acme-corp.yaml")!
        let unique = UUID().uuidString.prefix(8).lowercased()
        let database = "accord_e_\(unique)", prefix = "e\(unique)", bucket = "accord-e-\(unique)", resource = "vectors-\(unique)"
        let secrets = try SecretFixture.directory("accord-secrets")
        let ch = try TestStores.server(.clickhouse), rd = try TestStores.server(.redis), s3s = try TestStores.server(.s3), er = try TestStores.server(.eraser)
        for (file, secret) in [("analytics", ch.secret), ("sessions", rd.secret), ("uploads", s3s.secret), ("vectors", er.secret)] {
            try SecretFixture.write(secret + "\n", to: secrets.appendingPathComponent(file))
        }
        let stores = """
            apiVersion: accord.dev/v1
            kind: Store
            metadata: {name: analytics}
            spec:
              type: clickhouse
              region: eu
              endpoint: \(clickhouseEndpoint ?? ch.url)
              credentials: analytics
              timeout: 5s
              holds:
                - {table: \(database).events, subjectField: subject_email_hash, tenantField: tenant_id, timeField: created_at}
            ---
            apiVersion: accord.dev/v1
            kind: Store
            metadata: {name: sessions}
            spec:
              type: redis
              region: eu
              endpoint: \(rd.url)
              credentials: sessions
              holds: [{keyPattern: "\(prefix):session:{tenant}:{subject}:*"}]
            ---
            apiVersion: accord.dev/v1
            kind: Store
            metadata: {name: uploads}
            spec:
              type: s3
              region: eu
              endpoint: \(s3s.url)
              credentials: uploads
              holds: [{bucket: \(bucket), prefix: "{tenant}/{subject}/"}]
            ---
            apiVersion: accord.dev/v1
            kind: Store
            metadata: {name: vectors}
            spec:
              type: http
              region: eu
              endpoint: \(er.url)
              credentials: vectors
              timeout: \(vectorsTimeout)
              holds: [{resource: \(resource)}]
            """
        manifests.files["stores/test.yaml"] = stores
        manifests.edit("tenants/acme-corp.yaml", "  deletionPolicy: Retain", "  deletionPolicy: Retain\n  stores: [analytics, sessions, uploads, vectors]")

        func access(_ name: String, _ type: StoreSpec.StoreType, _ server: TestStores.Server, _ holds: [StoreSpec.Holding]) -> StoreAccess {
            StoreAccess(name: name, spec: StoreSpec(type: type, region: .eu, endpoint: server.url, holds: holds), secret: server.secret)
        }
        let clickhouse = try ClickHouseConnector(access("analytics", .clickhouse, ch, [
            .table(table: "\(database).events", subjectField: "subject_email_hash", tenantField: "tenant_id", timeField: "created_at")]))
        try await clickhouse.run("CREATE DATABASE \(database)")
        try await clickhouse.run("CREATE TABLE \(database).events (tenant_id String, subject_email_hash String, created_at DateTime, payload String) ENGINE = MergeTree ORDER BY created_at")
        var rows = (0..<12).map { "('acme-corp', '\(subject)', now(), 'a\($0)')" }
        rows += ["('acme-corp', '\(other)', now(), 'x')", "('brightpath', '\(subject)', now(), 'y')"]
        try await clickhouse.run("INSERT INTO \(database).events VALUES " + rows.joined(separator: ", "))
        let redis = try RedisConnector(access("sessions", .redis, rd, [.keys(pattern: "\(prefix):session:{tenant}:{subject}:*")]))
        try await redis.session { r in
            var args = ["MSET"]
            for i in 0..<7 { args += ["\(prefix):session:acme-corp:\(subject):\(i)", "v"] }
            args += ["\(prefix):session:acme-corp:\(other):0", "v"]
            _ = try await r.call(args)
        }
        let s3 = try S3Connector(access("uploads", .s3, s3s, [.objects(bucket: bucket, prefix: "{tenant}/{subject}/")]))
        _ = try await s3.request("PUT", bucket: bucket)
        for key in (0..<5).map({ "acme-corp/\(subject)/f\($0)" }) + ["acme-corp/\(other)/f"] {
            _ = try await s3.request("PUT", bucket: bucket, key: key, body: [1])
        }
        let eraser = try HTTPEraserConnector(access("vectors", .http, er, [.resource(resource)]))
        try await eraser.post("/_seed", .object(["resource": .string(resource), "rows": .array((0..<3).map { i in
            .object(["tenant": .string("acme-corp"), "subject": .string(subject), "created_at": .string("2026-01-01T00:00:00Z"), "payload": .string("v\(i)")])
        })]))
        var fixture = Fixture(db: db, manifests: manifests, secrets: secrets, database: database, prefix: prefix, bucket: bucket,
                              resource: resource, clickhouse: clickhouse, redis: redis, s3: s3, eraser: eraser)
        _ = try await fixture.apply(revision: "r1")
        fixture.manifests.files["erasures/acme-corp.yaml"] = erasure
        return fixture
    }

    @Test func anErasureReachesEveryStoreAndItsCertificateListsThem() async throws {
        let f = try await Self.fixture()
        defer { Task { await f.db.drop(); try? await f.clickhouse.run("DROP DATABASE IF EXISTS \(f.database)") } }
        #expect(try await f.remaining() == ["analytics": 12, "sessions": 7, "uploads": 5])

        let report = try await f.apply(revision: "r2")
        #expect(report.erasures.completed.map(\.id.description) == ["Erasure/acme-corp/dsr-2026-11-0007"])
        #expect(try await f.remaining() == ["analytics": 0, "sessions": 0, "uploads": 0])
        // Everything of other subjects and tenants stays.
        #expect(try await f.clickhouse.scalar("SELECT count() FROM \(f.database).events") == 2)

        let stored = try await ErasureTests.certificate(f.db, "acme-corp", "dsr-2026-11-0007")
        let cert = try JSONParser.parse(stored.certificate)
        #expect(cert["formatVersion"] == .number(2))
        let stores = cert["stores"]?.arrayValue ?? []
        #expect(stores.map { $0["name"]?.stringValue ?? "" } == ["analytics", "sessions", "uploads", "vectors"])
        #expect(stores.map { $0["deleted"]?.numberValue ?? -1 } == [12, 7, 5, 3])
        #expect(stores.allSatisfy { $0["remaining"] == .number(0) && $0["verifiedAt"]?.stringValue != nil })
        #expect(stores.map { $0["type"]?.stringValue ?? "" } == ["clickhouse", "redis", "s3", "http"])
        #expect(cert["tables"]?["users"] != nil, "the PostgreSQL tables are there too")
        // No credentials anywhere in the certificate, the evidence or the audit log.
        let audit = try await T.scalar(f.db, "SELECT string_agg(body, ' ') FROM accord.audit_log") ?? ""
        for server in [TestStores.Kind.clickhouse, .redis, .s3, .eraser] {
            let secret = try TestStores.server(server).secret
            // The secret, and each part of a user:password or key:secret pair long enough to be one (not the user name).
            for part in [secret] + secret.split(separator: ":").map(String.init) where part.count >= 12 {
                #expect(!stored.certificate.contains(part) && !stored.evidence.contains(part) && !audit.contains(part), "\(server) credentials leak")
            }
        }
        let check = ErasureCertificate.verify(certificate: stored.certificate, signature: stored.signature, evidence: stored.evidence,
                                              publicKey: ExampleKeys.signing.publicKey)
        #expect(check.verified)
        // Status shows each store's job, verified.
        let status = try await f.db.withSession { try await ObjectStatus.read($0, id: ObjectID(kind: .erasure, tenant: "acme-corp", name: "dsr-2026-11-0007")) }
        let jobs = status.first?.live["erasure"]?["stores"]?.arrayValue ?? []
        #expect(jobs.map { $0["state"]?.stringValue ?? "" } == ["verified", "verified", "verified", "verified"])
        // Done once: another pass runs nothing again.
        let again = try await f.apply(revision: "r3")
        #expect(again.erasures.completed.isEmpty)
    }

    @Test func aStoreThatIsDownHoldsBackOnlyItsOwnPartAndIsResumed() async throws {
        // ClickHouse named at a port where nothing listens.
        var f = try await Self.fixture(clickhouseEndpoint: "http://127.0.0.1:1")
        let (db, clickhouse, database) = (f.db, f.clickhouse, f.database)
        defer { Task { await db.drop(); try? await clickhouse.run("DROP DATABASE IF EXISTS \(database)") } }
        let report = try await f.apply(revision: "r2")
        #expect(report.erasures.completed.isEmpty, "no certificate while a store is not verified")
        #expect(report.erasures.waiting.map(\.stores) == [["analytics"]])
        #expect(report.erasures.storeFailures.map(\.store) == ["analytics"])
        #expect(try await T.scalar(f.db, "SELECT count(*)::text FROM accord.erasure_certificates") == "0")
        // The other stores are done; the PostgreSQL part too.
        let left = try await f.remaining()
        #expect(left["sessions"] == 0 && left["uploads"] == 0)
        #expect(try await ErasureTests.count(f.db, "tenant_acme_corp.users") == "0")
        let jobs = try await f.db.withSession { try await StoreJobs.jobs($0) }
        let analytics = try #require(jobs.first { $0.store == "analytics" })
        #expect(analytics.state == .failed && analytics.retryState == .pending && analytics.attempts == 1)
        #expect(analytics.lastError?.contains("unreachable") == true)
        #expect(jobs.filter { $0.store != "analytics" }.allSatisfy { $0.state == .verified })
        // Status names the store holding the erasure back.
        let status = try await f.db.withSession { try await ObjectStatus.read($0, id: ObjectID(kind: .erasure, tenant: "acme-corp", name: "dsr-2026-11-0007")) }
        #expect(status.first?.message.contains("waiting for store analytics") == true)

        // The store is back (its manifest fixed); once its retry is due, it is erased and the certificate issued.
        f.manifests.edit("stores/test.yaml", "endpoint: http://127.0.0.1:1", "endpoint: \(try TestStores.server(.clickhouse).url)")
        let early = try await f.apply(revision: "r3", hours: 1)
        #expect(early.erasures.completed.isEmpty, "the job waits for its backoff")
        let later = try await f.apply(revision: "r4", hours: 2)
        #expect(later.erasures.completed.count == 1)
        #expect(try await f.remaining()["analytics"] == 0)
        let cert = try JSONParser.parse(try await ErasureTests.certificate(f.db, "acme-corp", "dsr-2026-11-0007").certificate)
        #expect(cert["stores"]?.arrayValue?.first?["deleted"] == .number(12), "counted once, before the first delete")
        // What the failures left behind for people to read holds no credentials.
        let leaks = try await f.db.withSession { try await SecretScan.storedLeaks($0) }
        #expect(leaks.isEmpty, "\(leaks)")
    }

    /// Retention rules that name external stores: each store's own means,
    /// only the tenant's old data, a dry run that counts store by store,
    /// counts per tenant and store in the audit log.
    @Test func retentionReachesExternalStores() async throws {
        var f = try await Self.fixture()
        let (db, clickhouse, database) = (f.db, f.clickhouse, f.database)
        defer { Task { await db.drop(); try? await clickhouse.run("DROP DATABASE IF EXISTS \(database)") } }
        f.manifests.files.removeValue(forKey: "erasures/acme-corp.yaml")
        // Old rows in ClickHouse (40 days), of acme-corp and of another tenant.
        let old = Int(Date().timeIntervalSince1970) - 40 * 86_400
        try await f.clickhouse.run("INSERT INTO \(database).events VALUES ('acme-corp', 'sha256:00', toDateTime(\(old)), 'old1'), ('acme-corp', 'sha256:01', toDateTime(\(old)), 'old2'), ('brightpath', 'sha256:02', toDateTime(\(old)), 'old3')")
        f.manifests.edit("retention/standard-eu.yaml", "  rules:\n", """
              rules:
                - {store: analytics/\(database).events, maxAge: 30d}
                - {store: sessions, maxAge: 1s}
                - {store: uploads/\(f.bucket), maxAge: 1s}

            """)
        _ = try await f.apply(revision: "r2")
        try await Task.sleep(for: .seconds(2))  // every Redis key and S3 object is now older than 1s
        let dry = try await db.withSession {
            try await RetentionRunner.runNow($0, secretsDirectory: f.secrets.path, now: Date(), dryRun: true, lockTimeout: .seconds(5), actor: "test")
        }
        func count(_ store: String) -> Int { dry.counts.filter { $0.tenant == "acme-corp" && $0.store == store }.reduce(0) { $0 + $1.rows } }
        #expect(count("analytics/\(database).events") == 2, "\(dry.counts)")
        #expect(count("sessions/\(f.prefix):session:{tenant}:{subject}:*") == 8)
        #expect(count("uploads/\(f.bucket)") == 6)
        #expect(dry.failures.isEmpty, "\(dry.failures)")
        #expect(try await f.clickhouse.scalar("SELECT count() FROM \(database).events") == 17, "a dry run deletes nothing")

        let run = try await db.withSession {
            try await RetentionRunner.runNow($0, secretsDirectory: f.secrets.path, now: Date(), dryRun: false, lockTimeout: .seconds(5), actor: "test")
        }
        #expect(run.counts.filter { $0.store.hasPrefix("analytics/") }.map(\.rows) == [2])
        #expect(try await f.clickhouse.scalar("SELECT count() FROM \(database).events") == 15, "brightpath's old row stays: it does not list the store")
        let left = try await f.remaining()
        #expect(left["sessions"] == 0 && left["uploads"] == 0)
        let audit = try await T.scalar(db, "SELECT body FROM accord.audit_log WHERE action = 'retention' ORDER BY seq DESC LIMIT 1") ?? ""
        #expect(audit.contains("\"analytics/\(database).events\":2") && audit.contains("\"uploads/\(f.bucket)\":6"), "\(audit)")
    }

    /// The reference service's faults: an error answer, no answer within
    /// the Store's timeout, a connection dropped mid-request. Each fails
    /// only the service's job, which is retried with the same request id;
    /// the counts certified are the service's first, never added twice.
    @Test func aServiceThatFailsTimesOutOrDropsTheConnectionIsRetried() async throws {
        let f = try await Self.fixture(vectorsTimeout: "2s")
        let (db, clickhouse, database) = (f.db, f.clickhouse, f.database)
        defer { Task { await db.drop(); try? await clickhouse.run("DROP DATABASE IF EXISTS \(database)") }; Task { try? await f.eraser.post("/_faults", .object(["resource": .string(f.resource)])) } }
        func vectorsJob() async throws -> StoreJobs.Job { try #require(try await db.withSession { try await StoreJobs.jobs($0) }.first { $0.store == "vectors" }) }
        var hours = 1.0
        for (fault, expected) in [(JSONValue.object(["failNext": .number(1)]), "HTTP 500"),
                                  (.object(["delaySeconds": .number(4)]), "timeout"),
                                  (.object(["dropConnectionNext": .number(5)]), "unreachable")] {
            // Faults for this test's resource only: other tests use the same service meanwhile.
            guard case .object(var scoped) = fault else { continue }
            scoped["resource"] = .string(f.resource)
            try await f.eraser.post("/_faults", .object(scoped))
            let report = try await f.apply(revision: "r\(Int(hours))", hours: hours)
            #expect(report.erasures.completed.isEmpty, "\(fault)")
            let job = try await vectorsJob()
            #expect(job.state == .failed && job.lastError?.contains(expected) == true, "\(fault): \(job.lastError ?? "no error")")
            hours += 1  // past the job's backoff
        }
        try await f.eraser.post("/_faults", .object(["resource": .string(f.resource)]))
        let done = try await f.apply(revision: "r9", hours: hours)
        #expect(done.erasures.completed.count == 1)
        let cert = try JSONParser.parse(try await ErasureTests.certificate(db, "acme-corp", "dsr-2026-11-0007").certificate)
        let vectors = cert["stores"]?.arrayValue?.first { $0["name"] == .string("vectors") }
        #expect(vectors?["deleted"] == .number(3), "the service deleted 3 items once, whatever the retries: \(String(describing: vectors))")
        let job = try await vectorsJob()
        #expect(job.state == .verified && job.attempts == 3)
    }

    /// A crash at any step resumes where it stopped: after the PostgreSQL
    /// part (its jobs exist, pending), and between a store's delete and
    /// its verification (the counts recorded before the first delete are
    /// the ones certified, though nothing is left to count when it resumes).
    @Test func aCrashBetweenTheStepsResumes() async throws {
        let f = try await Self.fixture()
        let (db, clickhouse, database) = (f.db, f.clickhouse, f.database)
        defer { Task { await db.drop(); try? await clickhouse.run("DROP DATABASE IF EXISTS \(database)") } }
        _ = try await T.apply(f.manifests.desired(), db, revision: "r2") {
            $0.keys = f.keys()
            $0.runErasuresAndRetention = false
        }
        // The PostgreSQL part, then the "crash": nothing of the stores ran.
        try await db.withSession { session in
            let open = try #require(try await ErasureRuns.openErasures(session).first)
            var audit = try await AuditChain.load(session, actor: "test")
            _ = try await ErasureRuns.erasePostgres(open, now: ErasureTests.at(hours: 1), revision: "r2", audit: &audit, session)
        }
        var jobs = try await db.withSession { try await StoreJobs.jobs($0) }
        #expect(jobs.map(\.state) == [.pending, .pending, .pending, .pending])
        // S3's job counted (5) and deleted, then the "crash" before its verification.
        let uploads = try #require(jobs.first { $0.store == "uploads" })
        let scope = SubjectScope(tenant: "acme-corp", subject: Self.subject, requestID: uploads.requestID)
        try await db.withSession { try await StoreJobs.advance(uploads, to: .erasing, deleted: try await f.s3.count(scope), at: Date(), $0) }
        _ = try await f.s3.delete(scope)
        jobs = try await db.withSession { try await StoreJobs.jobs($0) }
        #expect(jobs.first { $0.store == "uploads" }?.state == .erasing)

        let resumed = try await f.apply(revision: "r3")
        #expect(resumed.erasures.completed.count == 1, "\(resumed.erasures.storeFailures) \(resumed.erasures.waiting) \(resumed.erasures.failed.map(\.message))")
        #expect(try await f.remaining() == ["analytics": 0, "sessions": 0, "uploads": 0])
        let cert = try JSONParser.parse(try await ErasureTests.certificate(db, "acme-corp", "dsr-2026-11-0007").certificate)
        #expect(cert["stores"]?.arrayValue?.map { $0["deleted"]?.numberValue ?? -1 } == [12, 7, 5, 3])
        #expect(try await T.scalar(db, "SELECT count(*)::text FROM accord.audit_log WHERE action = 'erase-postgres'") == "1",
                "the PostgreSQL part ran once")
    }
}

