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

    public static let all: [Migration] = [
        Migration(version: 1, name: "accord bookkeeping: inventory, status, revisions, audit log, locks", sql: """
            CREATE TABLE accord.inventory (
                kind text NOT NULL,
                tenant text NOT NULL DEFAULT '',
                name text NOT NULL,
                manifest_hash text NOT NULL,
                record_hash text NOT NULL,
                blob_id text,
                source_path text NOT NULL,
                generation bigint NOT NULL DEFAULT 1,
                observed_generation bigint NOT NULL DEFAULT 1,
                applied_revision text,
                retained_at timestamptz,
                created_at timestamptz NOT NULL DEFAULT now(),
                updated_at timestamptz NOT NULL DEFAULT now(),
                PRIMARY KEY (kind, tenant, name)
            );
            CREATE INDEX inventory_source_path ON accord.inventory (source_path);
            CREATE INDEX inventory_manifest_hash ON accord.inventory ((manifest_hash COLLATE "C"));
            CREATE TABLE accord.object_status (
                kind text NOT NULL,
                tenant text NOT NULL DEFAULT '',
                name text NOT NULL,
                reason text NOT NULL,
                message text NOT NULL,
                stalled boolean NOT NULL,
                revision text,
                attempted_at timestamptz NOT NULL DEFAULT now(),
                PRIMARY KEY (kind, tenant, name)
            );
            CREATE TABLE accord.revisions (
                id bigserial PRIMARY KEY,
                revision text,
                path text NOT NULL,
                started_at timestamptz NOT NULL,
                finished_at timestamptz NOT NULL DEFAULT now(),
                result text NOT NULL CHECK (result IN ('applied', 'partial', 'unchanged')),
                merkle_root text NOT NULL,
                objects integer NOT NULL,
                created integer NOT NULL,
                updated integer NOT NULL,
                deleted integer NOT NULL,
                retained integer NOT NULL,
                failed integer NOT NULL,
                actor text NOT NULL,
                audit_seq bigint NOT NULL
            );
            CREATE TABLE accord.audit_log (
                seq bigint PRIMARY KEY,
                at timestamptz NOT NULL,
                action text NOT NULL,
                object text,
                revision text,
                body text NOT NULL,
                prev_hash text NOT NULL,
                hash text NOT NULL
            );
            CREATE TABLE accord.audit_head (
                id boolean PRIMARY KEY DEFAULT true CHECK (id),
                seq bigint NOT NULL,
                hash text NOT NULL
            );
            CREATE FUNCTION accord.audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION 'accord.audit_log is append-only';
            END $$;
            CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON accord.audit_log
                FOR EACH STATEMENT EXECUTE FUNCTION accord.audit_log_append_only();
            CREATE TABLE accord.locks (
                name text PRIMARY KEY,
                holder text NOT NULL,
                backend_pid integer NOT NULL,
                acquired_at timestamptz NOT NULL DEFAULT now()
            );
            CREATE TABLE accord.merkle_buckets (
                bucket integer PRIMARY KEY,
                root text NOT NULL
            );
            CREATE TABLE accord.sync_state (
                id boolean PRIMARY KEY DEFAULT true CHECK (id),
                listing_digest text NOT NULL,
                path text NOT NULL,
                prune boolean NOT NULL,
                revision text,
                objects integer NOT NULL,
                orphaned jsonb NOT NULL,
                platform_writes bigint NOT NULL,
                updated_at timestamptz NOT NULL DEFAULT now()
            );
            """),
        Migration(version: 2, name: "platform registry tables (SPEC section 2)", sql: """
            CREATE SCHEMA IF NOT EXISTS platform;
            CREATE TABLE platform.retention_policies (
                name text PRIMARY KEY,
                rules jsonb NOT NULL,
                schedule text NOT NULL,
                created_at timestamptz NOT NULL DEFAULT now(),
                updated_at timestamptz NOT NULL DEFAULT now()
            );
            CREATE TABLE platform.models (
                name text PRIMARY KEY,
                production_version text,
                shadow_version text,
                shadow_traffic_percent double precision,
                promotion_metric text,
                promotion_min_improvement double precision,
                created_at timestamptz NOT NULL DEFAULT now(),
                updated_at timestamptz NOT NULL DEFAULT now()
            );
            CREATE TABLE platform.model_versions (
                model text NOT NULL REFERENCES platform.models (name) ON DELETE CASCADE,
                version text NOT NULL,
                digest text NOT NULL,
                artifact text NOT NULL,
                evaluation jsonb NOT NULL DEFAULT '{}',
                signature text,
                created_at timestamptz NOT NULL DEFAULT now(),
                PRIMARY KEY (model, version)
            );
            CREATE TABLE platform.tenants (
                name text PRIMARY KEY,
                display_name text NOT NULL,
                plan text NOT NULL CHECK (plan IN ('starter', 'pro', 'enterprise')),
                region text NOT NULL CHECK (region IN ('eu', 'us', 'apac')),
                isolation text NOT NULL CHECK (isolation IN ('shared', 'schema')),
                status text NOT NULL CHECK (status IN ('active', 'suspended', 'offboarded')),
                sso text NOT NULL DEFAULT 'none',
                sso_issuer text,
                mfa text NOT NULL DEFAULT 'required',
                retention_policy text,
                consent jsonb NOT NULL DEFAULT '[]',
                key_rotation_days integer NOT NULL DEFAULT 90,
                deletion_policy text NOT NULL DEFAULT 'Retain',
                created_at timestamptz NOT NULL DEFAULT now(),
                updated_at timestamptz NOT NULL DEFAULT now()
            );
            CREATE TABLE platform.workers (
                tenant text NOT NULL,
                name text NOT NULL,
                role text NOT NULL,
                model text NOT NULL,
                model_version text,
                capabilities jsonb NOT NULL DEFAULT '[]',
                cost_per_task double precision,
                confidence_threshold double precision,
                replicas integer NOT NULL DEFAULT 1,
                status text NOT NULL CHECK (status IN ('running', 'paused', 'stopped')),
                created_at timestamptz NOT NULL DEFAULT now(),
                updated_at timestamptz NOT NULL DEFAULT now(),
                PRIMARY KEY (tenant, name)
            );
            CREATE INDEX workers_model ON platform.workers (model);
            CREATE TABLE platform.workflows (
                tenant text NOT NULL,
                name text NOT NULL,
                version integer NOT NULL,
                created_at timestamptz NOT NULL DEFAULT now(),
                updated_at timestamptz NOT NULL DEFAULT now(),
                PRIMARY KEY (tenant, name)
            );
            CREATE TABLE platform.workflow_versions (
                tenant text NOT NULL,
                name text NOT NULL,
                version integer NOT NULL,
                definition jsonb NOT NULL,
                created_at timestamptz NOT NULL DEFAULT now(),
                deleted_at timestamptz,
                PRIMARY KEY (tenant, name, version)
            );
            CREATE TABLE platform.erasures (
                tenant text NOT NULL,
                name text NOT NULL,
                subject_email_hash text NOT NULL,
                requested_at timestamptz NOT NULL,
                legal_basis text NOT NULL,
                status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'running', 'completed', 'failed')),
                completed_at timestamptz,
                created_at timestamptz NOT NULL DEFAULT now(),
                updated_at timestamptz NOT NULL DEFAULT now(),
                PRIMARY KEY (tenant, name)
            );
            CREATE SEQUENCE accord.platform_writes;
            CREATE FUNCTION accord.note_platform_write() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF current_setting('accord.applier', true) IS DISTINCT FROM 'on' THEN
                    PERFORM nextval('accord.platform_writes');
                END IF;
                RETURN NULL;
            END $$;
            """ + platformTables.map { table in
                """
                CREATE TRIGGER note_write AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON platform.\(table)
                    FOR EACH STATEMENT EXECUTE FUNCTION accord.note_platform_write();

                """
            }.joined()),
        TenantStores.migration,
        ModelRegistry.migration,
        ErasureRuns.migration,
        Retention.migration,
        Retention.skipEmptyMigration,
        Retention.sizeOnceMigration,
        Migration(version: 9, name: "a pass stopped at shutdown is recorded as interrupted", sql: """
            ALTER TABLE accord.revisions DROP CONSTRAINT revisions_result_check;
            ALTER TABLE accord.revisions ADD CONSTRAINT revisions_result_check
                CHECK (result IN ('applied', 'partial', 'unchanged', 'interrupted'));
            """),
        RetrySchedule.migration,
    ]

    /// Every registry table; each counts writes made outside Accord (`FastPath`).
    static let platformTables = [
        "retention_policies", "models", "model_versions", "tenants", "workers", "workflows", "workflow_versions", "erasures",
    ]
}
