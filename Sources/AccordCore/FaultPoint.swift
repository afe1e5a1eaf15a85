import Foundation

/// Named points in a pass where the fault tests kill the process on
/// purpose, so that a kill lands exactly where a test says it does:
/// `ACCORD_TEST_KILL_AT=<point>` makes the process SIGKILL itself when it
/// reaches that point, `<point>:<which>` only where that point is reached
/// for `which` (a store's name), so that concurrent work cannot decide
/// where the kill lands (nothing else happens when the variable is unset).
public enum FaultPoint: String, Sendable, CaseIterable {
    /// An erasure's PostgreSQL transaction committed; no store job has run.
    case erasurePostgresCommitted = "erasure-postgres-committed"
    /// A store's delete returned; its job is not yet recorded as deleted.
    case storeDeleted = "store-deleted"

    static let target = ProcessInfo.processInfo.environment["ACCORD_TEST_KILL_AT"]

    public func reach(_ which: String? = nil) {
        guard let target = Self.target else { return }
        if target == rawValue || (which.map { target == "\(rawValue):\($0)" } ?? false) { kill(getpid(), SIGKILL) }
    }
}
