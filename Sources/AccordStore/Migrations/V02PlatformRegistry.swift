extension Migrations {
    /// The platform registry (SPEC §2); every table counts writes made outside Accord (`FastPath`).
    static let v2 = Migration(version: 2, name: "platform registry tables (SPEC section 2)", sql: """
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
        """ + v2Tables.map(noteWrites).joined())
}
