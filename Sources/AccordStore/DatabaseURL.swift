import AccordCore
import Foundation

/// A PostgreSQL connection URL,
/// `postgres://user:password@host:port/database?sslmode=verify-full&…`,
/// shown only without its password (SPEC §13).
///
/// The query takes libpq's parameters with libpq's meanings: `sslmode`
/// (`disable`, `prefer` — the default —, `require`, `verify-ca`,
/// `verify-full`), `sslrootcert` (a PEM file of trusted roots, or `system`
/// for the system's), `sslcert` and `sslkey` (a client certificate and its
/// key), `passfile`, `connect_timeout` (seconds) and `application_name`.
/// As with libpq, `PGSSLMODE`, `PGSSLROOTCERT`, `PGSSLCERT`, `PGSSLKEY`,
/// `PGPASSFILE`, `PGCONNECT_TIMEOUT` and `PGAPPNAME` give what the URL
/// leaves out. Any other parameter is an error, as it is for libpq.
///
/// A URL without a password takes it from the password file (`passfile`,
/// else `PGPASSFILE`, else `~/.pgpass` when it exists), whose first line
/// matching host, port, database and user wins.
public struct DatabaseURL: Sendable, CustomStringConvertible {
    public let host: String
    public let port: Int
    public let username: String
    public let password: String?
    public let database: String
    public let tls: TLS
    /// Seconds to wait for the connection (`connect_timeout`); nil: 10.
    public let connectTimeout: Int?
    public let applicationName: String?
    /// As given, with the password replaced by `***`.
    public let redacted: String

    /// libpq's `sslmode`.
    public enum SSLMode: String, Sendable, CaseIterable {
        /// No TLS.
        case disable
        /// TLS when the server offers it, without checking its certificate.
        case prefer
        /// TLS or no connection; the certificate checked only when a root
        /// certificate is named (then as `verify-ca`), as libpq does.
        case require
        /// TLS, and the certificate must chain to `sslrootcert`.
        case verifyCA = "verify-ca"
        /// TLS, the certificate must chain to `sslrootcert` and name the host.
        case verifyFull = "verify-full"
    }

    /// What TLS the connection asks for, and the files it is made with.
    public struct TLS: Sendable, Equatable {
        public var mode: SSLMode
        /// A PEM file of trusted roots; nil for the system's roots
        /// (`sslrootcert=system`) or none given.
        public var rootCertificate: String?
        /// `sslrootcert=system`: the system's trusted roots.
        public var systemRoots: Bool
        public var clientCertificate: String?
        public var clientKey: String?

        /// Whether the server's certificate is checked against roots.
        public var verifiesChain: Bool {
            switch mode {
            case .disable, .prefer: false
            case .require: rootCertificate != nil || systemRoots
            case .verifyCA, .verifyFull: true
            }
        }
    }

    public enum ParseError: Error, CustomStringConvertible {
        case invalid(String)
        public var description: String {
            switch self { case .invalid(let why): "invalid database URL: \(why)" }
        }
    }

    static let parameters = ["sslmode", "sslrootcert", "sslcert", "sslkey", "passfile", "connect_timeout", "application_name"]

