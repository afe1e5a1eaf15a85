import AccordCore
import AccordManifests
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

    @Option(name: .customLong("regions-file"),
            help: "A regions file (SPEC §9): the control database and each region's database, each by a URL file; each tenant's data then lives only in its region's database. It replaces --database-url (default: $ACCORD_REGIONS_FILE).")
    var regionsFile: String?

    /// The regions file from `--regions-file`, else `ACCORD_REGIONS_FILE`; nil without one.
    func regionsFilePath(environment: [String: String] = ProcessInfo.processInfo.environment) -> String? {
        regionsFile ?? environment["ACCORD_REGIONS_FILE"].flatMap { $0.isEmpty ? nil : $0 }
    }

    /// The regions file's databases, read and checked; nil without a regions file.
    func regions(readOnly: Bool, environment: [String: String] = ProcessInfo.processInfo.environment) throws -> RegionDatabases? {
        guard let path = regionsFilePath(environment: environment) else { return nil }
        if databaseURL != nil || databaseURLFile != nil {
            throw CLIError("give --regions-file or --database-url/--database-url-file, not both: with a regions file the control database is the file's")
        }
        return try RegionDatabases.open(try RegionsFileParser.load(file: path), readOnly: readOnly, environment: environment)
    }

    /// The regions that have a database, and the regions file, for
    /// `RegionCheck` (a tenant in another region is invalid) where no
    /// database is opened; nil without a regions file. A bad file exits 2.
    func regionNames(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> (names: Set<Region>, file: String)? {
        guard let path = regionsFilePath(environment: environment) else { return nil }
        do {
            let file = try RegionsFileParser.load(file: path)
            return (Set(file.regions.keys), file.file)
        } catch {
            Console.error(error)
            throw ExitCode(2)
        }
    }

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
    /// With a regions file the session is the control database's, and
    /// tenant data is reached in the regions' databases (`readOnly`: no
    /// migrations there, for commands that only read).
    func withSession<T: Sendable>(readOnly: Bool = true, _ body: (Session) async throws -> T) async throws -> T {
        do {
            let regions = try regions(readOnly: readOnly)
            let url = try regions?.control ?? url()
            return try await Database.withConnection(url) { connection in
                let session = Session(connection).placing(regions).opened(at: url)
                do {
                    let value = try await body(session)
                    await regions?.close()
                    return value
                } catch {
                    await regions?.close()
                    throw error
                }
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
