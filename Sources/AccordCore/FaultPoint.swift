import Foundation

/// Named points in a pass where the fault tests kill the process on
/// purpose, so that a kill lands exactly where a test says it does:
/// `ACCORD_TEST_KILL_AT=<point>` makes the process SIGKILL itself when it
/// reaches that point, `<point>:<which>` only where that point is reached
/// for `which` (a store's name), so that concurrent work cannot decide
/// where the kill lands (nothing else happens when the variable is unset).
/// `ACCORD_TEST_STOP_AT=<point>` stops the process there instead (SIGSTOP),
/// so that a test can do something at that exact moment — crash the
/// database server — and then let it go on (SIGCONT).
public enum FaultPoint: String, Sendable, CaseIterable {
    /// The n-th batch of a kind committed in this pass (`batch-committed:Tenant:2`).
    case batchCommitted = "batch-committed"
    /// A tenant's new data key written, its transaction not yet committed.
    case keyWritten = "key-written"
    /// An erasure's PostgreSQL transaction committed; no store job has run
    /// (`erasure-postgres-committed:2`: the second of the pass).
    case erasurePostgresCommitted = "erasure-postgres-committed"
    /// Every object written; the sync state and the revision's history
    /// entry not yet recorded.
    case beforeRevisionRecorded = "before-revision-recorded"
    /// A store's delete returned; its job is not yet recorded as deleted.
    case storeDeleted = "store-deleted"
    /// With a regions file: a region's transaction committed (a tenant
    /// batch's stores and keys, an erasure's deletes), the control
    /// database's not yet begun (`region-committed:eu:1`: the first
    /// transaction this process committed in eu's database).
    case regionCommitted = "region-committed"
    /// A tenant's move to another region verified and recorded in the
    /// control database; the old region's copy not yet dropped.
    case regionMoveRecorded = "region-move-recorded"

    static let killAt = ProcessInfo.processInfo.environment["ACCORD_TEST_KILL_AT"]
    static let stopAt = ProcessInfo.processInfo.environment["ACCORD_TEST_STOP_AT"]

    public func reach(_ which: String? = nil) {
        guard Self.killAt != nil || Self.stopAt != nil else { return }
        func named(_ target: String?) -> Bool {
            guard let target else { return false }
            return target == rawValue || (which.map { target == "\(rawValue):\($0)" } ?? false)
        }
        if named(Self.killAt) { kill(getpid(), SIGKILL) }
        if named(Self.stopAt) { kill(getpid(), SIGSTOP) }
    }
}
