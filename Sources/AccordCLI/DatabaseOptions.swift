import AccordStore
import ArgumentParser
import Foundation
import Logging

struct DatabaseOptions: ParsableArguments {
    @Option(name: .customLong("database-url"),
            help: "PostgreSQL URL, postgres://user:password@host:port/database, with libpq's sslmode, sslrootcert, sslcert, sslkey, passfile, connect_timeout and application_name parameters (default: $DATABASE_URL).")
    var databaseURL: String?

    @Option(name: .customLong("database-url-file"),
            help: "A file (mode 0600 or stricter) holding the PostgreSQL URL, so its password is in neither the arguments nor the environment (default: $DATABASE_URL_FILE).")
    var databaseURLFile: String?

    /// The URL from `--database-url` or `--database-url-file`, else from
    /// `DATABASE_URL` or `DATABASE_URL_FILE`: a flag of one beats the
    /// other's variable; two flags, or two variables, are an error.
    func url(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> DatabaseURL {
        func given(_ key: String) -> String? { environment[key].flatMap { $0.isEmpty ? nil : $0 } }
        switch (databaseURL, databaseURLFile) {
        case (.some, .some):
            throw CLIError("give --database-url or --database-url-file, not both")
        case (.some(let text), nil):
            return try DatabaseURL(text, environment: environment)
        case (nil, .some(let file)):
            return try withSetting("--database-url-file") { try DatabaseURL.fromFile(file, environment: environment) }
        case (nil, nil):
            switch (given("DATABASE_URL"), given("DATABASE_URL_FILE")) {
            case (.some, .some): throw CLIError("both DATABASE_URL and DATABASE_URL_FILE are set; unset one")
            case (.some(let text), nil): return try withSetting("DATABASE_URL") { try DatabaseURL(text, environment: environment) }
            case (nil, .some(let file)): return try withSetting("DATABASE_URL_FILE") { try DatabaseURL.fromFile(file, environment: environment) }
            case (nil, nil): throw CLIError("no database: pass --database-url or --database-url-file, or set DATABASE_URL or DATABASE_URL_FILE")
            }
        }
    }

    private func withSetting(_ setting: String, _ body: () throws -> DatabaseURL) throws -> DatabaseURL {
        do { return try body() } catch { throw CLIError("\(setting): \(error)") }
    }

    /// Connects, runs `body` with a session, and maps an unreachable
    /// database or a failed statement to exit status 2 with a clear message.
    func withSession<T: Sendable>(_ body: (Session) async throws -> T) async throws -> T {
        do {
            let url = try url()
            return try await Database.withConnection(url) { connection in
                try await body(Session(connection))
            }
        } catch let exit as ExitCode {
            throw exit
        } catch {
            Console.error(error)
            throw ExitCode(2)
        }
    }
}

extension DatabaseOptions {
    /// The revision the database last applied (nil when none, or when
    /// Accord never ran there): where strict verification starts.
    func lastApplied() async throws -> String? {
        try await withSession { session in
            try await Migrations.isCurrent(session) ? try await History.lastRevision(session)?.revision : nil
        }
    }
}
