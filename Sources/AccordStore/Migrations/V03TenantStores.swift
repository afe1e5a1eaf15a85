import AccordEngine

extension Migrations {
    static let v3 = Migration(version: 3, name: "tenant data stores, row-level security, tenant data keys", sql: """
        CREATE SCHEMA IF NOT EXISTS shared;
        CREATE FUNCTION accord.store_tables() RETURNS text[] LANGUAGE sql IMMUTABLE AS $$
            SELECT \(TenantStores.tableArray)
        $$;
        CREATE FUNCTION accord.store_schema(tenant text, isolation text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
            SELECT CASE WHEN isolation = 'shared' THEN 'shared' ELSE 'tenant_' || replace(tenant, '-', '_') END
        $$;
        CREATE FUNCTION accord.ensure_store_table(target text, store text, tenant text) RETURNS boolean LANGUAGE plpgsql AS $$
        DECLARE
            rel regclass := to_regclass(format('%I.%I', target, store));
            changed boolean := false;
        BEGIN
            IF rel IS NULL THEN
                EXECUTE format('CREATE TABLE %I.%I (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), %s, '
                    'created_at timestamptz NOT NULL DEFAULT now(), '
                    'subject_email_hash text CHECK (subject_email_hash ~ ''^sha256:[0-9a-f]{64}$'')%s, '
                    'data jsonb NOT NULL DEFAULT ''{}'')',
                    target, store,
                    CASE WHEN tenant IS NULL THEN 'tenant_id text NOT NULL'
                         ELSE format('tenant_id text NOT NULL DEFAULT %L CHECK (tenant_id = %L)', tenant, tenant) END,
                    CASE WHEN store = 'worker_memory' THEN ', memory_type text' ELSE '' END);
                rel := to_regclass(format('%I.%I', target, store));
                changed := true;
            END IF;
            IF to_regclass(format('%I.%I', target, store || '_tenant_created')) IS NULL THEN
                EXECUTE format('CREATE INDEX %I ON %I.%I (tenant_id, created_at)', store || '_tenant_created', target, store);
                changed := true;
            END IF;
            IF to_regclass(format('%I.%I', target, store || '_subject')) IS NULL THEN
                EXECUTE format('CREATE INDEX %I ON %I.%I (subject_email_hash) WHERE subject_email_hash IS NOT NULL',
                    store || '_subject', target, store);
                changed := true;
            END IF;
            IF tenant IS NULL THEN
                IF NOT EXISTS (SELECT 1 FROM pg_class WHERE oid = rel AND relrowsecurity AND relforcerowsecurity) THEN
                    EXECUTE format('ALTER TABLE %I.%I ENABLE ROW LEVEL SECURITY', target, store);
                    EXECUTE format('ALTER TABLE %I.%I FORCE ROW LEVEL SECURITY', target, store);
                    changed := true;
                END IF;
                IF NOT EXISTS (SELECT 1 FROM pg_policy WHERE polrelid = rel AND polname = 'tenant_isolation') THEN
                    EXECUTE format('CREATE POLICY tenant_isolation ON %I.%I '
                        'USING (tenant_id = current_setting(''accord.tenant'', true)) '
                        'WITH CHECK (tenant_id = current_setting(''accord.tenant'', true))', target, store);
                    changed := true;
                END IF;
            END IF;
            RETURN changed;
        END $$;
        CREATE FUNCTION accord.ensure_stores(tenant text, isolation text) RETURNS boolean LANGUAGE plpgsql AS $$
        DECLARE
            target text := accord.store_schema(tenant, isolation);
            store text;
            changed boolean := false;
        BEGIN
            IF to_regnamespace(target) IS NULL THEN
                EXECUTE format('CREATE SCHEMA %I', target);
                changed := true;
            END IF;
            FOREACH store IN ARRAY accord.store_tables() LOOP
                IF accord.ensure_store_table(target, store, CASE WHEN isolation = 'shared' THEN NULL ELSE tenant END) THEN
                    changed := true;
                END IF;
            END LOOP;
            RETURN changed;
        END $$;
        CREATE FUNCTION accord.drop_stores(tenant text, isolation text) RETURNS bigint LANGUAGE plpgsql
        SET client_min_messages = warning AS $$
        DECLARE
            store text;
            n bigint;
            total bigint := 0;
        BEGIN
            IF isolation = 'shared' THEN
                PERFORM set_config('accord.tenant', tenant, true);
                FOREACH store IN ARRAY accord.store_tables() LOOP
                    IF to_regclass(format('shared.%I', store)) IS NOT NULL THEN
                        EXECUTE format('DELETE FROM shared.%I WHERE tenant_id = $1', store) USING tenant;
                        GET DIAGNOSTICS n = ROW_COUNT;
                        total := total + n;
                    END IF;
                END LOOP;
            ELSE
                FOREACH store IN ARRAY accord.store_tables() LOOP
                    IF to_regclass(format('%I.%I', accord.store_schema(tenant, isolation), store)) IS NOT NULL THEN
                        EXECUTE format('SELECT count(*) FROM %I.%I', accord.store_schema(tenant, isolation), store) INTO n;
                        total := total + n;
                    END IF;
                END LOOP;
                EXECUTE format('DROP SCHEMA IF EXISTS %I CASCADE', accord.store_schema(tenant, isolation));
            END IF;
            RETURN total;
        END $$;
        CREATE FUNCTION accord.move_stores(tenant text, source text, target text) RETURNS bigint LANGUAGE plpgsql
        SET client_min_messages = warning AS $$
        DECLARE
            store text;
            columns text;
            n bigint;
            total bigint := 0;
        BEGIN
            PERFORM accord.ensure_stores(tenant, target);
            PERFORM set_config('accord.tenant', tenant, true);
            FOREACH store IN ARRAY accord.store_tables() LOOP
                columns := 'id, tenant_id, created_at, subject_email_hash, data'
                    || CASE WHEN store = 'worker_memory' THEN ', memory_type' ELSE '' END;
                IF to_regclass(format('%I.%I', accord.store_schema(tenant, source), store)) IS NOT NULL THEN
                    EXECUTE format('INSERT INTO %I.%I (%s) SELECT %s FROM %I.%I WHERE tenant_id = $1',
                        accord.store_schema(tenant, target), store, columns, columns,
                        accord.store_schema(tenant, source), store) USING tenant;
                    GET DIAGNOSTICS n = ROW_COUNT;
                    total := total + n;
                END IF;
            END LOOP;
            IF source = 'shared' THEN
                PERFORM accord.drop_stores(tenant, source);
            ELSE
                EXECUTE format('DROP SCHEMA IF EXISTS %I CASCADE', accord.store_schema(tenant, source));
            END IF;
            RETURN total;
        END $$;
        CREATE FUNCTION accord.stores_state(tenant text, isolation text) RETURNS text LANGUAGE sql STABLE AS $$
            SELECT CASE WHEN count(c.oid) = cardinality(accord.store_tables()) THEN s.target
                ELSE s.target || CASE WHEN isolation = 'shared' THEN ' (missing or without row-level security: ' ELSE ' (missing: ' END
                    || string_agg(st.store, ', ' ORDER BY st.ord) FILTER (WHERE c.oid IS NULL) || ')' END
            FROM (SELECT accord.store_schema(tenant, isolation) AS target) s
            CROSS JOIN unnest(accord.store_tables()) WITH ORDINALITY AS st(store, ord)
            LEFT JOIN pg_namespace n ON n.nspname = s.target
            LEFT JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = st.store AND c.relkind = 'r'
                AND (isolation <> 'shared' OR (c.relrowsecurity AND c.relforcerowsecurity
                     AND EXISTS (SELECT 1 FROM pg_policy p WHERE p.polrelid = c.oid AND p.polname = 'tenant_isolation')))
            GROUP BY s.target
        $$;
        SELECT accord.ensure_stores('', 'shared');
        CREATE TABLE accord.tenant_keys (
            tenant text NOT NULL,
            version integer NOT NULL CHECK (version > 0),
            key_id text NOT NULL UNIQUE,
            algorithm text NOT NULL,
            wrapped_key text NOT NULL,
            kek_fingerprint text NOT NULL,
            created_at timestamptz NOT NULL,
            retired_at timestamptz,
            PRIMARY KEY (tenant, version)
        );
        CREATE UNIQUE INDEX tenant_keys_one_active ON accord.tenant_keys (tenant) WHERE retired_at IS NULL;
        ALTER TABLE accord.sync_state ADD COLUMN stores_digest text NOT NULL DEFAULT '';
        """)
}
