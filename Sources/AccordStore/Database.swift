import AccordCore
import Logging
import NIOCore
import NIOPosix
import NIOSSL
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
        let connection = try await connect(url, logger: logger)
        do {
            let result = try await body(connection)
            try await connection.close()
            return result
        } catch {
            try? await connection.close()
            throw error
        }
    }

    /// Opens a connection the caller closes. Failures name the URL without its password.
    public static func connect(_ url: DatabaseURL, logger: Logger = Logger(label: "accord.store")) async throws -> PostgresConnection {
        var configuration = PostgresConnection.Configuration(
            host: url.host, port: url.port, username: url.username,
            password: url.password, database: url.database, tls: try tls(url))
        if let seconds = url.connectTimeout { configuration.options.connectTimeout = .seconds(Int64(seconds)) }
        if let name = url.applicationName { configuration.options.additionalStartupParameters.append(("application_name", name)) }
        do {
            return try await PostgresConnection.connect(configuration: configuration, id: 1, logger: logger)
        } catch {
            throw Unreachable(url: url.redacted, reason: Self.reason(error, url))
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

    /// The TLS of `url.tls`, with libpq's meanings (`DatabaseURL.SSLMode`);
    /// certificate files are read at every connection, so a rotated one is
    /// used without a restart.
    static func tls(_ url: DatabaseURL) throws -> PostgresConnection.Configuration.TLS {
        let settings = url.tls
        guard settings.mode != .disable else { return .disable }
        var configuration = TLSConfiguration.makeClientConfiguration()
        switch (settings.mode, settings.verifiesChain) {
        case (.verifyFull, _): configuration.certificateVerification = .fullVerification
        case (_, true): configuration.certificateVerification = .noHostnameVerification
        case (_, false): configuration.certificateVerification = .none
        }
        do {
            if let root = settings.rootCertificate {
                configuration.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(root))
            } else if settings.systemRoots {
                configuration.trustRoots = .default
            }
            if let cert = settings.clientCertificate, let key = settings.clientKey {
                configuration.certificateChain = try NIOSSLCertificate.fromPEMFile(cert).map { .certificate($0) }
                configuration.privateKey = .privateKey(try NIOSSLPrivateKey(bytes: try SecretFile.read(key), format: .pem))
            }
            let context = try NIOSSLContext(configuration: configuration)
            return settings.mode == .prefer ? .prefer(context) : .require(context)
        } catch {
            throw Unreachable(url: url.redacted, reason: "the TLS settings (sslrootcert, sslcert, sslkey) cannot be used: \(error)")
        }
    }

    /// What went wrong, without the connection details PostgresNIO hides on
    /// purpose; TLS failures say which check refused the server.
    static func reason(_ error: any Error, _ url: DatabaseURL? = nil) -> String {
        if let psql = error as? PSQLError {
            if let server = psql.serverInfo, let message = server[.message] {
                return "\(message) (SQLSTATE \(server[.sqlState] ?? "?"))"
            }
            if psql.code == .sslUnsupported, let url {
                return "the server does not accept TLS, and sslmode=\(url.tls.mode.rawValue) requires it"
            }
            if let underlying = psql.underlying {
                return tlsReason(underlying, url) ?? connectionReason(underlying) ?? String(describing: underlying)
            }
            return String(describing: psql.code)
        }
        return tlsReason(error, url) ?? String(describing: error)
    }

    /// A connection that could not be made, as people say it: the host and
    /// port, and the system's reason (`Connection refused`), or the name
    /// that did not resolve.
    static func connectionReason(_ error: any Error) -> String? {
        if let connection = error as? NIOConnectionError {
            if let dns = connection.dnsAError ?? connection.dnsAAAAError {
                return "cannot resolve the host name \(connection.host): \(dns)"
            }
            let reasons = connection.connectionErrors.map { failure -> String in
                if let io = failure.error as? IOError { return String(cString: strerror(io.errnoCode)) }
                if let channel = failure.error as? ChannelError, case .connectTimeout(let after) = channel {
                    return "no answer within \(after.nanoseconds / 1_000_000_000) s (connect_timeout)"
                }
                return String(describing: failure.error)
            }
            let unique = reasons.reduce(into: [String]()) { if !$0.contains($1) { $0.append($1) } }
            return "cannot connect to \(connection.host):\(connection.port): \(unique.isEmpty ? "no address to try" : unique.joined(separator: "; "))"
        }
        if let channel = error as? ChannelError, case .connectTimeout(let after) = channel {
            return "no answer within \(after.nanoseconds / 1_000_000_000) s (connect_timeout)"
        }
        return nil
    }

    static func tlsReason(_ error: any Error, _ url: DatabaseURL?) -> String? {
        guard let url else { return nil }
        if let extra = error as? NIOSSLExtraError, extra == .failedToValidateHostname {
            return "the server's certificate is not for \(url.host) (sslmode=verify-full checks the name)"
        }
        let text = String(describing: error)
        if text.contains("CERTIFICATE_VERIFY_FAILED") {
            let roots = url.tls.rootCertificate.map { "sslrootcert \(Text.quoted($0, limit: 200))" } ?? "the system's trusted roots"
            return "the server's certificate does not chain to \(roots) (sslmode=\(url.tls.mode.rawValue))"
        }
        return nil
    }
}
