extension Migrations {
    /// Where each object lives (SPEC §9): the inventory names the database
    /// that holds the object's data — a tenant's region (its stores and
    /// data keys), `control` for every other object (its registry row) —
    /// written with the entry by every pass run with a regions file
    /// (`InventoryWriter.database`); empty without one.
    static let v20 = Migration(version: 20, name: "inventory names each object's database", sql: """
        ALTER TABLE accord.inventory ADD COLUMN database text NOT NULL DEFAULT '';
        """)
}
