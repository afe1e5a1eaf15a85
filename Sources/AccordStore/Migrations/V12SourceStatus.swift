extension Migrations {
    /// The repository as an object of its own (`SourceStatus`), and
    /// revisions that were never applied in history: invalid manifests, or
    /// a plan the deletion guard refused, with the reason; an apply of
    /// uncommitted files records the commit they sit on.
    static let v12 = Migration(version: 12, name: "the source's status; refused revisions and uncommitted applies in history", sql: """
        ALTER TABLE accord.revisions DROP CONSTRAINT revisions_result_check;
        ALTER TABLE accord.revisions ADD CONSTRAINT revisions_result_check
            CHECK (result IN ('applied', 'partial', 'unchanged', 'interrupted', 'invalid', 'refused'));
        ALTER TABLE accord.revisions ADD COLUMN reason text;
        ALTER TABLE accord.revisions ADD COLUMN uncommitted_base text;
        CREATE TABLE accord.source_status (
            name text PRIMARY KEY,
            url text NOT NULL,
            branch text NOT NULL,
            path text NOT NULL,
            ready boolean NOT NULL,
            reason text NOT NULL,
            message text NOT NULL,
            errors jsonb NOT NULL DEFAULT '[]',
            fetched_revision text,
            fetched_at timestamptz,
            applied_revision text,
            applied_at timestamptz,
            since timestamptz NOT NULL,
            updated_at timestamptz NOT NULL DEFAULT now()
        );
        """)
}
