extension Migrations {
    /// Moving a tenant's data between regions (SPEC §9,
    /// `accord.dev/migrate-region: "true"`): a row per move whose copy was
    /// verified in the new region's database. Written in the control
    /// database before the old region's data is dropped, deleted with the
    /// registry update that finishes the move; a pass that finds one
    /// resumes at the drop, never copies again (the source may be gone).
    static let v18 = Migration(version: 18, name: "region moves", sql: """
        CREATE TABLE accord.region_moves (
            tenant text PRIMARY KEY,
            from_region text NOT NULL,
            to_region text NOT NULL,
            isolation text NOT NULL,
            rows jsonb NOT NULL,
            verified_at timestamptz NOT NULL DEFAULT now()
        );
        """)
}
