@testable import AccordStore
import Foundation
import Testing

/// Where tests find PostgreSQL. Without a database they are skipped on a
/// developer's machine, but with CI=true they run and fail: CI never passes
/// by skipping the database.
enum TestDatabase {
    static let environment = ProcessInfo.processInfo.environment
    static var configuredURL: String? {
        [environment["ACCORD_TEST_DATABASE_URL"], environment["DATABASE_URL"]].compactMap { $0 }.first { !$0.isEmpty }
    }
    static var isCI: Bool { environment["CI"] == "true" }
    static var shouldRun: Bool { configuredURL != nil || isCI }

    static func url() throws -> DatabaseURL {
        guard let text = configuredURL else {
            throw DatabaseMissing(description: "CI=true but neither ACCORD_TEST_DATABASE_URL nor DATABASE_URL is set; run the tests through hack/test")
        }
        return try DatabaseURL(text)
    }

    struct DatabaseMissing: Error, CustomStringConvertible { let description: String }
}

@Suite(.enabled(if: TestDatabase.shouldRun, "needs PostgreSQL: set DATABASE_URL or run hack/test"))
struct DatabaseTests {
    @Test func answersQueries() async throws {
        let version = try await Database.serverVersion(try TestDatabase.url())
        #expect(version.split(separator: ".").first.flatMap { Int($0) }.map { $0 >= 13 } == true, "server \(version)")
    }
}

@Suite struct DatabaseURLTests {
    @Test func parsesAndRedacts() throws {
        let url = try DatabaseURL("postgres://accord:s3cret@127.0.0.1:5433/platform")
        #expect(url.host == "127.0.0.1")
        #expect(url.port == 5433)
        #expect(url.username == "accord")
        #expect(url.password == "s3cret")
        #expect(url.database == "platform")
        #expect(url.description == "postgres://accord:***@127.0.0.1:5433/platform")
        #expect(!"\(url)".contains("s3cret"))
    }

    @Test func refusesOtherSchemes() {
        #expect(throws: DatabaseURL.ParseError.self) { try DatabaseURL("mysql://u:p@h/db") }
        #expect(throws: DatabaseURL.ParseError.self) { try DatabaseURL("not a url") }
    }

    @Test func unreachableDatabaseNamesTheURLWithoutItsPassword() async throws {
        let url = try DatabaseURL("postgres://accord:s3cret@127.0.0.1:1/accord")
        do {
            _ = try await Database.serverVersion(url)
            Issue.record("expected the connection to fail")
        } catch {
            let text = "\(error)"
            #expect(text.hasPrefix("cannot reach database postgres://accord:***@127.0.0.1:1/accord: "), "\(text)")
            #expect(!text.contains("s3cret"))
        }
    }
}
