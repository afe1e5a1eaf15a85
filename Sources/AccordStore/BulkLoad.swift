/// A first load of many objects builds some secondary indexes once, after
/// the rows are in, instead of entry by entry while they go in (as
/// `pg_restore` does): each would otherwise take a random-order insert per
/// row. Only indexes nothing in the load reads are deferred; the keys that
/// make rows unique stay. A pass that stops between the two steps (killed,
/// connection lost) leaves the indexes missing, and the next pass builds
/// them before anything else (`ensure`), under the same applier lock.
public enum BulkLoad {
    /// Objects a full pass must create into an empty inventory to defer the indexes.
    public static let threshold = 10_000

    /// The deferred indexes, as migrations 1 and 2 define them.
    static let indexes: [(name: String, schema: String, definition: String)] = [
        ("inventory_source_path", "accord", "accord.inventory (source_path)"),
        ("inventory_manifest_hash", "accord", #"accord.inventory ((manifest_hash COLLATE "C"))"#),
        ("workers_model", "platform", "platform.workers (model)"),
    ]

    /// Drops the deferred indexes before the load.
    public static func begin(_ session: Session) async throws {
        for index in indexes {
            try await session.execute("DROP INDEX IF EXISTS \(index.schema).\(index.name)")
        }
    }

    /// Builds whichever deferred index is missing: after a load, and at the
    /// start of every pass (one catalog query when none is).
    public static func ensure(_ session: Session) async throws {
        let present = Set(try await session.rows("""
            SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE c.relkind = 'i' AND (n.nspname, c.relname) IN (\(indexes.map { "('\($0.schema)', '\($0.name)')" }.joined(separator: ", ")))
            """).map { try $0.decode(String.self) })
        for index in indexes where !present.contains(index.name) {
            try await session.execute("CREATE INDEX IF NOT EXISTS \(index.name) ON \(index.definition)")
        }
    }
}