    public init(_ text: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws {
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
        let db = components.path.hasPrefix("/") ? String(components.path.dropFirst()) : components.path
        self.database = db.isEmpty ? self.username : db

        var query: [String: String] = [:]
        for item in components.queryItems ?? [] {
            guard Self.parameters.contains(item.name) else {
                throw ParseError.invalid("unknown parameter \(Text.quoted(item.name, limit: 60)); Accord reads \(Self.parameters.joined(separator: ", "))")
            }
            guard query[item.name] == nil else { throw ParseError.invalid("\(item.name) is given twice") }
            query[item.name] = item.value ?? ""
        }
        func setting(_ name: String, _ variable: String) -> String? {
            if let value = query[name] { return value }
            if let value = environment[variable], !value.isEmpty { return value }
            return nil
        }

        let modeText = setting("sslmode", "PGSSLMODE") ?? "prefer"
        guard let mode = SSLMode(rawValue: modeText) else {
            let allow = modeText == "allow" ? " (allow, TLS only when the server insists, is not supported: use prefer)" : ""
            throw ParseError.invalid("sslmode \(Text.quoted(modeText, limit: 40)) must be one of \(SSLMode.allCases.map(\.rawValue).joined(separator: ", "))\(allow)")
        }
        var tls = TLS(mode: mode, rootCertificate: nil, systemRoots: false, clientCertificate: nil, clientKey: nil)
        if let root = setting("sslrootcert", "PGSSLROOTCERT") {
            if root == "system" {
                tls.systemRoots = true
            } else {
                tls.rootCertificate = try Self.readableFile(root, "sslrootcert")
            }
        } else if mode == .verifyCA || mode == .verifyFull {
            // libpq's default root file; without it verify-ca and verify-full cannot check anything.
            let home = environment["HOME"] ?? NSHomeDirectory()
            let fallback = (home as NSString).appendingPathComponent(".postgresql/root.crt")
            guard FileManager.default.isReadableFile(atPath: fallback) else {
                throw ParseError.invalid("sslmode=\(mode.rawValue) checks the server's certificate against a root certificate: set sslrootcert to a PEM file (or sslrootcert=system); \(fallback) does not exist")
            }
            tls.rootCertificate = fallback
        }
        let cert = setting("sslcert", "PGSSLCERT"), key = setting("sslkey", "PGSSLKEY")
        if (cert == nil) != (key == nil) {
            throw ParseError.invalid("a client certificate needs both sslcert and sslkey")
        }
        if let cert, let key {
            guard mode != .disable else { throw ParseError.invalid("sslcert and sslkey need TLS, but sslmode is disable") }
            tls.clientCertificate = try Self.readableFile(cert, "sslcert")
            do { _ = try SecretFile.read(key) } catch { throw ParseError.invalid("sslkey: \(error)") }
            tls.clientKey = key
        }
        self.tls = tls

        if let timeout = setting("connect_timeout", "PGCONNECT_TIMEOUT") {
            guard let seconds = Int(timeout), seconds >= 0, seconds <= 3600 else {
                throw ParseError.invalid("connect_timeout must be a number of seconds from 0 to 3600, got \(Text.quoted(timeout, limit: 40))")
            }
            // libpq: 0 waits forever; 1 is taken as 2.
            self.connectTimeout = seconds == 0 ? nil : max(seconds, 2)
        } else {
            self.connectTimeout = nil
        }
        self.applicationName = setting("application_name", "PGAPPNAME")

        if let password = components.password {
            self.password = password
        } else if let explicit = setting("passfile", "PGPASSFILE") {
            self.password = try PasswordFile.lookup(explicit, host: host, port: port, database: database, user: username)
        } else {
            let home = environment["HOME"] ?? NSHomeDirectory()
            let fallback = (home as NSString).appendingPathComponent(".pgpass")
            self.password = FileManager.default.fileExists(atPath: fallback)
                ? try PasswordFile.lookup(fallback, host: host, port: port, database: database, user: username) : nil
        }

        var shown = components
        if shown.password != nil { shown.password = "***" }
        self.redacted = shown.string ?? "postgres://\(host):\(port)/\(database)"
    }

    public var description: String { redacted }

    static func readableFile(_ path: String, _ parameter: String) throws -> String {
        guard FileManager.default.isReadableFile(atPath: path) else {
            throw ParseError.invalid("\(parameter): cannot read \(Text.quoted(path, limit: 200))")
        }
        return path
    }

    /// The URL a file holds (`--database-url-file`, `DATABASE_URL_FILE`),
    /// read as a secret file: only when no one but its owner can read it.
    public static func fromFile(_ path: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws -> DatabaseURL {
        let text: String
        do { text = try SecretFile.text(path) } catch { throw ParseError.invalid("\(error)") }
        guard !text.isEmpty else { throw ParseError.invalid("\(Text.quoted(path, limit: 200)) is empty") }
        do {
            return try DatabaseURL(text, environment: environment)
        } catch let error as ParseError {
            // The file's text is not repeated: it may hold the password.
            throw ParseError.invalid("in \(Text.quoted(path, limit: 200)): \(error.description.replacingOccurrences(of: "invalid database URL: ", with: ""))")
        }
    }
}

/// libpq's password file: lines `hostname:port:database:username:password`,
/// any of the first four `*`, `\:` and `\\` escaping, `#` comments; the
/// first line that matches gives the password. Read only when no one but
/// its owner can read it (libpq ignores such a file; Accord refuses it).
public enum PasswordFile {
    public static func lookup(_ path: String, host: String, port: Int, database: String, user: String) throws -> String? {
        let text: String
        do {
            text = String(decoding: try SecretFile.read(path), as: UTF8.self)
        } catch {
            throw DatabaseURL.ParseError.invalid("passfile: \(error)")
        }
        let wanted = [host, String(port), database, user]
        for line in text.split(whereSeparator: { $0 == "\n" || $0 == "\r" }) where !line.hasPrefix("#") {
            let fields = split(line)
            guard fields.count == 5 else { continue }
            if zip(fields.prefix(4), wanted).allSatisfy({ $0 == "*" || $0 == $1 }) { return fields[4] }
        }
        return nil
    }

    /// The fields of one line: `:` separates, a backslash takes the next
    /// character as it is.
    static func split(_ line: Substring) -> [String] {
        var fields: [String] = [], current = "", escaped = false
        for c in line {
            if escaped {
                current.append(c)
                escaped = false
            } else if c == "\\" {
                escaped = true
            } else if c == ":" && fields.count < 4 {
                fields.append(current)
                current = ""
            } else {
                current.append(c)
            }
        }
        fields.append(current)
        return fields
    }
}
