import Foundation

/// Only one applier per database: a session-level advisory lock, held for
/// the whole pass on the applier's connection (released when it ends or
/// the connection drops). Who holds it is written to `accord.locks` so a
/// waiting applier can name the holder.
public enum ApplyLock {
    static let key = 0x4143_4344 // "ACCD"

    public struct Busy: Error, CustomStringConvertible {
        public let holder: String
        public let waited: Duration
        public var description: String {
            let seconds = Double(waited.components.seconds) + Double(waited.components.attoseconds) / 1e18
            return "another applier holds the apply lock: \(holder); gave up after waiting \(seconds.formatted(.number.precision(.fractionLength(0...1))))s (--lock-timeout)"
        }
    }

    /// Takes the lock, waiting up to `timeout`.
    public static func acquire(_ session: Session, holder: String, timeout: Duration,
                               clock: ContinuousClock = ContinuousClock()) async throws {
        let deadline = clock.now.advanced(by: timeout)
        while true {
            if try await session.scalar("SELECT pg_try_advisory_lock($1::bigint)::text", [String(key)]) == "true" {
                try await session.execute("""
                    INSERT INTO accord.locks (name, holder, backend_pid, acquired_at) VALUES ('apply', $1, pg_backend_pid(), now())
                    ON CONFLICT (name) DO UPDATE SET holder = EXCLUDED.holder, backend_pid = EXCLUDED.backend_pid, acquired_at = now()
                    """, [holder])
                return
            }
            if clock.now >= deadline {
                throw Busy(holder: try await currentHolder(session) ?? "an unknown session", waited: timeout)
            }
            try await Task.sleep(for: .milliseconds(100))
        }
    }

    /// Runs `body` holding the lock, and releases it however `body` ends.
    public static func holding<T: Sendable>(_ session: Session, actor: String, timeout: Duration,
                                            _ body: () async throws -> T) async throws -> T {
        try await acquire(session, holder: holder(actor), timeout: timeout)
        do {
            let value = try await body()
            try await release(session)
            return value
        } catch {
            try? await release(session)
            throw error
        }
    }

    /// How a holder is named in `accord.locks`: who, on which host, which process.
    static func holder(_ actor: String) -> String {
        "\(actor) on \(ProcessInfo.processInfo.hostName) (pid \(ProcessInfo.processInfo.processIdentifier))"
    }

    public static func release(_ session: Session) async throws {
        try await session.execute("SELECT pg_advisory_unlock($1::bigint)", [String(key)])
    }

    /// The holder as recorded, checked against the server's lock table.
    public static func currentHolder(_ session: Session) async throws -> String? {
        let row = try await session.rows("""
            SELECT coalesce(l.holder, a.application_name, 'backend ' || p.pid),
                   p.pid::text,
                   to_char(coalesce(l.acquired_at, a.backend_start) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
            FROM pg_locks p
            LEFT JOIN pg_stat_activity a ON a.pid = p.pid
            LEFT JOIN accord.locks l ON l.name = 'apply' AND l.backend_pid = p.pid
            WHERE p.locktype = 'advisory' AND p.granted AND p.classid = 0 AND p.objid = $1::bigint::oid AND p.objsubid = 1
              AND p.database = (SELECT oid FROM pg_database WHERE datname = current_database())
            """, [String(key)]).first
        guard let row else { return nil }
        let (holder, pid, since) = try row.decode((String, String, String?).self)
        return "\(holder) (database backend \(pid), since \(since ?? "?"))"
    }
}
