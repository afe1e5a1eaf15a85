extension Migrations {
    /// A burst of outside writes is known to be whole (`DriftNotices`):
    /// every row notice carries its transaction's id, and a deferred
    /// constraint trigger (it fires as the transaction commits, after
    /// every row's notice was sent) sends one `committed` notice per
    /// transaction (PostgreSQL folds identical payloads of a transaction
    /// into one). PostgreSQL delivers a transaction's notices in the order
    /// they were sent, so the controller waits for that notice instead of
    /// guessing from a pause, which a busy machine makes long at any
    /// moment.
    static let v19 = Migration(version: 19, name: "outside writes mark their commit", sql: """
        CREATE OR REPLACE FUNCTION accord.notify_platform_write() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE
            old_key jsonb;
            new_key jsonb;
        BEGIN
            IF current_setting('accord.applier', true) IS NOT DISTINCT FROM 'on' THEN
                RETURN NULL;
            END IF;
            IF TG_OP = 'TRUNCATE' THEN
                PERFORM pg_notify('\(DriftNotices.channel)', json_build_object('table', TG_TABLE_NAME, 'all', true)::text);
                RETURN NULL;
            END IF;
            IF TG_OP IN ('UPDATE', 'DELETE') THEN
                SELECT jsonb_agg(to_jsonb(OLD) ->> k.col ORDER BY k.i) INTO old_key
                FROM unnest(TG_ARGV) WITH ORDINALITY AS k(col, i);
                PERFORM pg_notify('\(DriftNotices.channel)',
                    json_build_object('table', TG_TABLE_NAME, 'key', old_key, 'tx', txid_current()::text)::text);
            END IF;
            IF TG_OP IN ('INSERT', 'UPDATE') THEN
                SELECT jsonb_agg(to_jsonb(NEW) ->> k.col ORDER BY k.i) INTO new_key
                FROM unnest(TG_ARGV) WITH ORDINALITY AS k(col, i);
                IF new_key IS DISTINCT FROM old_key THEN
                    PERFORM pg_notify('\(DriftNotices.channel)',
                        json_build_object('table', TG_TABLE_NAME, 'key', new_key, 'tx', txid_current()::text)::text);
                END IF;
            END IF;
            RETURN NULL;
        END $$;

        CREATE FUNCTION accord.notify_platform_commit() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('\(DriftNotices.channel)', json_build_object('committed', txid_current()::text)::text);
            RETURN NULL;
        END $$;

        """ + DriftNotices.tables.map(commitTrigger).joined())

    /// The deferred trigger that marks the commit of an outside write to one registry table.
    static func commitTrigger(_ table: DriftNotices.Table) -> String {
        """
        CREATE CONSTRAINT TRIGGER notify_commit AFTER INSERT OR UPDATE OR DELETE ON platform.\(table.name)
            DEFERRABLE INITIALLY DEFERRED
            FOR EACH ROW WHEN (current_setting('accord.applier', true) IS DISTINCT FROM 'on')
            EXECUTE FUNCTION accord.notify_platform_commit();

        """
    }
}
