import AccordCore
import AccordEngine

/// How one kind's registry rows are written and read back: one type per
/// kind in this folder, mirroring `AccordEngine/Kinds/`. Every write is
/// set-based SQL over a batch of same-kind steps (a `json_to_recordset` of
/// its rows, or COPY for new rows), never a loop of single-row statements.
/// The defaults below are the common case: a row per object in the kind's
/// table with a column per owned column; a kind overrides what differs.
protocol KindRows {
    static var kind: Kind { get }
    /// Columns not stored in the kind's own table, each with the SQL that
    /// reads it back as the desired record holds it (`t` is the kind's
    /// table): a model's versions and a workflow's definition live in
    /// their own tables, a tenant's stores are schemas and tables.
    static var readBack: [String: String] { get }
    /// What a kind adds to a batch's client-side share beyond its rows.
    static func finish(_ batch: inout RowBatch, _ steps: [PlanStep])
    static func create(_ batch: RowBatch, _ write: RowWrite) async throws -> RowEffects
    static func update(_ batch: RowBatch, _ write: RowWrite) async throws -> RowEffects
    static func delete(_ batch: RowBatch, _ write: RowWrite) async throws -> RowEffects
    /// Rows kept on purpose when the object leaves git (SPEC §1).
    static func retain(_ batch: RowBatch, _ write: RowWrite) async throws -> RowEffects
}

/// A batch's client-side share of the write, built before its transaction
/// opens (in a full pass, while the previous batch's transaction runs).
struct RowBatch: Sendable {
    let kind: Kind
    let action: Action
    let ids: [ObjectID]
    /// The desired objects of creates and updates.
    var objects: [DesiredObject] = []
    /// Tenant batches: each tenant's name and isolation as JSON, for the
    /// store statements (nothing else of the row: the server parses it).
    var storesJSON = ""
    /// Rows to upsert, as JSON (a tenant update: only those that change more than stores).
    var upsertJSON = ""
    /// New rows by COPY, and a second table's rows (a new model's versions).
    var copyRows = CopyRows()
    var copyDetails = CopyRows()
    /// Tenant batches: each tenant's store schema.
    var stores: [ObjectID: String] = [:]
    /// Audit details the write reports whatever the database finds: a
    /// new tenant's stores (an existing one's only when they changed).
    var knownDetails: [ObjectID: [String: JSONValue]] {
        action == .create ? stores.mapValues { ["stores": .string($0)] } : [:]
    }
}

/// Where a batch is written.
struct RowWrite: Sendable {
    let session: Session
    let revision: String?
}

/// What a write did beyond the rows: per object, details for its audit
/// entry (stores created or moved, rows dropped); whether any store table
/// was created, moved or dropped.
struct RowEffects: Sendable {
    var details: [ObjectID: [String: JSONValue]] = [:]
    var storesChanged = false

    mutating func merge(_ other: RowEffects) {
        details.merge(other.details) { a, b in a.merging(b) { $1 } }
        storesChanged = storesChanged || other.storesChanged
    }
}

/// The kind's rows, one type per kind.
enum KindRowsTable {
    static func of(_ kind: Kind) -> any KindRows.Type {
        switch kind {
        case .tenant: TenantRows.self
        case .worker: WorkerRows.self
        case .workflow: WorkflowRows.self
        case .retentionPolicy: RetentionPolicyRows.self
        case .model: ModelRows.self
        case .erasure: ErasureRows.self
        case .store: StoreRows.self
        case .notification: NotificationRows.self
        }
    }

    /// Writes one prepared batch in the caller's transaction.
    static func write(_ batch: RowBatch, _ write: RowWrite) async throws -> RowEffects {
        let rows = of(batch.kind)
        var effects = RowEffects()
        effects.details = batch.knownDetails
        let done: RowEffects
        switch batch.action {
        case .create: done = try await rows.create(batch, write)
        case .update: done = try await rows.update(batch, write)
        case .delete: done = try await rows.delete(batch, write)
        case .retain: done = try await rows.retain(batch, write)
        }
        effects.merge(done)
        return effects
    }
}

extension KindRows {
    static var table: String { "platform.\(Registry.table(kind))" }
    static var keys: [String] { Registry.keyColumns(kind) }
    static var readBack: [String: String] { [:] }
    /// Columns stored in the kind's own table.
    static var ownColumns: [Column] { Registry.columns(kind).filter { readBack[$0.name] == nil } }
    static func selectExpression(_ column: Column) -> String? { readBack[column.name] }
    static func finish(_ batch: inout RowBatch, _ steps: [PlanStep]) {}

