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
