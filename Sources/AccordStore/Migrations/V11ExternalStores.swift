extension Migrations {
    /// External stores (SPEC §8): the registry of stores, which of them hold
    /// each tenant's data, each store's part of each erasure as a durable
    /// job, and each store's health.
    static let v11 = Migration(version: 11, name: "external stores, their erasure jobs and health", sql: """
        ALTER TABLE platform.tenants ADD COLUMN external_stores jsonb NOT NULL DEFAULT '[]';
        CREATE TABLE platform.stores (
            name text PRIMARY KEY,
            type text NOT NULL CHECK (type IN ('clickhouse', 'redis', 's3', 'http')),
            region text NOT NULL CHECK (region IN ('eu', 'us', 'apac')),
            endpoint text NOT NULL,
            credentials text,
            s3_region text,
            timeout_seconds integer NOT NULL,
            holds jsonb NOT NULL,
            created_at timestamptz NOT NULL DEFAULT now(),
            updated_at timestamptz NOT NULL DEFAULT now()
        );
        \(noteWrites("stores"))
        ALTER TABLE accord.erasure_runs ADD COLUMN postgres_erased_at timestamptz;
        ALTER TABLE accord.erasure_runs ADD COLUMN postgres_result jsonb;
        CREATE TABLE accord.erasure_store_jobs (
            tenant text NOT NULL,
            name text NOT NULL,
            store text NOT NULL,
            store_type text NOT NULL,
            endpoint text NOT NULL,
            state text NOT NULL CHECK (state IN ('pending', 'erasing', 'verifying', 'verified', 'failed')),
            -- Where a failed job goes on from at its next attempt.
            retry_state text CHECK (retry_state IN ('pending', 'erasing', 'verifying')),
            request_id text NOT NULL,
            deleted jsonb NOT NULL DEFAULT '{}',
            remaining jsonb,
            attempts integer NOT NULL DEFAULT 0,
            next_attempt_at timestamptz,
            last_error text,
            verified_at timestamptz,
            created_at timestamptz NOT NULL DEFAULT now(),
            updated_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (tenant, name, store)
        );
        CREATE TABLE accord.store_health (
            store text PRIMARY KEY,
            ready boolean NOT NULL,
            message text NOT NULL,
            missing jsonb NOT NULL DEFAULT '[]',
            failures integer NOT NULL DEFAULT 0,
            checked_at timestamptz NOT NULL,
            next_check_at timestamptz
        );
        """)
}
