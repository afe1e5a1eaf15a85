import AccordCore
import AccordSync
import Foundation

/// Exponential backoff with jitter: the n-th retry waits `min` · 2ⁿ⁻¹,
/// stretched by up to a quarter at random, never more than `max`.
public struct Backoff: Sendable {
    public let min: Duration
    public let max: Duration
    /// A number in 0..<1 (tests fix it).
    let random: @Sendable () -> Double

    public init(min: Duration = .seconds(1), max: Duration = .seconds(300),
                random: @escaping @Sendable () -> Double = { Double.random(in: 0..<1) }) {
        self.min = min
        self.max = max
        self.random = random
    }

    public func delay(attempt: Int) -> Duration {
        let base = min.seconds * pow(2, Double(Swift.max(0, attempt - 1)))
        let jittered = Swift.min(max.seconds, base * (1 + 0.25 * random()))
        return .milliseconds(Int64(jittered * 1000))
    }
}

/// Objects whose last attempt the database refused, and when each is tried
/// again. A failing object never delays the others: passes go on applying
/// everything else and hold back only objects whose retry is not yet due.
/// A Stalled object (the database refused it for a reason only a change can
/// fix) is held until its manifest changes; any object whose manifest
/// changes is tried at once.
public struct RetryBook: Sendable {
    public struct Entry: Sendable {
        public let id: ObjectID
        /// The manifest the failure happened at; "" for a removal.
        public let manifestHash: String
        public let attempts: Int
        /// nil when stalled: no retry until the manifest changes.
        public let nextRetry: Date?
        public let stalled: Bool
        public let reason: FailureReason
        public let message: String
    }

    public private(set) var entries: [ObjectID: Entry] = [:]
    let backoff: Backoff

    public init(backoff: Backoff) { self.backoff = backoff }

    /// What to hold back in a pass starting at `now`.
    public func holdBack(now: Date) -> [ObjectID: String] {
        var out: [ObjectID: String] = [:]
        for e in entries.values where e.stalled || (e.nextRetry.map { $0 > now } ?? true) { out[e.id] = e.manifestHash }
        return out
    }

    /// The earliest scheduled retry, if any.
    public var nextDue: Date? { entries.values.compactMap(\.nextRetry).min() }

    /// The earliest retry scheduled after `date` (the start of the last
    /// pass): a retry that came due before a pass that could not attempt it
    /// (an invalid revision, a refused plan, an error) does not call for
    /// another pass; the next commit, resync or pass retry takes it.
    public func nextDue(after date: Date) -> Date? {
        entries.values.compactMap(\.nextRetry).filter { $0 > date }.min()
    }

    /// Objects waiting for a retry (stalled ones included).
    public var depth: Int { entries.count }

    /// An object the database refused in a pass.
    public struct Failure: Sendable {
        public let id: ObjectID
        public let manifestHash: String
        public let stalled: Bool
        public let reason: FailureReason
        public let message: String

        public init(id: ObjectID, manifestHash: String, stalled: Bool, reason: FailureReason = .applyFailed, message: String) {
            self.id = id
            self.manifestHash = manifestHash
            self.stalled = stalled
            self.reason = reason
            self.message = message
        }
    }

    /// Updates the book from a pass: the objects the database refused get
    /// (or keep counting) a backoff; objects the pass attempted and did not
    /// refuse are done. Objects held back keep their entries.
    public mutating func record(_ report: Pass.Report, now: Date) {
        var hashes: [ObjectID: String] = [:]
        for step in report.plan.steps { hashes[step.id] = step.desired?.manifestHash ?? "" }
        // Only the database's refusals wait: the planner's reasons (a model
        // not promoted, a missing key, a failed dependency) are looked at
        // again by every pass at no cost, and clear when what they wait for changes.
        let refused = (report.outcome?.failed ?? []).filter(\.reason.isDatabaseRefusal).map {
            Failure(id: $0.id, manifestHash: hashes[$0.id] ?? "", stalled: $0.stalled, reason: $0.reason, message: $0.message)
        }
        record(refused: refused, held: Set(report.held.map(\.id)), now: now)
    }

    public mutating func record(refused: [Failure], held: Set<ObjectID>, now: Date) {
        var refusedIDs = Set<ObjectID>()
        for f in refused {
            refusedIDs.insert(f.id)
            let previous = entries[f.id].flatMap { $0.manifestHash == f.manifestHash ? $0 : nil }
            let attempts = (previous?.attempts ?? 0) + 1
            entries[f.id] = Entry(id: f.id, manifestHash: f.manifestHash, attempts: attempts,
                                  nextRetry: f.stalled ? nil : now.addingTimeInterval(backoff.delay(attempt: attempts).seconds),
                                  stalled: f.stalled, reason: f.reason, message: f.message)
        }
        for id in entries.keys where !held.contains(id) && !refusedIDs.contains(id) { entries[id] = nil }
    }

    /// Forgets everything (a new leader starts with a clean book).
    public mutating func clear() { entries = [:] }
}
