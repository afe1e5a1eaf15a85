import Foundation

/// A PostgreSQL connection URL, `postgres://user:password@host:port/database`,
/// shown only without its password.
public struct DatabaseURL: Sendable, CustomStringConvertible {
    public let host: String
    public let port: Int
    public let username: String
    public let password: String?
    public let database: String
    /// As given, with the password replaced by `***`.
    public let redacted: String

    public enum ParseError: Error, CustomStringConvertible {
        case invalid(String)
        public var description: String {
            switch self { case .invalid(let why): "invalid database URL: \(why)" }
        }
    }

    public init(_ text: String) throws {
        guard let components = URLComponents(string: text), let scheme = components.scheme else {
            throw ParseError.invalid("expected postgres://user:password@host:port/database")
        }
        guard scheme == "postgres" || scheme == "postgresql" else {
            throw ParseError.invalid("scheme must be postgres:// or postgresql://, not \(scheme)://")
        }
        guard let host = components.host, !host.isEmpty else { throw ParseError.invalid("no host") }
        self.host = host
        self.port = components.port ?? 5432
        self.username = components.user ?? "postgres"
        self.password = components.password
        let db = components.path.hasPrefix("/") ? String(components.path.dropFirst()) : components.path
        self.database = db.isEmpty ? self.username : db
        var shown = components
        if shown.password != nil { shown.password = "***" }
        self.redacted = shown.string ?? "postgres://\(host):\(port)/\(database)"
    }

    public var description: String { redacted }
}
