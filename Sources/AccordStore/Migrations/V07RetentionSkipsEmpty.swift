extension Migrations {
    /// A store table of zero size holds no row at all: the run skips it
    /// without planning a statement (a first apply's stores are all empty).
    static let v7 = Migration(version: 7, name: "retention skips empty store tables", sql: """
        \(Retention.runFunction)
        """)
}
