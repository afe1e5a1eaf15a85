extension Migrations {
    static let v10 = Migration(version: 10, name: "object status keeps the daemon's next retry", sql: """
        ALTER TABLE accord.object_status ADD COLUMN next_attempt_at timestamptz;
        """)
}
