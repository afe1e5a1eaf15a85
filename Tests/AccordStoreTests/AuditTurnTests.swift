@testable import AccordStore
import Testing

/// The hand-over between two batches written at once (`Executor.sendPair`):
/// the second gets the head the first left, or gives up waiting.
struct AuditTurnTests {
    static let head = AuditChain(seq: 7, hash: String(repeating: "a", count: 64), actor: "test")

    @Test func aWaiterGetsTheHeadWhetherItCameBeforeOrAfter() async throws {
        let early = AuditTurn()
        let waited = Task { try await early.wait() }
        await early.open(Self.head)
        #expect(try await waited.value.seq == 7)
        let late = AuditTurn()
        await late.open(Self.head)
        #expect(try await late.wait().hash == Self.head.hash)
    }

    @Test func anExpiredTurnFailsItsWaiterAndStaysExpired() async throws {
        let turn = AuditTurn()
        let waited = Task { try await turn.wait() }
        await turn.expire()
        await #expect(throws: AuditTurn.Expired.self) { try await waited.value }
        // Opened too late: the second batch already went back to the main session.
        await turn.open(Self.head)
        await #expect(throws: AuditTurn.Expired.self) { try await turn.wait() }
    }

    @Test func expiringAnOpenedTurnChangesNothing() async throws {
        let turn = AuditTurn()
        await turn.open(Self.head)
        await turn.expire()
        #expect(try await turn.wait().seq == 7)
    }
}
