extension Migrations {
    /// Accord's own bookkeeping: what it manages, what failed, what it applied, the audit log.
    static let v1 = Migration(version: 1, name: "accord bookkeeping: inventory, status, revisions, audit log, locks", sql: """
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
        """)
}
