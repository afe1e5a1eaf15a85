import AccordCore
import AccordEngine

/// Accord's own memory of the model registry (`accord.model_versions` and
/// `accord.model_promotions`): every version as first registered, so a
/// changed digest or artifact is refused even after the version left git,
/// and every move of a model's production version, so moving back to a
/// former production version is recognised as a rollback. Both are
/// append-only and written in the same transaction as the model's rows.
public enum ModelRegistry {

    /// The ledger of the named models: live production, registered
    /// versions, former production versions, live evaluations. Three
    /// queries, whatever the number of models.
    public static func ledger(_ names: [String], _ session: Session) async throws -> ModelLedger {
        guard !names.isEmpty else { return ModelLedger() }
        let json = JSONValue(strings: names).canonical
        var models: [String: ModelLedger.Model] = [:]
        for row in try await session.rows("""
            SELECT m.name, m.production_version, v.version, v.evaluation::text
            FROM platform.models m LEFT JOIN platform.model_versions v ON v.model = m.name
            WHERE m.name IN (SELECT json_array_elements_text($1::json))
            """, [json]) {
            let (name, production, version, evaluation) = try row.decode((String, String?, String?, String?).self)
            var model = models[name] ?? ModelLedger.Model(production: production)
            if let production { model.formerProduction.insert(production) }
            if let version, let evaluation, case .object(let values)? = try? JSONParser.parse(evaluation) {
                model.evaluation[version] = values.compactMapValues { $0.numberValue }
            }
            models[name] = model
        }
        for row in try await session.rows("""
            SELECT model, version, digest, artifact FROM accord.model_versions
            WHERE model IN (SELECT json_array_elements_text($1::json))
            """, [json]) {
            let (name, version, digest, artifact) = try row.decode((String, String, String, String).self)
            models[name, default: ModelLedger.Model()].registered[version] = .init(digest: digest, artifact: artifact)
        }
        for row in try await session.rows("""
            SELECT DISTINCT model, to_version FROM accord.model_promotions
            WHERE to_version IS NOT NULL AND model IN (SELECT json_array_elements_text($1::json))
            """, [json]) {
            let (name, version) = try row.decode((String, String).self)
            models[name, default: ModelLedger.Model()].formerProduction.insert(version)
        }
        return ModelLedger(models: models)
    }

    /// Registers the versions of applied models (first registration wins)
    /// and records their production moves.
    static func record(_ objects: [DesiredObject], revision: String?, _ session: Session) async throws {
        var versions = CopyRows()
        var promotions: [JSONValue] = []
        for d in objects where d.id.kind == .model {
            if case .object(let all) = d.record["versions"] {
                for (version, v) in all.sorted(by: { $0.key < $1.key }) {
                    versions.text(d.id.name)
                    versions.text(version)
                    versions.field(v["digest"] ?? .null, .text)
                    versions.field(v["artifact"] ?? .null, .text)
                    versions.text(revision)
                    versions.endRow()
                }
            }
            if case .object(let move)? = d.auditDetail["promotion"] {
                promotions.append(.object(["model": .string(d.id.name), "outcome": move["outcome"] ?? .null,
                                           "from": move["from"] ?? .null, "to": move["to"] ?? .null, "detail": .object(move)]))
            }
        }
        if !versions.bytes.isEmpty {
            try await session.execute("""
                CREATE TEMP TABLE IF NOT EXISTS model_versions_stage (
                    model text, version text, digest text, artifact text, revision text
                ) ON COMMIT DELETE ROWS
                """)
            try await session.copy(into: "pg_temp", "model_versions_stage",
                                   columns: ["model", "version", "digest", "artifact", "revision"], versions)
            try await session.execute("""
                INSERT INTO accord.model_versions (model, version, digest, artifact, revision)
                SELECT model, version, digest, artifact, revision FROM pg_temp.model_versions_stage
                ON CONFLICT (model, version) DO NOTHING
                """)
        }
        if !promotions.isEmpty {
            try await session.execute("""
                INSERT INTO accord.model_promotions (model, outcome, from_version, to_version, detail, revision)
                SELECT x.model, x.outcome, x."from", x."to", x.detail, $2
                FROM json_to_recordset($1::json) AS x(model text, outcome text, "from" text, "to" text, detail jsonb)
                """, [JSONValue.array(promotions).canonical, revision])
        }
    }
}
