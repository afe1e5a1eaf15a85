import AccordCore
import Foundation
import Logging
import PostgresNIO

/// One database connection with the few ways Accord talks through it:
/// statements with bind parameters (values never spliced into SQL), plain
/// multi-statement scripts for migrations, and transactions.
public struct Session: Sendable {
    public let connection: PostgresConnection
    let logger: Logger
    /// Set once the connection is known to be gone (the server closed it,
    /// crashed or restarted): every later statement fails at once instead
    /// of being sent to a connection that may never answer.
    let health = ConnectionHealth()

    public init(_ connection: PostgresConnection, logger: Logger = Logger(label: "accord.store")) {
        self.connection = connection
        self.logger = logger
    }

    /// Whether the connection was lost (no statement will be sent again).
    public var isLost: Bool { health.isLost }

    /// Fails fast on a lost connection; marks it lost when `error` says so.
    /// PostgresNIO may never answer a statement whose connection the server
    /// closes (sent after the close, or in flight when it happens), so the
    /// statement also ends when the connection is seen closed.
    func guarded<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) async throws -> T {
        if let lost = health.lostReason { throw lost }
        do {
            guard !connection.isClosed else { throw SQLFailure.connectionClosed }
            return try await Self.unlessClosed(connection, body)
        } catch {
            var failure = SQLFailure(error)
            // A client-side failure on a connection that is closed by now: the connection is gone.
            if failure.sqlState == nil, connection.isClosed { failure = .connectionClosed }
            if failure.isConnectionLost { health.markLost(failure) }
            throw failure
        }
    }

    /// The body's result, or `connectionClosed` once the connection has
    /// been closed for a moment without the body answering.
    static func unlessClosed<T: Sendable>(_ connection: PostgresConnection,
                                          _ body: @escaping @Sendable () async throws -> T) async throws -> T {
        let once = ResumeOnce<T>()
        let work = Task {
            do {
                once.resume(.success(try await body()))
            } catch {
                once.resume(.failure(error))
            }
        }
        let watch = Task {
            while !once.isDone, !Task.isCancelled {
                try? await Task.sleep(for: .milliseconds(200))
                if connection.isClosed {
                    // An answer already on its way still wins.
                    try? await Task.sleep(for: .milliseconds(200))
                    if once.resume(.failure(SQLFailure.connectionClosed)) { work.cancel() }
                    return
                }
            }
        }
        defer { watch.cancel() }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { once.arm($0) }
        } onCancel: {
            work.cancel()
        }
    }

    /// Runs a statement and returns its rows. Bind values are text; cast
    /// them in SQL (`$1::jsonb`, `$2::int`).
    @discardableResult
    public func rows(_ sql: String, _ values: [String?] = []) async throws -> [PostgresRow] {
        var binds = PostgresBindings()
        for v in values {
            if let v { binds.append(v) } else { binds.appendNull() }
        }
        if Self.trace { FileHandle.standardError.write(Data("sql: \(sql.prefix(100).replacingOccurrences(of: "\n", with: " "))\n".utf8)) }
        let connection = self.connection, logger = self.logger, query = PostgresQuery(unsafeSQL: sql, binds: binds)
        return try await guarded {
            var out: [PostgresRow] = []
            for try await row in try await connection.query(query, logger: logger) {
                out.append(row)
            }
            return out
        }
    }

    /// ACCORD_TRACE_SQL=1 prints each statement's start to stderr (never its bind values).
    static let trace = ProcessInfo.processInfo.environment["ACCORD_TRACE_SQL"] == "1"

    public func execute(_ sql: String, _ values: [String?] = []) async throws {
        try await rows(sql, values)
    }

    /// A script of several statements without parameters (migrations),
    /// run one statement at a time.
    public func script(_ sql: String) async throws {
        for statement in Self.statements(sql) {
            try await execute(statement)
        }
    }

    /// Splits a script at top-level semicolons (not inside quotes or `$$` bodies).
    static func statements(_ sql: String) -> [String] {
        var out: [String] = []
        var current = ""
        var inDollar = false, inQuote = false
        var previous: Character = " "
        for c in sql {
            if c == "$" && previous == "$" && !inQuote { inDollar.toggle() }
            if c == "'" && !inDollar { inQuote.toggle() }
            if c == ";" && !inDollar && !inQuote {
                let trimmed = current.trimmingCharacters(in: .whitespacesAndNewlines)
                if !trimmed.isEmpty { out.append(trimmed) }
                current = ""
            } else {
                current.append(c)
            }
            previous = c
        }
        let trimmed = current.trimmingCharacters(in: .whitespacesAndNewlines)
        if !trimmed.isEmpty { out.append(trimmed) }
        return out
    }

    /// Runs `body` in a transaction: committed when it returns, rolled back
    /// when it throws (the error is rethrown as it was). `asApplier` marks
    /// the transaction's writes to `platform` as Accord's own, so they are
    /// not counted as drift (see `FastPath`).
    public func transaction<T: Sendable>(asApplier: Bool = false, _ body: () async throws -> T) async throws -> T {
        try await execute("BEGIN")
        if asApplier {
            try await execute("SELECT set_config('accord.applier', 'on', true)")
        }
        do {
            let value = try await body()
            try await execute("COMMIT")
            return value
        } catch {
            try? await execute("ROLLBACK")
            throw error
        }
    }

    public func scalar(_ sql: String, _ values: [String?] = []) async throws -> String? {
        guard let row = try await rows(sql, values).first else { return nil }
        return try row.makeRandomAccess()[0].decode(String?.self)
    }
}

