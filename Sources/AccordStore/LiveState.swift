import AccordCore
import AccordEngine
import PostgresNIO

/// Reads the live registry and Accord's inventory: one query per kind and
/// one for the inventory, never one per object.
public enum LiveState {
    public struct Snapshot: Sendable {
        public var records: [Record]
        public var inventory: [InventoryEntry]

        public init(records: [Record], inventory: [InventoryEntry]) {
            self.records = records
            self.inventory = inventory
        }
    }

    public static func read(_ session: Session) async throws -> Snapshot {
        var records: [Record] = []
        for kind in Kind.allCases.sorted() {
            records += try await read(kind, session)
        }
        return Snapshot(records: records, inventory: try await inventory(session))
    }

    /// The SQL expression that reads a column back in the form the desired
    /// record holds it. `placed`: with a regions file a tenant's stores are
    /// not in this database; they are read from its region's
    /// (`TenantStores.attachRegional`), so nothing is computed here.
    static func selectExpression(_ kind: Kind, _ column: Column, placed: Bool = false) -> String {
        if placed, kind == .tenant, column.name == "stores" { return "NULL::text" }
        if let special = KindRowsTable.of(kind).selectExpression(column) { return special }
        let c = "t.\(SQL.identifier(column.name))"
        return switch column.type {
        case .text: c
        case .integer: "\(c)::int8"
        case .double: "\(c)::float8"
        case .boolean: c
        case .json: "\(c)::text"
        case .timestamp: "to_char(\(c) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
        }
    }

    public static func read(_ kind: Kind, _ session: Session) async throws -> [Record] {
        let records = try await session.rows("SELECT \(selectList(kind, placed: session.regions != nil)) FROM platform.\(Registry.table(kind)) t")
            .map { try record(kind, $0) }
        return kind == .tenant ? try await TenantStores.attachRegional(records, session) : records
    }

    /// Key columns, then every owned column as `selectExpression` reads it.
    static func selectList(_ kind: Kind, placed: Bool = false) -> String {
        (Registry.keyColumns(kind).map { "t.\($0)" } + Registry.columns(kind).map { selectExpression(kind, $0, placed: placed) })
            .joined(separator: ", ")
    }

    /// A row selected with `selectList` as a record.
    static func record(_ kind: Kind, _ row: PostgresRow) throws -> Record {
        let columns = Registry.columns(kind)
        let keys = Registry.keyColumns(kind).count
        let cells = row.makeRandomAccess()
        let tenant = kind.isTenantScoped ? try cells[0].decode(String.self) : nil
        let name = try cells[keys - 1].decode(String.self)
        var fields: [String: JSONValue] = [:]
        fields.reserveCapacity(columns.count)
        for (i, column) in columns.enumerated() {
            fields[column.name] = try value(cells[keys + i], column.type)
        }
        return Record(id: ObjectID(kind: kind, tenant: tenant, name: name), fields: fields)
    }

    static func value(_ cell: PostgresCell, _ type: ColumnType) throws -> JSONValue {
        switch type {
        case .text, .timestamp: return JSONValue(try cell.decode(String?.self))
        case .integer: return JSONValue(try cell.decode(Int?.self))
        case .double: return JSONValue(try cell.decode(Double?.self))
        case .boolean: return try cell.decode(Bool?.self).map { .bool($0) } ?? .null
        case .json:
            guard let text = try cell.decode(String?.self) else { return .null }
            return try JSONParser.parse(text)
        }
    }

    public static func inventory(_ session: Session) async throws -> [InventoryEntry] {
        try await session.rows("SELECT \(inventoryColumns) FROM accord.inventory i").compactMap(inventoryEntry)
    }

    /// The columns `inventoryEntry` decodes, from `accord.inventory i`.
    static let inventoryColumns = """
        i.kind, i.tenant, i.name, i.manifest_hash, i.record_hash, i.blob_id, i.source_path, i.generation, \
        i.retained_at IS NOT NULL, i.database
        """
}

/// Quoting for the identifiers Accord builds SQL from. Values never go
/// through here: they are always bind parameters.
public enum SQL {
    public static func identifier(_ name: String) -> String {
        "\"" + name.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    /// `[{"kind": …, "tenant": …, "name": …}, …]` for `json_to_recordset`
    /// (a cluster-scoped object's tenant as '').
    static func keysJSON(_ ids: [ObjectID]) -> String {
        JSONValue.array(ids.map { id in
            .object(["kind": .string(id.kind.rawValue), "tenant": .string(id.tenant ?? ""), "name": .string(id.name)])
        }).canonical
    }

    /// The json_to_recordset column type of a registry column.
    static func recordsetType(_ type: ColumnType) -> String {
        switch type {
        case .text: "text"
        case .integer: "bigint"
        case .double: "float8"
        case .boolean: "boolean"
        case .json: "jsonb"
        case .timestamp: "timestamptz"
        }
    }
}

extension LiveState {
    /// The live rows of the given objects only (one query per kind).
    public static func read(_ ids: Set<ObjectID>, _ session: Session) async throws -> [Record] {
        var out: [Record] = []
        for kind in Kind.allCases.sorted() {
            let keys = ids.filter { $0.kind == kind }
            guard !keys.isEmpty else { continue }
            let sql = """
                SELECT \(selectList(kind, placed: session.regions != nil)) FROM json_to_recordset($1::json) AS x(kind text, tenant text, name text)
                JOIN platform.\(Registry.table(kind)) t ON \(KindRowsTable.of(kind).keyMatch())
                """
            out += try await session.rows(sql, [SQL.keysJSON(Array(keys))]).map { try record(kind, $0) }
        }
        return try await TenantStores.attachRegional(out, session)
    }

    /// Inventory entries of the given objects, and of every object recorded
    /// as coming from one of `paths`.
    public static func inventory(ids: Set<ObjectID>, paths: [String], _ session: Session) async throws -> [InventoryEntry] {
        let rows = try await session.rows("""
            SELECT \(inventoryColumns) FROM accord.inventory i
            WHERE i.source_path IN (SELECT json_array_elements_text($2::json))
            UNION
            SELECT \(inventoryColumns)
            FROM json_to_recordset($1::json) AS x(kind text, tenant text, name text)
            JOIN accord.inventory i ON i.kind = x.kind AND i.tenant = x.tenant AND i.name = x.name
            """, [SQL.keysJSON(Array(ids)), JSONValue(strings: paths).canonical])
        return try rows.compactMap(inventoryEntry)
    }

    static func inventoryEntry(_ row: PostgresRow) throws -> InventoryEntry? {
        let (kind, tenant, name, manifestHash, recordHash, blob, path, generation, retained, database) =
            try row.decode((String, String, String, String, String, String?, String, Int, Bool, String).self)
        guard let id = ObjectID(stored: kind, tenant, name) else { return nil }
        return InventoryEntry(id: id,
                              manifestHash: manifestHash, recordHash: recordHash, blobID: blob,
                              sourcePath: path, generation: generation, retained: retained, database: database)
    }
}

extension ObjectID {
    /// The identity of a row of Accord's tables, which keep a cluster-scoped
    /// object's tenant as ''; nil for a kind this binary does not know.
    init?(stored kind: String, _ tenant: String, _ name: String) {
        guard let kind = Kind(rawValue: kind) else { return nil }
        self.init(kind: kind, tenant: tenant.isEmpty ? nil : tenant, name: name)
    }
}
