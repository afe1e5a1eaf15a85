extension Migrations {
    static let v9 = Migration(version: 9, name: "a pass stopped at shutdown is recorded as interrupted", sql: """
        ALTER TABLE accord.revisions DROP CONSTRAINT revisions_result_check;
        ALTER TABLE accord.revisions ADD CONSTRAINT revisions_result_check
            CHECK (result IN ('applied', 'partial', 'unchanged', 'interrupted'));
        """)
}
