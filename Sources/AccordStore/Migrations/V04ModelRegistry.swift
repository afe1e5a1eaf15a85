extension Migrations {
    static let v4 = Migration(version: 4, name: "model version registry and promotion history", sql: """
        CREATE TABLE accord.model_versions (
            model text NOT NULL,
            version text NOT NULL,
            digest text NOT NULL,
            artifact text NOT NULL,
            registered_at timestamptz NOT NULL DEFAULT now(),
            revision text,
            PRIMARY KEY (model, version)
        );
        CREATE TABLE accord.model_promotions (
            id bigserial PRIMARY KEY,
            model text NOT NULL,
            outcome text NOT NULL CHECK (outcome IN ('initial', 'promotion', 'rollback', 'withdrawal', 'adopted')),
            from_version text,
            to_version text,
            detail jsonb NOT NULL DEFAULT '{}',
            revision text,
            at timestamptz NOT NULL DEFAULT now()
        );
        CREATE INDEX model_promotions_model ON accord.model_promotions (model, id);
        INSERT INTO accord.model_versions (model, version, digest, artifact)
            SELECT model, version, digest, artifact FROM platform.model_versions;
        INSERT INTO accord.model_promotions (model, outcome, to_version)
            SELECT name, 'adopted', production_version FROM platform.models WHERE production_version IS NOT NULL;
        """)
}
