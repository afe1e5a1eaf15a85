import AccordCore
@testable import AccordConnectors
import AccordTestSupport
import Foundation
import Testing

/// Each connector against its real server (`hack/start-stores`): only the
/// subject's data of the one tenant goes, hostile values match nothing
/// else, verification counts again, missing entries and wrong credentials
/// are reported, retention takes only what is old.
@Suite(TestStores.required(.clickhouse, .redis, .s3, .eraser), .timeLimit(.minutes(5)))
struct ConnectorServerTests {
    static let subject = "sha256:" + String(repeating: "a1", count: 32)
    static let other = "sha256:" + String(repeating: "b2", count: 32)
    static func unique(_ prefix: String) -> String { "\(prefix)\(UUID().uuidString.prefix(8).lowercased())" }

    static func access(_ name: String, _ type: StoreSpec.StoreType, _ server: TestStores.Server, _ holds: [StoreSpec.Holding],
                       secret: String? = nil, timeout: Int = 20) -> StoreAccess {
        var spec = StoreSpec(type: type, region: .eu, endpoint: server.url, holds: holds)
        spec.timeout = DurationValue(seconds: timeout, text: "\(timeout)s")
        return StoreAccess(name: name, spec: spec, secret: secret ?? server.secret)
    }

    // MARK: ClickHouse

    @Test func clickHouseErasesOneSubjectOfOneTenant() async throws {
        let server = try TestStores.server(.clickhouse)
        let database = Self.unique("accord_t_")
        let admin = try ClickHouseConnector(Self.access("ch", .clickhouse, server, []))
        try await admin.run("CREATE DATABASE \(database)")
        defer { Task { try? await admin.run("DROP DATABASE IF EXISTS \(database)") } }
        try await admin.run("CREATE TABLE \(database).events (tenant_id String, subject_email_hash String, created_at DateTime, payload String) ENGINE = MergeTree ORDER BY created_at")
        let old = Int(Date().timeIntervalSince1970) - 40 * 86_400
        var rows: [String] = []
        for i in 0..<20 { rows.append("('acme', '\(Self.subject)', now(), 'e\(i)')") }
        for i in 0..<5 { rows.append("('acme', '\(Self.other)', toDateTime(\(old)), 'o\(i)')") }
        for i in 0..<7 { rows.append("('globex', '\(Self.subject)', now(), 'g\(i)')") }
        rows.append("('x'' OR 1=1 --', '\(Self.subject)', now(), 'hostile')")
        try await admin.run("INSERT INTO \(database).events VALUES " + rows.joined(separator: ", "))

        let table = StoreSpec.Holding.table(table: "\(database).events", subjectField: "subject_email_hash", tenantField: "tenant_id", timeField: "created_at")
        let ch = try ClickHouseConnector(Self.access("analytics", .clickhouse, server, [table]))
        #expect(try await ch.missingEntries().isEmpty)
        let scope = SubjectScope(tenant: "acme", subject: Self.subject, requestID: "r1")
        #expect(try await ch.count(scope) == ["\(database).events": 20])

        // A hostile tenant value is one literal: it matches only the row written with it.
        let hostile = SubjectScope(tenant: "x' OR 1=1 --", subject: Self.subject, requestID: "r0")
        #expect(try await ch.count(hostile) == ["\(database).events": 1])
        #expect(try await ch.count(SubjectScope(tenant: "acme' OR '1'='1", subject: Self.subject, requestID: "r")) == ["\(database).events": 0])

        _ = try await ch.delete(scope)
        #expect(try await ch.count(scope) == ["\(database).events": 0])
        #expect(try await admin.scalar("SELECT count() FROM \(database).events") == 13, "the other subject, the other tenant and the hostile row stay")
        _ = try await ch.delete(scope)  // idempotent
        #expect(try await admin.scalar("SELECT count() FROM \(database).events") == 13)

        // Retention: only acme's rows older than 30 days.
        let cutoff = Date().addingTimeInterval(-30 * 86_400)
        #expect(try await ch.enforceRetention(tenant: "acme", entry: table, olderThan: cutoff, dryRun: true, requestID: "x") == 5)
        #expect(try await admin.scalar("SELECT count() FROM \(database).events") == 13, "a dry run deletes nothing")
        #expect(try await ch.enforceRetention(tenant: "acme", entry: table, olderThan: cutoff, dryRun: false, requestID: "x") == 5)
        #expect(try await admin.scalar("SELECT count() FROM \(database).events") == 8)

        // A table that does not exist, and credentials that are refused.
        let missing = try ClickHouseConnector(Self.access("analytics", .clickhouse, server, [
            .table(table: "\(database).nope", subjectField: "s", tenantField: "t", timeField: "c")]))
        #expect(try await missing.missingEntries() == ["\(database).nope"])
        let wrong = try ClickHouseConnector(Self.access("analytics", .clickhouse, server, [table], secret: "accord:not-the-password"))
        await #expect { try await wrong.count(scope) } throws: { ($0 as? StoreFailure)?.kind == .unauthorized }
    }

