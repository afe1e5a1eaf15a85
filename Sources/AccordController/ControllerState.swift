import AccordCore
import Foundation

/// What a replica is doing, for `/readyz`, `/api/v1/objects` and logs.
public actor ControllerState {
    public enum Role: String, Sendable {
        /// Not yet connected to the database.
        case starting
        /// Connected; another replica holds the leader lock.
        case standby
        /// Holds the leader lock and reconciles.
        case leader
    }

    public struct Snapshot: Sendable {
        public var role: Role = .starting
        /// The leader finished its first pass (or a standby is connected).
        public var ready = false
        public var revision: String?
        public var lastPassAt: Date?
        public var lastPassResult: PassResult?
        /// Why the replica is not ready or the last pass failed; never a secret.
        public var lastError: String?
        public var retries: [RetryBook.Entry] = []
        public var reconciling = false
        /// The repository's fetch state; nil before the first fetch.
        public var source: SourceCondition?
        /// Under a verification policy: whether the fetched commit is
        /// trusted (`SourceVerified`), and by whom or why not.
        public var verified: (trusted: Bool, message: String, since: Date)?
    }

    /// The `SourceUnavailable` condition: whether the last fetch of the
    /// repository failed. While it does, the last fetched revision stays
    /// applied (resyncs go on against it) and fetches back off.
    public struct SourceCondition: Sendable {
        public var unavailable: Bool
        /// `FetchFailed` or `Fetched`.
        public var reason: StatusReason
        public var message: String
        /// When `unavailable` last changed.
        public var since: Date
        /// Fetches failed in a row.
        public var failures: Int
        public var lastFetchAt: Date
        /// The next fetch while unavailable (a webhook fetches at once).
        public var nextFetchAt: Date?
    }

    private var snapshot = Snapshot()

    public init() {}

    public var current: Snapshot { snapshot }

    func become(_ role: Role) {
        snapshot.role = role
        // A standby is ready to take over; a leader once its first pass ran.
        snapshot.ready = role == .standby
        if role != .leader {
            snapshot.retries = []
            snapshot.source = nil // only the leader fetches
        }
    }

    func failed(_ message: String) { snapshot.lastError = message }

    func fetched(_ message: String) {
        let now = Date()
        let since = snapshot.source.map { $0.unavailable ? now : $0.since } ?? now
        snapshot.source = SourceCondition(unavailable: false, reason: .fetched, message: message, since: since,
                                          failures: 0, lastFetchAt: now, nextFetchAt: nil)
    }

    func fetchFailed(_ message: String, failures: Int, nextFetchAt: Date) {
        let now = Date()
        let since = snapshot.source.map { $0.unavailable ? $0.since : now } ?? now
        snapshot.source = SourceCondition(unavailable: true, reason: .fetchFailed, message: message, since: since,
                                          failures: failures, lastFetchAt: now, nextFetchAt: nextFetchAt)
        snapshot.lastError = message
    }

    func reconciling(_ on: Bool) { snapshot.reconciling = on }

    func verified(_ trusted: Bool, message: String) {
        let since = snapshot.verified.map { $0.trusted == trusted ? $0.since : Date() } ?? Date()
        snapshot.verified = (trusted, message, since)
    }

    func passed(revision: String?, result: PassResult, error: String?, retries: RetryBook) {
        snapshot.revision = revision ?? snapshot.revision
        snapshot.lastPassAt = Date()
        snapshot.lastPassResult = result
        snapshot.lastError = error
        snapshot.retries = retries.entries.values.sorted { $0.id < $1.id }
        if snapshot.role == .leader { snapshot.ready = true }
    }
}
