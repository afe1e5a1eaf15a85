extension Migrations {
    /// Signed commits (SPEC §10): the source records whether the fetched
    /// commit is trusted, by whom or why not, and history a revision the
    /// policy refused (`unverified`).
    static let v14 = Migration(version: 14, name: "the source's verification and unverified revisions", sql: """
        ALTER TABLE accord.revisions DROP CONSTRAINT revisions_result_check;
        ALTER TABLE accord.revisions ADD CONSTRAINT revisions_result_check
            CHECK (result IN ('applied', 'partial', 'unchanged', 'interrupted', 'invalid', 'refused', 'unverified'));
        ALTER TABLE accord.source_status ADD COLUMN verified boolean;
        ALTER TABLE accord.source_status ADD COLUMN verification text;
        """)
}
