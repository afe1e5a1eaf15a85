import AccordCore
import AccordEngine
import Foundation

/// Writes made outside Accord to the registry, as they happen (migration
/// 15): each such write notifies channel `accord_drift` with the table and
/// the key of every row it touched, never a value, so the controller can
/// revert exactly those objects within a second instead of at the next
/// resync. Notices are sent when the writing transaction commits; one lost
/// (the listening connection dropped) is found by the resync, and by the
/// next pass, whose outside-writes check (`FastPath`) fails.
public enum DriftNotices {
    public static let channel = "accord_drift"

    /// What one notice names.
    public enum Notice: Sendable, Hashable {
        /// One object, by the key of the row written.
        case object(ObjectID)
        /// Every object of a kind: its table was truncated.
        case kind(Kind)
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
        guard case .object(let fields) = try? JSONParser.parse(payload),
              let name = fields["table"]?.stringValue,
              let table = tables.first(where: { $0.name == name }) else { return nil }
        if fields["all"] == .bool(true) { return .kind(table.kind) }
        guard case .array(let values)? = fields["key"], values.count == table.keys.count else { return nil }
        let parts = values.compactMap(\.stringValue)
        guard parts.count == values.count, parts.allSatisfy({ !$0.isEmpty }) else { return nil }
        return .object(table.kind.isTenantScoped ? ObjectID(kind: table.kind, tenant: parts[0], name: parts[1])
                                                 : ObjectID(kind: table.kind, name: parts[0]))
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