    // MARK: Redis

    @Test func redisErasesOneSubjectsKeys() async throws {
        let server = try TestStores.server(.redis)
        let prefix = Self.unique("t")
        let holding = StoreSpec.Holding.keys(pattern: "\(prefix):session:{tenant}:{subject}:*")
        let redis = try RedisConnector(Self.access("sessions", .redis, server, [holding]))
        // 2,500 keys of the subject (more than one SCAN page and one UNLINK batch), and others.
        try await redis.session { r in
            for start in stride(from: 0, to: 2_500, by: 500) {
                var args = ["MSET"]
                for i in start..<(start + 500) { args += ["\(prefix):session:acme:\(Self.subject):\(i)", "v"] }
                _ = try await r.call(args)
            }
            _ = try await r.call(["MSET", "\(prefix):session:acme:\(Self.other):1", "v", "\(prefix):session:globex:\(Self.subject):1", "v",
                                  "\(prefix):session:acme*:\(Self.subject):1", "v"])
        }
        let scope = SubjectScope(tenant: "acme", subject: Self.subject, requestID: "r")
        #expect(try await redis.count(scope) == [ "\(prefix):session:{tenant}:{subject}:*": 2_500])
        // A tenant written with a glob character matches only itself.
        #expect(try await redis.count(SubjectScope(tenant: "acme*", subject: Self.subject, requestID: "r")).values.first == 1)
        #expect(try await redis.count(SubjectScope(tenant: "a?me", subject: Self.subject, requestID: "r")).values.first == 0)
        _ = try await redis.delete(scope)
        #expect(try await redis.count(scope).values.first == 0)
        let left = try await redis.session { r in try await r.scanPage("0", match: "\(prefix):*") }
        #expect(Set(left.keys).count >= 0)
        let all = try await redis.session { r -> Int in
            var n = 0, cursor = "0"
            repeat { let p = try await r.scanPage(cursor, match: "\(prefix):*"); n += p.keys.count; cursor = p.next } while cursor != "0"
            return n
        }
        #expect(all == 3, "the other subject, the other tenant and the glob-named tenant stay")
        #expect(try await redis.missingEntries().isEmpty)
        let wrong = try RedisConnector(Self.access("sessions", .redis, server, [holding], secret: "not-the-password"))
        await #expect { try await wrong.count(scope) } throws: { ($0 as? StoreFailure)?.kind == .unauthorized }
    }

    // MARK: S3

