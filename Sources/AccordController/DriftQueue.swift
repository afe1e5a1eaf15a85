import AccordCore
import AccordStore
import Foundation
import Synchronization

/// Writes made outside Accord that the leader heard (`DriftNotices`),
/// waiting for the reconcile loop: the listener adds, the loop takes a
/// batch once every transaction heard has said it committed (its last
/// notice) and the notices pause (`quiet`) or have been arriving for
/// `longest`, so a burst of writes becomes one targeted pass. A
/// transaction is whole when its commit notice arrives, however slowly a
/// busy listener reads; a pause alone would split it.
final class DriftQueue: Sendable {
    /// A pause this long ends a burst.
    static let quiet: Duration = .milliseconds(25)
    /// A burst is cut here even if it goes on (once its transactions are whole).
    static let longest: Duration = .milliseconds(250)
    /// A transaction's commit notice is waited for this long at most
    /// (counted from the burst's first notice).
    static let whole: Duration = .seconds(2)

    /// What the loop takes.
    struct Batch: Sendable, Equatable {
        var objects: Set<ObjectID> = []
        /// Truncated tables: every object of these kinds.
        var kinds: Set<Kind> = []
        var notices = 0
        /// The outside-writes count when listening began; nil when a notice
        /// may have been missed since (not listening, or the connection
        /// was lost), which only a full pass can make up for.
        var heardSince: Int64?
    }

    private struct State {
        var batch = Batch()
        var first: ContinuousClock.Instant?
        var last: ContinuousClock.Instant?
        var heardSince: Int64?
        /// Transactions heard whose commit notice has not come yet.
        var open: Set<Int64> = []
        /// Transactions whose commit notice came, in this batch.
        var committed: Set<Int64> = []
    }

    private let state = Mutex(State())


    /// LISTEN is in effect; every outside write numbered above `count` will be heard.
    func listening(since count: Int64) {
        state.withLock { $0.heardSince = count }
    }

    /// The listening connection ended: notices may be lost until listening begins again.
    func stopped() {
        state.withLock { $0.heardSince = nil }
    }

    func add(_ notice: DriftNotices.Notice) {
        let now = ContinuousClock.now
        state.withLock { s in
            switch notice {
            case .object(let id, let transaction):
                s.batch.objects.insert(id)
                if let transaction, !s.committed.contains(transaction) { s.open.insert(transaction) }
            case .kind(let kind):
                s.batch.kinds.insert(kind)
            case .committed(let transaction):
                s.open.remove(transaction)
                s.committed.insert(transaction)
                return
            }
            s.batch.notices += 1
            if s.first == nil { s.first = now }
            s.last = now
        }
    }

    var isEmpty: Bool { state.withLock { $0.batch.notices == 0 } }

    /// How long to wait before the burst counts as over; nil when it is
    /// (or nothing is waiting).
    func settling(now: ContinuousClock.Instant = .now) -> Duration? {
        state.withLock { s in
            guard let first = s.first, let last = s.last else { return nil }
            if !s.open.isEmpty {
                let left = first + Self.whole - now
                return left > .zero ? min(left, Self.quiet) : nil
            }
            let wait = min(last + Self.quiet, first + Self.longest) - now
            return wait > .zero ? wait : nil
        }
    }

    /// Takes what was heard, with the count listening began at.
    func take() -> Batch {
        state.withLock { s in
            var batch = s.batch
            batch.heardSince = s.heardSince
            s.batch = Batch()
            s.first = nil
            s.last = nil
            s.open = []
            s.committed = []
            return batch
        }
    }

    /// Drops what was heard: a pass that reads every row is about to run.
    func clear() {
        _ = take()
    }
}
