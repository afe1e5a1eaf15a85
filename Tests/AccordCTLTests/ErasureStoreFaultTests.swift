@testable import AccordConnectors
import AccordCore
import AccordStore
import AccordTestSupport
import Foundation
import Testing

/// `accordctl apply` killed at the points of an erasure with external
/// stores where a crash matters most — right after its PostgreSQL
/// transaction committed, and right after a store's delete returned, before
/// that was recorded (`ACCORD_TEST_KILL_AT`, so each kill lands where this
/// says) — and then run again: no certificate while anything is unverified,
/// the PostgreSQL part done once, every store erased, and the certificate's
/// counts the ones found before the first delete.
@Suite(TestDatabase.required, TestStores.required(.s3, .eraser), .timeLimit(.minutes(5)))
struct ErasureStoreFaultTests {
    static let subject = "sha256:86e0b9e56c17cc4d12387e1949b85053fbe73bc3ce5a1188713a9d300cc6133d"

    @Test func killsBetweenTheStepsOfAnErasureResumeAndCertifyOnce() async throws {
        let db = try await TestDatabase.scratch()
        defer { Task { await db.drop() } }
        let unique = UUID().uuidString.prefix(8).lowercased()
        let bucket = "accord-k-\(unique)", resource = "vectors-\(unique)"
        let s3s = try TestStores.server(.s3), er = try TestStores.server(.eraser)
        let secrets = try SecretFixture.directory("accord-k-secrets")
        defer { try? FileManager.default.removeItem(at: secrets) }
        for (file, secret) in [("uploads", s3s.secret), ("vectors", er.secret)] {
            try SecretFixture.write(secret, to: secrets.appendingPathComponent(file))
        }
        // The subject's data: 25 objects and 4 items.
        let s3 = try S3Connector(StoreAccess(name: "uploads", spec: StoreSpec(type: .s3, region: .eu, endpoint: s3s.url,
                                                                             holds: [.objects(bucket: bucket, prefix: "{tenant}/{subject}/")]), secret: s3s.secret))
        _ = try await s3.request("PUT", bucket: bucket)
        for i in 0..<25 { _ = try await s3.request("PUT", bucket: bucket, key: "acme-corp/\(Self.subject)/f\(i)", body: [1]) }
        let eraser = try HTTPEraserConnector(StoreAccess(name: "vectors", spec: StoreSpec(type: .http, region: .eu, endpoint: er.url,
                                                                                         holds: [.resource(resource)]), secret: er.secret))
        try await eraser.post("/_seed", .object(["resource": .string(resource), "rows": .array((0..<4).map { i in
            .object(["tenant": .string("acme-corp"), "subject": .string(Self.subject), "payload": .string("v\(i)")])
        })]))

        let stores = """
            apiVersion: accord.dev/v1
            kind: Store
            metadata: {name: uploads}
            spec: {type: s3, region: eu, endpoint: "\(s3s.url)", credentials: uploads, holds: [{bucket: \(bucket), prefix: "{tenant}/{subject}/"}]}
            ---
            apiVersion: accord.dev/v1
            kind: Store
            metadata: {name: vectors}
            spec: {type: http, region: eu, endpoint: "\(er.url)", credentials: vectors, holds: [{resource: \(resource)}]}
            """
        let fx = try CLITests.repo(copying: "examples/platform", files: ["stores/test.yaml": stores])
        let tenant = try String(contentsOf: fx.root.appendingPathComponent("tenants/acme-corp.yaml"), encoding: .utf8)
        try fx.write("tenants/acme-corp.yaml", tenant.replacingOccurrences(of: "  deletionPolicy: Retain", with: "  deletionPolicy: Retain\n  stores: [uploads, vectors]"))
        _ = try fx.commit("acme-corp's data is in two stores too")
        let env = ["DATABASE_URL": db.urlText, "ACCORD_SECRETS_DIR": secrets.path]

        func apply(killAt point: FaultPoint?, which: String? = nil) async throws -> (status: Int32, signaled: Bool, output: String) {
            let process = Process()
            process.executableURL = try CLITests.binary()
            process.arguments = ["apply", "--repo", fx.root.path]
            var environment = ProcessInfo.processInfo.environment.merging(env) { $1 }
            environment["ACCORD_KEK_FILE"] = CLITests.kekFile
            environment["ACCORD_TRUSTED_KEYS_DIR"] = ExampleKeys.trustedDirectory
            environment["ACCORD_SIGNING_KEY_FILE"] = ExampleKeys.path("controller-signing.pem")
            environment["ACCORD_TEST_KILL_AT"] = point.map { p in which.map { "\(p.rawValue):\($0)" } ?? p.rawValue }
            process.environment = environment
            let output = OutputFile()
            defer { output.remove() }
            let handle = try output.handle()
            process.standardOutput = handle
            process.standardError = handle
            try process.run()
            guard await process.exited(within: .seconds(120), "apply") else { throw CLIFailure("apply did not end") }
            return (process.terminationStatus, process.terminationReason == .uncaughtSignal, output.text)
        }
        func state() async throws -> (certificates: String?, postgresParts: String?, jobs: [StoreJobs.Job]) {
            try await db.withSession { s in
                (try await s.scalar("SELECT count(*)::text FROM accord.erasure_certificates"),
                 try await s.scalar("SELECT count(*)::text FROM accord.audit_log WHERE action = 'erase-postgres'"),
                 try await StoreJobs.jobs(s))
            }
        }

        // 1. Killed right after the PostgreSQL transaction: its jobs exist, none ran.
        let first = try await apply(killAt: .erasurePostgresCommitted)
        #expect(first.signaled && first.status == SIGKILL, "killed by its own signal: \(first.output.suffix(300))")
        var now = try await state()
        #expect(now.certificates == "0" && now.postgresParts == "1")
        #expect(now.jobs.map(\.state) == [.pending, .pending])

        // 2. Killed right after the S3 store's delete returned (`store-deleted:uploads`, whatever the
        // http store is doing at that moment): that job is still `erasing`, its count recorded.
        let second = try await apply(killAt: .storeDeleted, which: "uploads")
        #expect(second.signaled && second.status == SIGKILL)
        now = try await state()
        #expect(now.certificates == "0" && now.postgresParts == "1", "the PostgreSQL part is not run again")
        #expect(now.jobs.first { $0.store == "uploads" }?.state == .erasing, "\(now.jobs.map(\.state))")
        #expect(now.jobs.first { $0.store == "uploads" }?.deleted == [bucket: 25])

        // 3. Run to the end: every store erased and verified, one certificate with the first counts.
        let last = try await apply(killAt: nil)
        #expect(last.status == 0, "\(last.output)")
        now = try await state()
        #expect(now.certificates == "1" && now.postgresParts == "1" && now.jobs.allSatisfy { $0.state == .verified })
        let scope = SubjectScope(tenant: "acme-corp", subject: Self.subject, requestID: "check")
        #expect(try await s3.count(scope) == [bucket: 0])
        let certificate = try #require(try await db.withSession { try await $0.scalar("SELECT certificate FROM accord.erasure_certificates") })
        let listed = try JSONParser.parse(certificate)["stores"]?.arrayValue ?? []
        #expect(listed.map { $0["deleted"]?.numberValue ?? -1 } == [25, 4])
        for output in [first.output, second.output, last.output] {
            let leaks = SecretScan.leaks(output, passwords: SecretScan.password(of: db.urlText).map { [$0] } ?? [])
            #expect(leaks.isEmpty, "\(leaks)")
        }
    }
}
