/// Accord's own schema `accord` and the `platform` registry, created and
/// upgraded by numbered migrations. Each runs once, in its own transaction,
/// under an advisory lock so two starting processes never race.
public enum Migrations {
    public struct Migration: Sendable {
        public let version: Int
        public let name: String
        public let sql: String
    }

    public struct TooNew: Error, CustomStringConvertible {
        public let database: Int
        public let known: Int
        public var description: String {
            "the database schema is at version \(database), newer than this binary knows (\(known)); upgrade Accord before running it against this database"
        }
    }

    /// Advisory lock key held while migrating.
    static let lockKey = 0x4143_4D47 // "ACMG"

    public static var latest: Int { all.last?.version ?? 0 }

    /// The schema version the database is at; 0 when Accord never ran there.
    public static func currentVersion(_ session: Session) async throws -> Int {
        let exists = try await session.scalar("SELECT to_regclass('accord.schema_migrations')::text")
        guard exists != nil else { return 0 }
        return Int(try await session.scalar("SELECT coalesce(max(version), 0)::text FROM accord.schema_migrations") ?? "0") ?? 0
    }

    /// Fails when the database is newer than this binary.
    public static func checkNotNewer(_ session: Session) async throws -> Int {
        let current = try await currentVersion(session)
        if current > latest { throw TooNew(database: current, known: latest) }
        return current
    }

    /// For readers that must not migrate (`diff`, `status`): false when
    /// Accord never ran on the database (it reads as empty); an error when
    /// its schema is older or newer than this binary.
    public static func isCurrent(_ session: Session) async throws -> Bool {
        let current = try await checkNotNewer(session)
        guard current > 0 else { return false }
        if current < latest { throw TooOld(database: current, known: latest) }
        return true
    }

    public struct TooOld: Error, CustomStringConvertible {
        public let database: Int
        public let known: Int
        public var description: String {
            "the database schema is at version \(database), older than this binary's \(known); run `accordctl apply` (or start the controller), which upgrades it, before reading it"
        }
    }

    /// Brings the database to `latest`. Idempotent. Returns the migrations applied.
    @discardableResult
    public static func run(_ session: Session) async throws -> [Migration] {
        try await session.execute("SELECT pg_advisory_lock($1::bigint)", [String(lockKey)])
        do {
            let applied = try await runLocked(session)
            try await session.execute("SELECT pg_advisory_unlock($1::bigint)", [String(lockKey)])
            return applied
        } catch {
            try? await session.execute("SELECT pg_advisory_unlock($1::bigint)", [String(lockKey)])
            throw error
        }
    }

    private static func runLocked(_ session: Session) async throws -> [Migration] {
        try await session.script("""
            CREATE SCHEMA IF NOT EXISTS accord;
            CREATE TABLE IF NOT EXISTS accord.schema_migrations (
                version integer PRIMARY KEY,
                name text NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now()
            );
            """)
        let current = try await checkNotNewer(session)
        var applied: [Migration] = []
        for migration in all where migration.version > current {
            try await session.transaction {
                try await session.script(migration.sql)
                try await session.execute("INSERT INTO accord.schema_migrations (version, name) VALUES ($1::int, $2)",
                                          [String(migration.version), migration.name])
            }
            applied.append(migration)
        }
        return applied
    }

    /// Every migration in order, one file per version in this folder.
    public static let all: [Migration] = [v1, v2, v3, v4, v5, v6, v7, v8, v9, v10, v11, v12, v13, v14, v15, v16, v17, v18, v19, v20]

    /// Every registry table; each counts writes made outside Accord (`FastPath`).
    static let platformTables = v2Tables + ["stores", "notifications"]

    /// The registry tables of migration 2.
    static let v2Tables = [
        "retention_policies", "models", "model_versions", "tenants", "workers", "workflows", "workflow_versions", "erasures",
    ]

    /// The statement trigger that counts writes made outside Accord to a registry table.
    static func noteWrites(_ table: String) -> String {
        """
        CREATE TRIGGER note_write AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON platform.\(table)
            FOR EACH STATEMENT EXECUTE FUNCTION accord.note_platform_write();

        """
    }
}
