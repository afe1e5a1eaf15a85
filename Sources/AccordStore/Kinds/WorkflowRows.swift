import AccordCore
import AccordEngine

/// `platform.workflows` points at the latest of the immutable
/// `platform.workflow_versions`: a changed definition becomes a new
/// version, creates and updates alike.
enum WorkflowRows: KindRows {
    static let kind = Kind.workflow

    static let readBack = ["definition": """
        (SELECT v.definition FROM platform.workflow_versions v \
        WHERE v.tenant = t.tenant AND v.name = t.name AND v.version = t.version)::text
        """]

    /// New workflows are written like changed ones: a first version.
    static func finish(_ batch: inout RowBatch, _ steps: [PlanStep]) {
        if batch.action == .create { batch.upsertJSON = RowsJSON.of(batch.objects) }
    }

    static func create(_ batch: RowBatch, _ write: RowWrite) async throws -> RowEffects {
        try await update(batch, write)
    }

    /// A changed definition becomes a new immutable version and the
    /// workflow points at it; a definition equal to the latest version
    /// (the row was deleted outside Accord) points back at that version.
    static func update(_ batch: RowBatch, _ write: RowWrite) async throws -> RowEffects {
        guard !batch.upsertJSON.isEmpty else { return RowEffects() }
        try await write.session.execute("""
            WITH x AS (SELECT * FROM json_to_recordset($1::json) AS x(tenant text, name text, definition jsonb)),
            latest AS (
                SELECT x.tenant, x.name, x.definition, lv.version AS latest_version, lv.definition AS latest_definition
                FROM x LEFT JOIN LATERAL (
                    SELECT v.version, v.definition FROM platform.workflow_versions v
                    WHERE v.tenant = x.tenant AND v.name = x.name ORDER BY v.version DESC LIMIT 1
                ) lv ON true
            ),
            target AS (
                SELECT tenant, name, definition,
                       CASE WHEN latest_definition = definition THEN latest_version ELSE coalesce(latest_version, 0) + 1 END AS version,
                       latest_definition IS DISTINCT FROM definition AS is_new
                FROM latest
            ),
            new_versions AS (
                INSERT INTO platform.workflow_versions (tenant, name, version, definition)
                SELECT tenant, name, version, definition FROM target WHERE is_new
            ),
            revived AS (
                UPDATE platform.workflow_versions v SET deleted_at = NULL
                FROM target WHERE NOT target.is_new AND v.tenant = target.tenant AND v.name = target.name
                    AND v.version = target.version AND v.deleted_at IS NOT NULL
            )
            INSERT INTO platform.workflows AS t (tenant, name, version)
            SELECT tenant, name, version FROM target
            ON CONFLICT (tenant, name) DO UPDATE SET version = EXCLUDED.version, updated_at = now()
            """, [batch.upsertJSON])
        return RowEffects()
    }

    /// The workflow's row goes; its versions stay, marked deleted.
    static func delete(_ batch: RowBatch, _ write: RowWrite) async throws -> RowEffects {
        guard !batch.ids.isEmpty else { return RowEffects() }
        try await deleteRows(batch.ids, write.session)
        try await write.session.execute("""
            UPDATE platform.workflow_versions t SET deleted_at = now() FROM \(recordset([]))
            WHERE \(keyMatch()) AND t.deleted_at IS NULL
            """, [SQL.keysJSON(batch.ids)])
        return RowEffects()
    }
}
