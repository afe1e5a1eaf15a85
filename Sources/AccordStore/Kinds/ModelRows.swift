import AccordCore
import AccordEngine

/// `platform.models` and its versions in `platform.model_versions`; every
/// write also records the versions and production moves in Accord's own
/// ledger (`ModelRegistry`), in the same transaction.
enum ModelRows: KindRows {
    static let kind = Kind.model

    static let readBack = ["versions": """
        coalesce((SELECT jsonb_object_agg(v.version, jsonb_build_object('artifact', v.artifact, \
        'digest', v.digest, 'evaluation', v.evaluation, 'signature', v.signature)) \
        FROM platform.model_versions v WHERE v.model = t.name), '{}'::jsonb)::text
        """]

    /// A new model's versions go in by COPY beside its row.
    static func finish(_ batch: inout RowBatch, _ steps: [PlanStep]) {
        if batch.action == .create { batch.copyDetails = versionRows(batch.objects) }
    }

    static func create(_ batch: RowBatch, _ write: RowWrite) async throws -> RowEffects {
        try await write.session.copy(into: "platform", "models", columns: keys + ownColumns.map(\.name), batch.copyRows)
        try await write.session.copy(into: "platform", "model_versions",
                                     columns: ["model", "version", "digest", "artifact", "evaluation", "signature"], batch.copyDetails)
        try await ModelRegistry.record(batch.objects, revision: write.revision, write.session)
        return RowEffects()
    }

    static func update(_ batch: RowBatch, _ write: RowWrite) async throws -> RowEffects {
        try await upsert(batch.upsertJSON, write.session)
        try await syncVersions(batch.upsertJSON, write.session)
        try await ModelRegistry.record(batch.objects, revision: write.revision, write.session)
        return RowEffects()
    }

    static func versionRows(_ objects: [DesiredObject]) -> CopyRows {
        var versions = CopyRows()
        for d in objects {
            guard case .object(let all) = d.record["versions"] else { continue }
            for (version, v) in all.sorted(by: { $0.key < $1.key }) {
                versions.text(d.id.name)
                versions.text(version)
                versions.field(v["digest"] ?? .null, .text)
                versions.field(v["artifact"] ?? .null, .text)
                versions.field(v["evaluation"] ?? .object([:]), .json)
                versions.field(v["signature"] ?? .null, .text)
                versions.endRow()
            }
        }
        return versions
    }

    /// A model's versions become exactly the ones in git.
    static func syncVersions(_ json: String, _ session: Session) async throws {
        guard !json.isEmpty else { return }
        try await session.execute("""
            DELETE FROM platform.model_versions v
            USING json_to_recordset($1::json) AS x(name text, versions jsonb)
            WHERE v.model = x.name AND NOT x.versions ? v.version
            """, [json])
        try await session.execute("""
            INSERT INTO platform.model_versions AS v (model, version, digest, artifact, evaluation, signature)
            SELECT x.name, e.key, e.value->>'digest', e.value->>'artifact', coalesce(e.value->'evaluation', '{}'), e.value->>'signature'
            FROM json_to_recordset($1::json) AS x(name text, versions jsonb), jsonb_each(x.versions) e
            ON CONFLICT (model, version) DO UPDATE SET digest = EXCLUDED.digest, artifact = EXCLUDED.artifact,
                evaluation = EXCLUDED.evaluation, signature = EXCLUDED.signature
            WHERE (v.digest, v.artifact, v.evaluation, v.signature)
                IS DISTINCT FROM (EXCLUDED.digest, EXCLUDED.artifact, EXCLUDED.evaluation, EXCLUDED.signature)
            """, [json])
    }
}
