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
    /// Knows when the connection is gone (the server closed it, crashed or
    /// restarted): statements in flight then end at once, and every later
    /// one fails before it is sent.
    let watch: ConnectionWatch
    /// With a regions file (SPEC §9), this session is the control
    /// database's and tenant data lives in the regions' databases; nil:
    /// everything lives in this one database.
    public private(set) var regions: RegionDatabases?
    /// Where the connection goes, when the caller said: a pass with more than
    /// a batch of objects other than tenants opens a second connection there
    /// to write two batches at once (`Executor.lane`).
    public private(set) var url: DatabaseURL?

    public init(_ connection: PostgresConnection, logger: Logger = Logger(label: "accord.store")) {
        self.connection = connection
        self.logger = logger
        self.watch = ConnectionWatch(connection)
    }

    /// This session as the control database of `regions` (unchanged when nil).
    public func placing(_ regions: RegionDatabases?) -> Session {
        var copy = self
        copy.regions = regions
        return copy
    }

    /// This session, knowing the URL it was opened with.
    public func opened(at url: DatabaseURL) -> Session {
        var copy = self
        copy.url = url
        return copy
    }

    /// A second session on the same database (nil when the URL is not
    /// known); the caller closes its connection.
    public func sibling() async throws -> Session? {
        guard let url else { return nil }
        return Session(try await Database.connect(url, logger: logger), logger: logger).opened(at: url)
    }

    /// Whether the connection was lost (no statement will be sent again).
    public var isLost: Bool { watch.isLost }

    /// Runs a statement and returns its rows. Bind values are text; cast
    /// them in SQL (`$1::jsonb`, `$2::int`).
    @discardableResult
    public func rows(_ sql: String, _ values: [String?] = []) async throws -> [PostgresRow] {
        var binds = PostgresBindings()
        for v in values {
            if let v { binds.append(v) } else { binds.appendNull() }
        }
        if Self.trace { FileHandle.standardError.write(Data("sql: \(sql.prefix(100).replacingOccurrences(of: "\n", with: " "))\n".utf8)) }
        let query = PostgresQuery(unsafeSQL: sql, binds: binds)
        return try await failing {
            try watch.checkOpen()
            let answer: EventLoopFuture<PostgresQueryResult> = connection.query(query, logger: logger)
            return try await watch.race(answer).rows
        }
    }

    /// Maps what a statement threw to an `SQLFailure`, and marks the
    /// connection lost when that is what it says.
    func failing<T: Sendable>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch {
            var failure = SQLFailure(error)
            // A client-side failure on a connection that is closed by now: the connection is gone.
            if failure.sqlState == nil, connection.isClosed { failure = .connectionClosed }
            if failure.isConnectionLost { watch.markLost(failure) }
            throw failure
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
    ///
    /// JIT compilation is off for the transaction (`SET LOCAL`, so a
    /// connection pooler's session is left as it was): Accord's statements
    /// are short or bulk loads, and compiling a plan took longer than running
    /// it — the outbox insert of a batch of 200 events took 4.5 ms compiled
    /// and 0.4 ms not (docs/benchmarks-notes.md).
    public func transaction<T: Sendable>(asApplier: Bool = false, _ body: () async throws -> T) async throws -> T {
        try await execute("BEGIN")
        try await execute(asApplier ? "SELECT set_config('jit', 'off', true), set_config('accord.applier', 'on', true)"
                                    : "SELECT set_config('jit', 'off', true)")
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
        if sqlState == "42501" { return "the database role lacks a privilege Accord needs (docs/deploy.md lists them)" }
        return switch sqlState?.prefix(2) {
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

