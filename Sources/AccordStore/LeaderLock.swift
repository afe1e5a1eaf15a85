import AccordEngine
import Foundation

/// Leader election among controller replicas: a session-level advisory
/// lock (a key distinct from the apply lock) held on a connection kept for
/// that purpose alone. The server releases it the moment that connection
/// ends — the process died, the connection dropped — and a standby polling
/// for it takes over.
public enum LeaderLock {
    static let key = 0x4143_434C // "ACCL"

    /// Takes the lock if no other session holds it.
    public static func tryAcquire(_ session: Session) async throws -> Bool {
        try await session.scalar("SELECT pg_try_advisory_lock($1::bigint)::text", [String(key)]) == "true"
    }

    /// Whether this session still holds the lock (a round trip that fails
    /// when the connection is gone).
    public static func isHeld(_ session: Session) async throws -> Bool {
        try await session.scalar("""
            SELECT count(*)::text FROM pg_locks
            WHERE locktype = 'advisory' AND granted AND pid = pg_backend_pid()
              AND classid = 0 AND objid = $1::bigint::oid AND objsubid = 1
            """, [String(key)]) == "1"
    }

    public static func release(_ session: Session) async throws {
        try await session.execute("SELECT pg_advisory_unlock($1::bigint)", [String(key)])
    }

    /// The channel a standby uses to pass a webhook on to the leader (a
    /// load balancer sends webhooks to any replica; only the leader fetches).
    static let fetchChannel = "accord_fetch"

    /// Asks the leader, whichever replica it is, to fetch now.
    public static func requestFetch(_ session: Session) async throws {
        try await session.execute("SELECT pg_notify($1, '')", [fetchChannel])
    }

    /// Calls `onRequest` for every fetch a standby asks for, until the
    /// connection ends (throws) or the task is cancelled.
    public static func fetchRequests(_ session: Session, _ onRequest: @Sendable () -> Void) async throws {
        try await session.connection.listen(on: fetchChannel) { requests in
            for try await _ in requests { onRequest() }
        }
    }

    /// The database backend holding the lock, if any (for tests and messages).
    public static func holderPID(_ session: Session) async throws -> Int? {
        try await session.scalar("""
            SELECT pid::text FROM pg_locks
            WHERE locktype = 'advisory' AND granted AND classid = 0 AND objid = $1::bigint::oid AND objsubid = 1
              AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
            """, [String(key)]).flatMap { Int($0) }
    }
}

/// Open erasures, for the controller's gauges: those not completed, and of
/// them those past the platform's 72-hour deadline after `requestedAt`.
public enum ErasureCounts {
    /// Managed erasures without a certificate, by SLA stage (SPEC §1:
    /// warning from 48h, escalation from 60h, overdue after 72h).
    public struct Counts: Sendable, Equatable {
        public var open = 0
        public var warning = 0
        public var escalation = 0
        public var overdue = 0
        public init(open: Int = 0, warning: Int = 0, escalation: Int = 0, overdue: Int = 0) {
            self.open = open
            self.warning = warning
            self.escalation = escalation
            self.overdue = overdue
        }
    }

    public static func read(_ session: Session, now: Date = Date()) async throws -> Counts {
        var counts = Counts()
        for open in try await ErasureRuns.openErasures(session) {
            counts.open += 1
            switch ErasureSLA.stage(requestedAt: open.requestedAt, now: now) {
            case .onTime: break
            case .warning: counts.warning += 1
            case .escalation: counts.escalation += 1
            case .overdue: counts.overdue += 1
            }
        }
        return counts
    }
}
