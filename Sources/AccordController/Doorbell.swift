import Foundation
import Synchronization

/// Wakes the reconcile loop early: a webhook rings it, so does a write
/// made outside Accord (`DriftQueue`); shutdown rings it for good. The
/// notification sender has a doorbell of its own, rung after each pass.
/// Waiting ends at the deadline, at a ring, or when the waiting task is
/// cancelled.
public final class Doorbell: Sendable {
    public enum Reason: Sendable, Hashable { case webhook, drift, outbox }

    private struct State {
        var pending: Set<Reason> = []
        var shuttingDown = false
        var waiters: [UInt64: CheckedContinuation<Void, Never>] = [:]
        var nextID: UInt64 = 0
    }

    private let state = Mutex(State())

    public init() {}

    public func ring(_ reason: Reason) {
        let waiters = state.withLock { s in
            s.pending.insert(reason)
            defer { s.waiters = [:] }
            return Array(s.waiters.values)
        }
        for w in waiters { w.resume() }
    }

    /// Asks the loop to stop after the work in hand.
    public func shutdown() {
        let waiters = state.withLock { s in
            s.shuttingDown = true
            defer { s.waiters = [:] }
            return Array(s.waiters.values)
        }
        for w in waiters { w.resume() }
    }

    public var isShuttingDown: Bool { state.withLock { $0.shuttingDown } }

    /// Waits until `deadline` or a ring, and returns (and clears) the reasons rung.
    public func wait(until deadline: ContinuousClock.Instant) async -> Set<Reason> {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { try? await Task.sleep(until: deadline, clock: .continuous) }
            group.addTask { await self.rung() }
            await group.next()
            group.cancelAll()
        }
        return state.withLock { s in
            defer { s.pending = [] }
            return s.pending
        }
    }

    public func wait(for duration: Duration) async -> Set<Reason> {
        await wait(until: .now.advanced(by: duration))
    }

    private func rung() async {
        let id = state.withLock { s in
            s.nextID += 1
            return s.nextID
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                let now = state.withLock { s -> Bool in
                    if !s.pending.isEmpty || s.shuttingDown || Task.isCancelled { return true }
                    s.waiters[id] = c
                    return false
                }
                if now { c.resume() }
            }
        } onCancel: {
            let waiter = state.withLock { s in s.waiters.removeValue(forKey: id) }
            waiter?.resume()
        }
    }
}
