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

    /// A transaction runs with JIT compilation off (the outbox insert of a
    /// batch cost ten times as much compiled), and only the transaction: the
    /// session keeps the server's setting before and after, also when the
    /// body throws; an applier transaction is marked as Accord's too.
    @Test func transactionsRunWithoutJITAndLeaveTheSessionAsItWas() async throws {
        try await Database.withConnection(try TestDatabase.url()) { connection in
            let session = Session(connection)
            try await session.execute("SET jit = on")
            let inside = try await session.transaction { try await session.scalar("SELECT current_setting('jit')") }
            #expect(inside == "off")
            let applier = try await session.transaction(asApplier: true) {
                try await session.scalar("SELECT current_setting('jit') || ' ' || current_setting('accord.applier')")
            }
            #expect(applier == "off on")
            #expect(try await session.scalar("SELECT current_setting('jit')") == "on")
            struct Refused: Error {}
            await #expect(throws: Refused.self) {
                try await session.transaction {
                    #expect(try await session.scalar("SELECT current_setting('jit')") == "off")
                    throw Refused()
                }
            }
            #expect(try await session.scalar("SELECT current_setting('jit')") == "on")
        }
    }
}

extension DatabaseTests {
    /// Statistics refreshed on two connections reach every table a pass
    /// writes; with the second connection lost, its tables are analyzed on
    /// the first (`reltuples` is -1 for a table never analyzed).
    @Test func statisticsOnTwoConnectionsReachEveryTableAlsoWhenTheSecondIsLost() async throws {
        for loseTheSecond in [false, true] {
            let db = try await TestDatabase.scratch()
            defer { Task { await db.drop() } }
            try await Database.withConnection(db.url) { connection in
                let session = Session(connection).opened(at: db.url)
                try await Migrations.run(session)
                let never = "SELECT count(*)::text FROM pg_class WHERE reltuples < 0 AND oid = ANY($1::regclass[])"
                let tables = "{" + Statistics.tables.joined(separator: ",") + "}"
                #expect(try await session.scalar(never, [tables]) == String(Statistics.tables.count))
                let beside = try #require(try await session.sibling())
                if loseTheSecond { try await beside.connection.close() }
                try await Statistics.refresh(session, beside: beside)
                if !loseTheSecond { try await beside.connection.close() }
                #expect(try await session.scalar(never, [tables]) == "0", "second connection lost: \(loseTheSecond)")
            }
        }
    }
}
