import AccordCore
import AccordEngine

/// `platform.tenants` and each tenant's data stores (SPEC §1): created
/// with the row, moved when the isolation changes, repaired when dropped
/// outside Accord, dropped with the data keys only for `deletionPolicy:
/// Delete`, and kept (the tenant offboarded) for `Retain`.
enum TenantRows: KindRows {
    static let kind = Kind.tenant

    static let readBack = ["stores": "accord.stores_state(t.name, t.isolation)"]

    /// Every tenant's row for the store statements, and its store schema.
    static func finish(_ batch: inout RowBatch, _ steps: [PlanStep]) {
        guard batch.action == .create || batch.action == .update else { return }
        batch.rowsJSON = RowsJSON.of(batch.objects)
        for d in batch.objects { if case .string(let schema) = d.record["stores"] { batch.stores[d.id] = schema } }
        if batch.action == .update {
            // A step that only repairs stores leaves the tenant's row alone.
            batch.upsertJSON = RowsJSON.of(steps.filter { $0.changes.contains { $0.path != "stores" } }.compactMap(\.desired))
        }
    }

    static func create(_ batch: RowBatch, _ write: RowWrite) async throws -> RowEffects {
        try await write.session.copy(into: "platform", "tenants", columns: keys + ownColumns.map(\.name), batch.copyRows)
        return try await ensureStores(batch, write.session)
    }

    static func update(_ batch: RowBatch, _ write: RowWrite) async throws -> RowEffects {
        var effects = try await moveStores(batch.rowsJSON, write.session)
        try await upsert(batch.upsertJSON, write.session)
        effects.merge(try await ensureStores(batch, write.session))
        return effects
    }

    /// A tenant deleted with `deletionPolicy: Delete`: its schema dropped or
    /// its shared rows deleted, and its data keys destroyed.
    static func delete(_ batch: RowBatch, _ write: RowWrite) async throws -> RowEffects {
        let session = write.session
        var effects = RowEffects()
        for row in try await session.rows("""
            SELECT t.name, t.isolation, accord.drop_stores(t.name, t.isolation)
            FROM json_to_recordset($1::json) AS x(name text) JOIN platform.tenants t ON t.name = x.name
            """, [SQL.keysJSON(batch.ids)]) {
            let (name, isolation, rows) = try row.decode((String, String, Int).self)
            effects.storesChanged = true
            effects.details[ObjectID(kind: .tenant, name: name)] = [
                "storesDropped": .object(["isolation": .string(isolation), "rows": JSONValue(rows)]),
            ]
        }
        for (tenant, n) in try await TenantKeys.destroy(batch.ids.map(\.name), session) {
            effects.details[ObjectID(kind: .tenant, name: tenant), default: [:]]["dataKeysDestroyed"] = JSONValue(n)
        }
        try await deleteRows(batch.ids, session)
        return effects
    }

    /// A Retain tenant is marked offboarded; its stores and keys stay.
    static func retain(_ batch: RowBatch, _ write: RowWrite) async throws -> RowEffects {
        try await markKept(batch.ids, status: "offboarded", write.session)
    }

    /// Creates whatever of the tenants' stores is missing (all of it for a
    /// new tenant; a table dropped outside Accord for an existing one).
    /// A tenant whose stores changed gets its schema in its audit details.
    static func ensureStores(_ batch: RowBatch, _ session: Session) async throws -> RowEffects {
        var effects = RowEffects()
        guard !batch.stores.isEmpty else { return effects }
        // The shared stores are one set of tables for every shared tenant: checked once per batch.
        for row in try await session.rows("""
            WITH x AS (SELECT * FROM json_to_recordset($1::json) AS x(name text, isolation text)),
                 s AS MATERIALIZED (SELECT accord.ensure_stores('', 'shared') AS changed
                                    WHERE EXISTS (SELECT 1 FROM x WHERE isolation = 'shared'))
            SELECT x.name FROM x
            WHERE CASE WHEN x.isolation = 'shared' THEN coalesce((SELECT changed FROM s), false)
                       ELSE accord.ensure_stores(x.name, x.isolation) END
            """, [batch.rowsJSON]) {
            let id = ObjectID(kind: .tenant, name: try row.decode(String.self))
            effects.storesChanged = true
            if let schema = batch.stores[id] { effects.details[id, default: [:]]["stores"] = .string(schema) }
        }
        return effects
    }

    /// Tenants whose isolation changes have their rows moved, in this
    /// transaction, from `shared` to their own schema or back; the source
    /// schema is dropped, or their shared rows deleted.
    static func moveStores(_ json: String, _ session: Session) async throws -> RowEffects {
        var effects = RowEffects()
        for row in try await session.rows("""
            SELECT x.name, t.isolation, x.isolation, accord.move_stores(x.name, t.isolation, x.isolation)
            FROM json_to_recordset($1::json) AS x(name text, isolation text)
            JOIN platform.tenants t ON t.name = x.name
            WHERE t.isolation <> x.isolation
            """, [json]) {
            let (name, from, to, moved) = try row.decode((String, String, String, Int).self)
            effects.storesChanged = true
            effects.details[ObjectID(kind: .tenant, name: name)] = [
                "storesMoved": .object(["from": .string(from), "to": .string(to), "rows": JSONValue(moved)]),
            ]
        }
        return effects
    }
}
