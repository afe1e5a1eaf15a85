import AccordCore
import AccordEngine
import Foundation

/// Writes made outside Accord to the registry, as they happen (migrations
/// 15 and 19): each such write notifies channel `accord_drift` with the
/// table and the key of every row it touched, never a value, and the
/// writing transaction's id, then once that its transaction committed, so
/// the controller knows when a burst is whole and can
/// revert exactly those objects within a second instead of at the next
/// resync. Notices are sent when the writing transaction commits; one lost
/// (the listening connection dropped) is found by the resync, and by the
/// next pass, whose outside-writes check (`FastPath`) fails.
public enum DriftNotices {
    public static let channel = "accord_drift"

    /// What one notice names.
    public enum Notice: Sendable, Hashable {
        /// One object, by the key of the row written, and the id of the
        /// writing transaction (nil from a database before migration 19).
        case object(ObjectID, transaction: Int64? = nil)
        /// Every object of a kind: its table was truncated.
        case kind(Kind)
        /// The transaction has committed: every notice of its rows came
        /// before this one (migration 19).
        case committed(transaction: Int64)
    }

    /// A registry table, the kind its rows belong to, and the columns
    /// that name the object (a version row names its model or workflow).
    struct Table: Sendable {
        let name: String
        let kind: Kind
        let keys: [String]
    }

    /// Every registry table (`Migrations.platformTables`).
    static let tables: [Table] = Kind.allCases.map { Table(name: Registry.table($0), kind: $0, keys: Registry.keyColumns($0)) } + [
        Table(name: "model_versions", kind: .model, keys: ["model"]),
        Table(name: "workflow_versions", kind: .workflow, keys: ["tenant", "name"]),
    ]

    /// The notice a payload carries; nil for anything else.
    public static func parse(_ payload: String) -> Notice? {
        guard case .object(let fields) = try? JSONParser.parse(payload) else { return nil }
        if let committed = fields["committed"] {
            return committed.stringValue.flatMap { Int64($0) }.map { .committed(transaction: $0) }
        }
        guard let name = fields["table"]?.stringValue,
              let table = tables.first(where: { $0.name == name }) else { return nil }
        if fields["all"] == .bool(true) { return .kind(table.kind) }
        guard case .array(let values)? = fields["key"], values.count == table.keys.count else { return nil }
        let parts = values.compactMap(\.stringValue)
        guard parts.count == values.count, parts.allSatisfy({ !$0.isEmpty }) else { return nil }
        var transaction: Int64?
        if let tx = fields["tx"] {
            guard let id = tx.stringValue.flatMap({ Int64($0) }) else { return nil }
            transaction = id
        }
        return .object(table.kind.isTenantScoped ? ObjectID(kind: table.kind, tenant: parts[0], name: parts[1])
                                                 : ObjectID(kind: table.kind, name: parts[0]), transaction: transaction)
    }

    /// Listens on the session's connection until it ends (throws) or the
    /// task is cancelled. `listening` is called once LISTEN is in effect,
    /// with the count of outside writes read after it: every outside write
    /// numbered above that count is notified. `notice` is called for
    /// every notice, in order.
    public static func listen(_ session: Session, listening: @Sendable (Int64) async -> Void,
                              notice: @Sendable (Notice) -> Void) async throws {
        try await session.connection.listen(on: channel) { notices in
            // Before Accord's first pass migrates the database there is no count yet, and no write to count.
            let counted = try await session.scalar("SELECT to_regclass('accord.platform_writes')::text") != nil
            await listening(counted ? try await FastPath.outsideWrites(session) : 0)
            for try await n in notices {
                if let parsed = parse(n.payload) { notice(parsed) }
            }
        }
    }
}
