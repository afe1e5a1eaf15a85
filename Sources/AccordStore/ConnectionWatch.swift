import PostgresNIO
import Synchronization

/// Watches one connection for its close, event-driven (its close future),
/// with no task and no polling. PostgresNIO may never answer a statement
/// whose connection the server closes — one sent just as it closes, or in
/// flight when it happens — so every statement is raced against the close:
/// a moment after the connection closes (an answer already on its way
/// still wins), each statement still waiting ends with `connectionClosed`,
/// and the session sends nothing more.
final class ConnectionWatch: Sendable {
    private struct State {
        var lost: SQLFailure?
        /// The close was seen and its grace has passed: statements end at once.
        var closed = false
        var next = 0
        /// Statements waiting for their answer, each failed with `connectionClosed` at the close.
        var waiting: [Int: @Sendable (SQLFailure) -> Void] = [:]
    }

    /// How long an answer already on its way may still arrive after the close.
    static let grace = TimeAmount.milliseconds(200)

    private let state = Mutex(State())
    private let connection: PostgresConnection
    private let eventLoop: any EventLoop

    init(_ connection: PostgresConnection) {
        self.connection = connection
        eventLoop = connection.eventLoop
        connection.closeFuture.whenComplete { [weak self] _ in
            guard let self else { return }
            self.eventLoop.scheduleTask(in: Self.grace) { self.closed() }
        }
    }

    var isLost: Bool { state.withLock { $0.lost != nil } }

    /// Fails at once when the connection is known to be gone.
    func checkOpen() throws {
        if let lost = state.withLock({ $0.lost }) { throw SQLFailure.lost(lost) }
        if connection.isClosed { throw SQLFailure.connectionClosed }
    }

    func markLost(_ failure: SQLFailure) {
        state.withLock { if $0.lost == nil { $0.lost = failure } }
    }

    /// The answer, or `connectionClosed` once the connection has closed
    /// without it, whichever comes first; exactly one of them completes it.
    func race<T: Sendable>(_ answer: EventLoopFuture<T>) async throws -> T {
        let outcome = eventLoop.makePromise(of: T.self)
        let id: Int? = state.withLock { s in
            guard !s.closed else { return nil }
            s.next += 1
            s.waiting[s.next] = { outcome.fail($0) }
            return s.next
        }
        guard let id else {
            throw SQLFailure.connectionClosed
        }
        answer.whenComplete { result in
            guard self.state.withLock({ $0.waiting.removeValue(forKey: id) }) != nil else { return }
            outcome.completeWith(result)
        }
        return try await outcome.futureResult.get()
    }

    private func closed() {
        let waiting = state.withLock { s in
            s.closed = true
            defer { s.waiting = [:] }
            return s.waiting
        }
        for fail in waiting.values { fail(.connectionClosed) }
    }
}
