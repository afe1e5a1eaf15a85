extension Migrations {
    static let v6 = Migration(version: 6, name: "retention enforcement", sql: """
        CREATE TABLE accord.retention_runs (
            policy text PRIMARY KEY,
            last_run_at timestamptz NOT NULL
        );
        \(Retention.runFunction)
        """)
}
