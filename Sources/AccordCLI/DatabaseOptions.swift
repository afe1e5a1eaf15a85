import AccordStore
import ArgumentParser
import Foundation
import Logging

struct DatabaseOptions: ParsableArguments {
    @Option(name: .customLong("database-url"),
            help: "PostgreSQL URL, postgres://user:password@host:port/database (default: $DATABASE_URL).")
    var databaseURL: String?

    func url() throws -> DatabaseURL {
        let text = databaseURL ?? ProcessInfo.processInfo.environment["DATABASE_URL"]
        guard let text, !text.isEmpty else {
            throw CLIError("no database: pass --database-url or set DATABASE_URL")
        }
        return try DatabaseURL(text)
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
