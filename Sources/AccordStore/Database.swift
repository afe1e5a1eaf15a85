import Logging
import PostgresNIO

/// Opens connections to the PostgreSQL database Accord keeps its state in.
public enum Database {
    public struct Unreachable: Error, CustomStringConvertible {
        public let url: String
        public let reason: String
        public var description: String { "cannot reach database \(url): \(reason)" }
    }

    /// Connects, runs `body`, and closes. Failures name the URL without its password.
    public static func withConnection<T: Sendable>(
        _ url: DatabaseURL, logger: Logger = Logger(label: "accord.store"),
        _ body: (PostgresConnection) async throws -> T
    ) async throws -> T {
        let configuration = PostgresConnection.Configuration(
            host: url.host, port: url.port, username: url.username,
            password: url.password, database: url.database, tls: .disable)
        let connection: PostgresConnection
        do {
            connection = try await PostgresConnection.connect(configuration: configuration, id: 1, logger: logger)
        } catch {
            throw Unreachable(url: url.redacted, reason: Self.reason(error))
        }
        do {
            let result = try await body(connection)
            try await connection.close()
            return result
        } catch {
            try? await connection.close()
            throw error
        }
    }

    /// The server's version string, proving the database answers queries.
    public static func serverVersion(_ url: DatabaseURL) async throws -> String {
        try await withConnection(url) { connection in
            let rows = try await connection.query("SELECT current_setting('server_version')", logger: Logger(label: "accord.store"))
            for try await version in rows.decode(String.self) { return version }
            throw Unreachable(url: url.redacted, reason: "the server returned no version")
        }
    }

    /// What went wrong, without the connection details PostgresNIO hides on purpose.
    static func reason(_ error: any Error) -> String {
        if let psql = error as? PSQLError {
            if let server = psql.serverInfo, let message = server[.message] {
                return "\(message) (SQLSTATE \(server[.sqlState] ?? "?"))"
            }
            if let underlying = psql.underlying { return String(describing: underlying) }
            return String(describing: psql.code)
        }
        return String(describing: error)
    }
}