    /// The batch's client-side share of the write: new rows as COPY text,
    /// changed ones as JSON, then what the kind adds (`finish`).
    static func prepare(_ action: Action, _ steps: [PlanStep]) -> RowBatch {
        var batch = RowBatch(kind: kind, action: action, ids: steps.map(\.id))
        batch.objects = steps.compactMap(\.desired)
        switch action {
        case .create:
            batch.copyRows = copyRows(batch.objects)
        case .update:
            batch.upsertJSON = RowsJSON.of(batch.objects)
        case .delete, .retain:
            break
        }
        finish(&batch, steps)
        return batch
    }

    /// New rows (the plan found none with their keys) go in by COPY, the
    /// fastest way into PostgreSQL. A row inserted meanwhile by someone
    /// else makes the batch fail on its key and the executor retries each
    /// object alone, reporting that one.
    static func create(_ batch: RowBatch, _ write: RowWrite) async throws -> RowEffects {
        try await write.session.copy(into: "platform", Registry.table(kind), columns: keys + ownColumns.map(\.name), batch.copyRows)
        return RowEffects()
    }

    static func update(_ batch: RowBatch, _ write: RowWrite) async throws -> RowEffects {
        try await upsert(batch.upsertJSON, write.session)
        return RowEffects()
    }

    static func delete(_ batch: RowBatch, _ write: RowWrite) async throws -> RowEffects {
        try await deleteRows(batch.ids, write.session)
        return RowEffects()
    }

    static func retain(_ batch: RowBatch, _ write: RowWrite) async throws -> RowEffects { RowEffects() }

    /// The kind's own columns of each object, keys first, as COPY text.
    static func copyRows(_ objects: [DesiredObject]) -> CopyRows {
        let columns = ownColumns
        var rows = CopyRows(capacity: objects.count * 256)
        for d in objects {
            if let tenant = d.id.tenant { rows.text(tenant) }
            rows.text(d.id.name)
            for c in columns { rows.field(d.record[c.name], c.type) }
            rows.endRow()
        }
        return rows
    }

    /// Inserts or updates the rows of `json` (one statement).
    static func upsert(_ json: String, _ session: Session) async throws {
        guard !json.isEmpty else { return }
        let columns = ownColumns
        let names = (keys + columns.map { SQL.identifier($0.name) }).joined(separator: ", ")
        let updates = (columns.map { "\(SQL.identifier($0.name)) = EXCLUDED.\(SQL.identifier($0.name))" } + ["updated_at = now()"])
            .joined(separator: ", ")
        try await session.execute("""
            INSERT INTO \(table) AS t (\(names))
            SELECT \(names) FROM \(recordset(columns))
            ON CONFLICT (\(keys.joined(separator: ", "))) DO UPDATE SET \(updates)
            """, [json])
    }

    /// Rows kept when their object leaves git get a status that says so
    /// (a tenant `offboarded`, a worker `stopped`).
    static func markKept(_ ids: [ObjectID], status: String, _ session: Session) async throws -> RowEffects {
        guard !ids.isEmpty else { return RowEffects() }
        try await session.execute("""
            UPDATE \(table) t SET status = $2, updated_at = now()
            FROM \(recordset([])) WHERE \(keyMatch()) AND t.status <> $2
            """, [SQL.keysJSON(ids), status])
        return RowEffects()
    }

    static func deleteRows(_ ids: [ObjectID], _ session: Session) async throws {
        guard !ids.isEmpty else { return }
        try await session.execute("DELETE FROM \(table) t USING \(recordset([])) WHERE \(keyMatch())", [SQL.keysJSON(ids)])
    }

    /// `json_to_recordset($1::json) AS x(tenant text, name text, …)`.
    static func recordset(_ columns: [Column]) -> String {
        let cols = columns.map { "\(SQL.identifier($0.name)) \(SQL.recordsetType($0.type))" }
        return "json_to_recordset($1::json) AS x(\((keys.map { "\($0) text" } + cols).joined(separator: ", ")))"
    }

    /// `t.tenant = x.tenant AND t.name = x.name`.
    static func keyMatch(_ table: String = "t") -> String {
        keys.map { "\(table).\($0) = x.\($0)" }.joined(separator: " AND ")
    }
}

/// Registry rows as one JSON array: `{"tenant": …, "name": …, column: value …}` per row.
enum RowsJSON {
    static func of(_ objects: [DesiredObject]) -> String {
        guard !objects.isEmpty else { return "" }
        var out: [UInt8] = [UInt8(ascii: "[")]
        for (i, d) in objects.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            var fields = d.record.fields
            fields["name"] = .string(d.id.name)
            if let tenant = d.id.tenant { fields["tenant"] = .string(tenant) }
            JSONValue.object(fields).write(to: &out)
        }
        out.append(UInt8(ascii: "]"))
        return String(decoding: out, as: UTF8.self)
    }
}
