@testable import AccordStore
import AccordTestSupport
import Foundation
import Testing

@Suite(TestDatabase.required)
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
