extension Migrations {
    /// Regions (SPEC §9). Every database — the control database and each
    /// region's — is migrated alike; a region's database uses only the
    /// store functions, `accord.tenant_keys` and the two below.
    ///
    /// - `accord.erasure_deletions`: an erasure's PostgreSQL deletions as
    ///   its region's database counted them, added up over attempts, so a
    ///   run whose control transaction did not follow its region's
    ///   transaction reports every row it deleted when it runs again.
    /// - `accord.retention_run_targets`: retention over (policy, rules,
    ///   tenant, isolation) targets given by the caller, who reads them
    ///   from the registry in the control database; it replaces
    ///   `accord.retention_run`, which read the registry itself.
    static let v17 = Migration(version: 17, name: "regions: erasure deletions and retention by targets", sql: """
        CREATE TABLE accord.erasure_deletions (
            tenant text NOT NULL,
            name text NOT NULL,
            subject_email_hash text NOT NULL,
            requested_at timestamptz NOT NULL,
            deleted jsonb NOT NULL,
            PRIMARY KEY (tenant, name, subject_email_hash, requested_at)
        );
        \(Retention.targetsFunction)
        DROP FUNCTION accord.retention_run(text[], timestamptz, bigint, boolean);
        """)
}
