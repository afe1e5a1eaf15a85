extension Migrations {
    /// Drift reverted as it happens (`DriftNotices`): every write made
    /// outside Accord to a registry table notifies channel `accord_drift`
    /// with the table and the key of each row it touched — never a value.
    /// A row trigger for inserts, updates and deletes (its WHEN clause
    /// skips Accord's own writes without calling the function), a
    /// statement trigger for TRUNCATE.
    static let v15 = Migration(version: 15, name: "outside writes notify the controller", sql: """
        CREATE FUNCTION accord.notify_platform_write() RETURNS trigger LANGUAGE plpgsql AS $$
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
                PERFORM pg_notify('\(DriftNotices.channel)', json_build_object('table', TG_TABLE_NAME, 'key', old_key)::text);
            END IF;
            IF TG_OP IN ('INSERT', 'UPDATE') THEN
                SELECT jsonb_agg(to_jsonb(NEW) ->> k.col ORDER BY k.i) INTO new_key
                FROM unnest(TG_ARGV) WITH ORDINALITY AS k(col, i);
                IF new_key IS DISTINCT FROM old_key THEN
                    PERFORM pg_notify('\(DriftNotices.channel)', json_build_object('table', TG_TABLE_NAME, 'key', new_key)::text);
                END IF;
            END IF;
            RETURN NULL;
        END $$;

        """ + DriftNotices.tables.filter { $0.kind != .notification }.map(driftTriggers).joined())

    /// The triggers that notify outside writes to one registry table.
    static func driftTriggers(_ table: DriftNotices.Table) -> String {
        let args = table.keys.map { "'\($0)'" }.joined(separator: ", ")
        return """
            CREATE TRIGGER notify_write AFTER INSERT OR UPDATE OR DELETE ON platform.\(table.name)
                FOR EACH ROW WHEN (current_setting('accord.applier', true) IS DISTINCT FROM 'on')
                EXECUTE FUNCTION accord.notify_platform_write(\(args));
            CREATE TRIGGER notify_truncate AFTER TRUNCATE ON platform.\(table.name)
                FOR EACH STATEMENT EXECUTE FUNCTION accord.notify_platform_write();

            """
    }
}
