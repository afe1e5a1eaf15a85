import AccordStore
import Foundation
import Testing

/// Where tests find PostgreSQL. Without a database they are skipped on a
/// developer's machine, but with CI=true they run and fail: CI never passes
/// by skipping the database.
public enum TestDatabase {
    static let environment = ProcessInfo.processInfo.environment
    public static var configuredURL: String? {
        [environment["ACCORD_TEST_DATABASE_URL"], environment["DATABASE_URL"]].compactMap { $0 }.first { !$0.isEmpty }
    }
    public static var isCI: Bool { environment["CI"] == "true" }

    /// The trait of every test that needs PostgreSQL. On a developer's
    /// machine without a database such tests are skipped; with CI=true they
    /// always run, and without a database they fail (`url()` throws), so CI
    /// never passes by skipping them.
    public static var required: ConditionTrait {
        // Never skipped under CI: there the test runs and `url()` fails it.
        .enabled(if: isCI || configuredURL != nil, "needs PostgreSQL: set DATABASE_URL or run hack/test (with CI=true it is required)")
    }

    public static func url() throws -> DatabaseURL {
        guard let text = configuredURL else {
            throw DatabaseMissing(description: "CI=true but neither ACCORD_TEST_DATABASE_URL nor DATABASE_URL is set; run the tests through hack/test")
        }
        return try DatabaseURL(text)
    }

    public struct DatabaseMissing: Error, CustomStringConvertible { public let description: String }

    /// A new empty database on the test server, for one test: tests run in
    /// parallel and each needs its own `platform` and `accord` schemas and
    /// its own apply lock. Dropped by `drop()`.
    public static func scratch() async throws -> ScratchDatabase {
        let admin = try url()
        let name = "accord_t_\(UUID().uuidString.prefix(8).lowercased())"
        try await Database.withConnection(admin) { connection in
            try await Session(connection).execute("CREATE DATABASE \(name)")
        }
        var text = "postgres://\(admin.username)"
        if let password = admin.password { text += ":\(password)" }
        text += "@\(admin.host):\(admin.port)/\(name)"
        return ScratchDatabase(url: try DatabaseURL(text), admin: admin, name: name)
    }
}

public struct ScratchDatabase: Sendable {
    public let url: DatabaseURL
    let admin: DatabaseURL
    let name: String

    /// The URL as text, for running the CLI against this database.
    public var urlText: String {
        "postgres://\(url.username)\(url.password.map { ":\($0)" } ?? "")@\(url.host):\(url.port)/\(url.database)"
    }

    public func withSession<T: Sendable>(_ body: (Session) async throws -> T) async throws -> T {
        try await Database.withConnection(url) { try await body(Session($0)) }
    }

    public func drop() async {
        _ = try? await Database.withConnection(admin) { connection in
            try await Session(connection).execute("DROP DATABASE IF EXISTS \(name) WITH (FORCE)")
        }
    }
}
