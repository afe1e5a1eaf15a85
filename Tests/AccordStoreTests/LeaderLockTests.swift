import AccordStore
import AccordTestSupport
import Foundation
import Testing

@Suite(TestDatabase.required)
struct LeaderLockTests {
    @Test func oneHolderAtATimeAndItGoesWithTheConnection() async throws {
        let db = try await TestDatabase.scratch()
        defer { Task { await db.drop() } }
        try await db.withSession { a in
            #expect(try await LeaderLock.tryAcquire(a))
            #expect(try await LeaderLock.isHeld(a))
            let pid = try #require(try await a.scalar("SELECT pg_backend_pid()::text").flatMap(Int.init))
            try await db.withSession { b in
                #expect(try await !LeaderLock.tryAcquire(b), "held by another session")
                #expect(try await !LeaderLock.isHeld(b))
                #expect(try await LeaderLock.holderPID(b) == pid)
                // The apply lock is another key: an applier is not a leader.
                try await Migrations.run(b)
                try await ApplyLock.acquire(b, holder: "test", timeout: .zero)
                try await ApplyLock.release(b)

                try await b.execute("SELECT pg_terminate_backend(\(pid))")
                #expect(try await LeaderLock.tryAcquire(b), "the server dropped the lock with the connection")
            }
            // A statement on the closed connection fails at once instead of waiting forever, as a lost
            // connection: 08003 when the client saw the close first, the server's 57P01 (terminated by an
            // administrator) when that message came back as the statement's answer.
            let started = ContinuousClock.now
            let error = await #expect(throws: SQLFailure.self) { try await LeaderLock.isHeld(a) }
            #expect(error?.isConnectionLost == true, "\(String(describing: error))")
            #expect(["08003", "57P01"].contains(error?.sqlState ?? ""), "\(String(describing: error))")
            #expect(ContinuousClock.now - started < .seconds(2))
        }
    }
}