    @Test func s3ErasesOneSubjectsObjects() async throws {
        let server = try TestStores.server(.s3)
        let bucket = Self.unique("accord-t-")
        let holding = StoreSpec.Holding.objects(bucket: bucket, prefix: "{tenant}/{subject}/")
        let s3 = try S3Connector(Self.access("uploads", .s3, server, [holding]))
        #expect(try await s3.missingEntries() == [bucket])
        #expect(try await s3.request("PUT", bucket: bucket).status == 200)
        #expect(try await s3.missingEntries().isEmpty)
        // 1,200 objects of the subject (two listing pages, two DeleteObjects), and others.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for chunk in 0..<8 {
                group.addTask {
                    for i in stride(from: chunk, to: 1_200, by: 8) {
                        let status = try await s3.request("PUT", bucket: bucket, key: "acme/\(Self.subject)/file \(i)+é.txt", body: Array("x".utf8)).status
                        guard status == 200 else { throw StoreFailure(store: "uploads", kind: .failed, message: "PUT \(status)") }
                    }
                }
            }
            try await group.waitForAll()
        }
        for key in ["acme/\(Self.other)/a", "globex/\(Self.subject)/a", "acme/\(Self.subject)x/a"] {
            #expect(try await s3.request("PUT", bucket: bucket, key: key, body: [1]).status == 200)
        }
        let scope = SubjectScope(tenant: "acme", subject: Self.subject, requestID: "r")
        #expect(try await s3.count(scope) == [bucket: 1_200])
        _ = try await s3.delete(scope)
        #expect(try await s3.count(scope) == [bucket: 0])
        var left: [String] = []
        try await s3.list(bucket, prefix: "") { left += $0.map(\.key) }
        #expect(left.sorted() == ["acme/\(Self.other)/a", "acme/\(Self.subject)x/a", "globex/\(Self.subject)/a"].sorted())
        // Retention: everything of acme last modified before the cutoff (now + 1 min: all of it).
        #expect(try await s3.enforceRetention(tenant: "acme", entry: holding, olderThan: Date().addingTimeInterval(60), dryRun: true, requestID: "x") == 2)
        #expect(try await s3.enforceRetention(tenant: "acme", entry: holding, olderThan: Date().addingTimeInterval(-3600), dryRun: false, requestID: "x") == 0)
        #expect(try await s3.enforceRetention(tenant: "acme", entry: holding, olderThan: Date().addingTimeInterval(60), dryRun: false, requestID: "x") == 2)
        var after: [String] = []
        try await s3.list(bucket, prefix: "") { after += $0.map(\.key) }
        #expect(after == ["globex/\(Self.subject)/a"])
    }

    // MARK: http

    @Test func theReferenceServiceErasesByTheContract() async throws {
        let server = try TestStores.server(.eraser)
        let resource = Self.unique("emb_").replacingOccurrences(of: "-", with: "")
        let eraser = try HTTPEraserConnector(Self.access("vectors", .http, server, [.resource(resource.replacingOccurrences(of: "_", with: "-"))]))
        // The service's resources are tables; seed one (the hook is signed like every request).
        let name = resource.replacingOccurrences(of: "_", with: "-")
        var rows: [JSONValue] = []
        for i in 0..<30 { rows.append(.object(["tenant": .string("acme"), "subject": .string(Self.subject), "created_at": .string("2026-01-01T00:00:00Z"), "payload": .string("p\(i)")])) }
        rows.append(.object(["tenant": .string("globex"), "subject": .string(Self.subject), "created_at": .string("2026-01-01T00:00:00Z"), "payload": .string("g")]))
        try await eraser.post("/_seed", .object(["resource": .string(name), "rows": .array(rows)]))
        #expect(try await eraser.missingEntries().isEmpty)
        let scope = SubjectScope(tenant: "acme", subject: Self.subject, requestID: Self.unique("req-"))
        #expect(try await eraser.delete(scope) == [name: 30])
        #expect(try await eraser.count(scope) == [name: 0])
        // The same request id again: the same answer, nothing deleted twice.
        #expect(try await eraser.delete(scope) == [name: 30])
        // A wrong secret is refused, and a resource the service lacks is missing.
        let wrong = try HTTPEraserConnector(Self.access("vectors", .http, server, [.resource(name)], secret: "not-the-secret"))
        await #expect { try await wrong.missingEntries() } throws: { ($0 as? StoreFailure)?.kind == .unauthorized }
        let missing = try HTTPEraserConnector(Self.access("vectors", .http, server, [.resource("no-such-resource")]))
        #expect(try await missing.missingEntries() == ["no-such-resource"])
    }

    // MARK: Faults

    @Test func aStoreThatIsDownOrSlowIsReportedInTime() async throws {
        // Nothing listens on port 1.
        let down = StoreAccess(name: "gone", spec: StoreSpec(type: .clickhouse, region: .eu, endpoint: "http://127.0.0.1:1",
                                                              holds: [.table(table: "t", subjectField: "s", tenantField: "t", timeField: "c")]),
                               secret: "u:p")
        await #expect { try await ClickHouseConnector(down).missingEntries() } throws: { ($0 as? StoreFailure)?.kind == .unreachable }
        let redisDown = StoreAccess(name: "gone", spec: StoreSpec(type: .redis, region: .eu, endpoint: "redis://127.0.0.1:1", holds: [.keys(pattern: "{tenant}:{subject}")]), secret: "p")
        await #expect { try await RedisConnector(redisDown).missingEntries() } throws: { ($0 as? StoreFailure)?.kind == .unreachable }
    }
}
