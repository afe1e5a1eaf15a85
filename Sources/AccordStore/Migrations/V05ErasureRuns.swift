extension Migrations {
    static let v5 = Migration(version: 5, name: "erasure runs, certificates and SLA stages", sql: """
        CREATE TABLE accord.erasure_runs (
            tenant text NOT NULL,
            name text NOT NULL,
            attempts integer NOT NULL DEFAULT 0,
            last_error text,
            next_attempt_at timestamptz,
            sla_stage text NOT NULL DEFAULT 'on-time',
            PRIMARY KEY (tenant, name)
        );
        CREATE TABLE accord.erasure_certificates (
            tenant text NOT NULL,
            name text NOT NULL,
            certificate text NOT NULL,
            signature text NOT NULL,
            evidence text NOT NULL,
            key_fingerprint text NOT NULL,
            public_key text NOT NULL,
            issued_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (tenant, name)
        );
        CREATE FUNCTION accord.erase_subject(tenant text, isolation text, subject text)
        RETURNS TABLE (store text, relation text, deleted bigint, remaining bigint) LANGUAGE plpgsql AS $$
        DECLARE
            target text := accord.store_schema(tenant, isolation);
            scope text := CASE WHEN isolation = 'shared' THEN format(' AND tenant_id = %L', tenant) ELSE '' END;
            t text;
        BEGIN
            PERFORM set_config('accord.tenant', tenant, true);
            FOREACH t IN ARRAY accord.store_tables() LOOP
                IF to_regclass(format('%I.%I', target, t)) IS NULL THEN
                    RAISE EXCEPTION 'store %.% of tenant % does not exist (the tenant is not onboarded)', target, t, tenant
                        USING ERRCODE = '42P01';
                END IF;
                EXECUTE format('DELETE FROM %I.%I WHERE subject_email_hash = $1', target, t) || scope USING subject;
                GET DIAGNOSTICS deleted = ROW_COUNT;
                EXECUTE format('SELECT count(*) FROM %I.%I WHERE subject_email_hash = $1', target, t) || scope INTO remaining USING subject;
                IF remaining > 0 THEN
                    RAISE EXCEPTION '% rows of subject % remain in %.% after the delete', remaining, subject, target, t;
                END IF;
                store := t;
                relation := target || '.' || t;
                RETURN NEXT;
            END LOOP;
        END $$;
        """)
}
