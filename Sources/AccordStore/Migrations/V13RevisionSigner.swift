extension Migrations {
    /// Who signed each applied revision, under a verification policy (SPEC §10).
    static let v13 = Migration(version: 13, name: "each applied revision's signer", sql: """
        ALTER TABLE accord.revisions ADD COLUMN signer text;
        """)
}
