import AccordCore
import AccordEngine

/// `platform.tenants` and each tenant's data stores (SPEC §1): created
/// with the row, moved when the isolation changes, repaired when dropped
/// outside Accord, dropped with the data keys only for `deletionPolicy:
/// Delete`, and kept (the tenant offboarded) for `Retain`.
///
/// The registry row lives in the control database; the stores and the
/// data keys in the tenant's data database — the same one without a
/// regions file, its region's with one (SPEC §9). The data part
/// (`writeData`) is written first, then the registry row
/// (`Session.dataThenControl`); every data write is idempotent, so a
/// tenant whose registry row did not follow is planned again and finished.
enum TenantRows: KindRows {
    static let kind = Kind.tenant

    static let readBack = ["stores": "accord.stores_state(t.name, t.isolation)"]

    /// A tenant as the registry has it: where its data is, and how.
    struct Live: Sendable, Equatable {
        let region: Region?
        let isolation: String
    }

    /// The registry's region and isolation of the given tenants.
    static func live(_ names: [String], _ session: Session) async throws -> [String: Live] {
        guard !names.isEmpty else { return [:] }
        var out: [String: Live] = [:]
        for row in try await session.rows("""
            SELECT t.name, t.region, t.isolation FROM platform.tenants t
            WHERE t.name IN (SELECT json_array_elements_text($1::json))
            """, [JSONValue(strings: names).canonical]) {
            let (name, region, isolation) = try row.decode((String, String, String).self)
            out[name] = Live(region: Region(rawValue: region), isolation: isolation)
        }
        return out
    }

    /// Every tenant's name and isolation for the store statements, and its store schema.
    static func finish(_ batch: inout RowBatch, _ steps: [PlanStep]) {
        guard batch.action == .create || batch.action == .update else { return }
        batch.storesJSON = JSONValue.array(batch.objects.map { d in
            .object(["name": .string(d.id.name), "isolation": d.record["isolation"]])
        }).canonical
        for d in batch.objects { if case .string(let schema) = d.record["stores"] { batch.stores[d.id] = schema } }
        if batch.action == .update {
            // A step that only repairs stores leaves the tenant's row alone.
            batch.upsertJSON = RowsJSON.of(steps.filter { $0.changes.contains { $0.path != "stores" } }.compactMap(\.desired))
        }
    }

    static func create(_ batch: RowBatch, _ write: RowWrite) async throws -> RowEffects {
        try await write.session.copy(into: "platform", "tenants", columns: keys + ownColumns.map(\.name), batch.copyRows)
        return RowEffects()
    }

    static func update(_ batch: RowBatch, _ write: RowWrite) async throws -> RowEffects {
        try await upsert(batch.upsertJSON, write.session)
        var effects = RowEffects()
        // A move to another region finishes with the registry row that names the new one.
        if write.session.regions != nil {
            for (id, move) in try await RegionMove.finish(batch.ids.map(\.name), write.session) {
                effects.details[id, default: [:]]["regionMoved"] = move
                effects.storesChanged = true
            }
        }
        return effects
    }

    static func delete(_ batch: RowBatch, _ write: RowWrite) async throws -> RowEffects {
        try await deleteRows(batch.ids, write.session)
        return RowEffects()
    }

    /// A Retain tenant is marked offboarded; its stores and keys stay.
    static func retain(_ batch: RowBatch, _ write: RowWrite) async throws -> RowEffects {
        try await markKept(batch.ids, status: "offboarded", write.session)
    }

    /// The tenants' data, on their data database: stores created or
    /// repaired, moved when the isolation changes, or — for a tenant
    /// deleted with `deletionPolicy: Delete` — dropped with every version of
    /// its data keys. `live` is the registry's view of the batch's tenants.
    static func writeData(_ batch: RowBatch, live: [String: Live], _ session: Session) async throws -> RowEffects {
        switch batch.action {
        case .create:
            return try await ensureStores(batch, session)
        case .update:
            var effects = try await moveStores(batch, live: live, session)
            effects.merge(try await ensureStores(batch, session))
            return effects
        case .delete:
            return try await dropStores(batch, live: live, session)
        case .retain:
            return RowEffects()
        }
    }

    /// Drops the schema or deletes the shared rows of each tenant, and destroys its data keys.
    static func dropStores(_ batch: RowBatch, live: [String: Live], _ session: Session) async throws -> RowEffects {
        var effects = RowEffects()
        let json = JSONValue.array(batch.ids.compactMap { id in
            live[id.name].map { .object(["name": .string(id.name), "isolation": .string($0.isolation)]) }
        }).canonical
        for row in try await session.rows("""
            SELECT x.name, x.isolation, accord.drop_stores(x.name, x.isolation)
            FROM json_to_recordset($1::json) AS x(name text, isolation text)
            """, [json]) {
            let (name, isolation, rows) = try row.decode((String, String, Int).self)
            effects.storesChanged = true
            effects.details[ObjectID(kind: .tenant, name: name)] = [
                "storesDropped": .object(["isolation": .string(isolation), "rows": JSONValue(rows)]),
            ]
        }
        for (tenant, n) in try await TenantKeys.destroy(batch.ids.map(\.name), session) {
            effects.details[ObjectID(kind: .tenant, name: tenant), default: [:]]["dataKeysDestroyed"] = JSONValue(n)
        }
        return effects
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
            """, [batch.storesJSON]) {
            let id = ObjectID(kind: .tenant, name: try row.decode(String.self))
            effects.storesChanged = true
            if let schema = batch.stores[id] { effects.details[id, default: [:]]["stores"] = .string(schema) }
        }
        return effects
    }

    /// Tenants whose isolation changes have their rows moved, in this
    /// transaction, from `shared` to their own schema or back; the source
    /// schema is dropped, or their shared rows deleted. Moving again finds
    /// nothing left at the source (a retry after the registry row did not follow).
    static func moveStores(_ batch: RowBatch, live: [String: Live], _ session: Session) async throws -> RowEffects {
        var effects = RowEffects()
        let moves = JSONValue.array(batch.objects.compactMap { d in
            guard let from = live[d.id.name]?.isolation, let to = d.record["isolation"].stringValue, from != to else { return nil }
            return .object(["name": .string(d.id.name), "source": .string(from), "target": .string(to)])
        })
        guard case .array(let list) = moves, !list.isEmpty else { return effects }
        for row in try await session.rows("""
            SELECT x.name, x.source, x.target, accord.move_stores(x.name, x.source, x.target)
            FROM json_to_recordset($1::json) AS x(name text, source text, target text)
            """, [moves.canonical]) {
            let (name, from, to, moved) = try row.decode((String, String, String, Int).self)
            effects.storesChanged = true
            effects.details[ObjectID(kind: .tenant, name: name)] = [
                "storesMoved": .object(["from": .string(from), "to": .string(to), "rows": JSONValue(moved)]),
            ]
        }
        return effects
    }
}
