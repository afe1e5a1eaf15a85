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
    public static let deadlineHours = 72

    public static func read(_ session: Session) async throws -> (open: Int, overdue: Int) {
        guard let row = try await session.rows("""
            SELECT count(*)::int,
                   count(*) FILTER (WHERE requested_at + make_interval(hours => $1::int) < now())::int
            FROM platform.erasures WHERE status IS DISTINCT FROM 'completed'
            """, [String(deadlineHours)]).first else { return (0, 0) }
        let (open, overdue) = try row.decode((Int, Int).self)
        return (open, overdue)
    }
}
