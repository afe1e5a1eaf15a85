extension Migrations {
    /// Each store table is sized once, not once per tenant and rule (the
    /// shared stores were sized for every shared tenant).
    static let v8 = Migration(version: 8, name: "retention sizes each store table once", sql: """
        \(Retention.runFunction)
        """)
}