/// A failed statement, with what the server said and what its SQLSTATE
/// means, never with connection details.
public struct SQLFailure: Error, CustomStringConvertible, Sendable {
    public let sqlState: String?
    public let message: String
    public let detail: String?

    init(_ error: any Error) {
        if let already = error as? SQLFailure {
            self = already
            return
        }
        if let psql = error as? PSQLError, let server = psql.serverInfo {
            sqlState = server[.sqlState]
            message = server[.message] ?? "the server reported an error"
            detail = server[.detail]
        } else if let psql = error as? PSQLError,
                  [.serverClosedConnection, .clientClosedConnection, .uncleanShutdown].contains(psql.code) {
            // The connection was gone before the client noticed: the same failure as `connectionClosed`.
            self = .connectionClosed
        } else {
            sqlState = nil
            message = Database.reason(error)
            detail = nil
        }
    }

    private init(sqlState: String?, message: String) {
        self.sqlState = sqlState
        self.message = message
        self.detail = nil
    }

    /// The session's connection is closed (SQLSTATE 08003).
    static let connectionClosed = SQLFailure(sqlState: "08003", message: "the database connection is closed")

    /// What the failure means for the object, and whether retrying can help.
    public var meaning: String {
        switch sqlState?.prefix(2) {
        case "22": "invalid data for a column"
        case "23": "a constraint of the live table refuses the row"
        case "40": "a concurrent transaction conflicted; retrying can help"
        case "42": "the live tables do not have the expected shape"
        case "53", "57", "08": "the database is unavailable or shutting down; retrying can help"
        case "55": "a lock or object is busy; retrying can help"
        default: "the database refused the change"
        }
    }

    /// The connection itself is gone: a client-side failure (no SQLSTATE),
    /// a connection exception (08), or the server shutting the session
    /// down (57P01 admin shutdown, 57P02 crash shutdown, 57P03 cannot connect now).
    public var isConnectionLost: Bool {
        guard let sqlState else { return true }
        return sqlState.hasPrefix("08") || sqlState.hasPrefix("57P0")
    }

    static func lost(_ reason: SQLFailure) -> SQLFailure {
        SQLFailure(sqlState: reason.sqlState, message: "the connection was lost earlier (\(reason.message)); nothing more was sent", detail: nil)
    }

    init(sqlState: String?, message: String, detail: String?) {
        self.sqlState = sqlState
        self.message = message
        self.detail = detail
    }

    /// A fix in git (or in the live schema) is needed; retrying will not help.
    public var isPermanent: Bool {
        ["22", "23", "42"].contains(sqlState?.prefix(2).description ?? "")
    }

    public var description: String {
        var text = "\(meaning): \(message)"
        if let detail { text += " (\(detail))" }
        if let sqlState { text += " [SQLSTATE \(sqlState)]" }
        return text
    }
}

/// Whether a session's connection is known to be gone.
final class ConnectionHealth: @unchecked Sendable {
    private let lock = NSLock()
    private var reason: SQLFailure?

    var isLost: Bool { lostReason != nil }

    var lostReason: SQLFailure? {
        lock.lock()
        defer { lock.unlock() }
        return reason.map(SQLFailure.lost)
    }

    func markLost(_ failure: SQLFailure) {
        lock.lock()
        defer { lock.unlock() }
        if reason == nil { reason = failure }
    }
}

/// A continuation resumed by whichever comes first, exactly once.
final class ResumeOnce<T: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var continuation: CheckedContinuation<T, any Error>?
    private var early: Result<T, any Error>?
    private var done = false

    var isDone: Bool {
        lock.lock()
        defer { lock.unlock() }
        return done
    }

    func arm(_ c: CheckedContinuation<T, any Error>) {
        lock.lock()
        if let early {
            lock.unlock()
            c.resume(with: early)
            return
        }
        continuation = c
        lock.unlock()
    }

    /// True when this call resumed (the first result wins).
    @discardableResult
    func resume(_ result: Result<T, any Error>) -> Bool {
        lock.lock()
        guard !done else {
            lock.unlock()
            return false
        }
        done = true
        if let c = continuation {
            continuation = nil
            lock.unlock()
            c.resume(with: result)
        } else {
            early = result
            lock.unlock()
        }
        return true
    }
}
