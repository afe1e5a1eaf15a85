import AccordCore
import AccordEngine

/// Set-based SQL that writes a batch of same-kind steps to the `platform`
/// tables: each batch is one statement (or two) over a `json_to_recordset`
/// of its rows, never a loop of single-row statements.
enum RegistryWriter {
    /// What a write did beyond the rows: per object, details for its audit
    /// entry (stores created or moved, rows dropped); whether any store
    /// table was created, moved or dropped.
    struct Effects: Sendable {
        var details: [ObjectID: [String: JSONValue]] = [:]
        var storesChanged = false
    }

    /// A batch's client-side share of the write, built before its
    /// transaction opens (in a full pass, while the previous batch's
    /// transaction runs): the rows as JSON for set-based statements and as
    /// COPY text for new rows, and the audit details known in advance.
    struct Prepared: Sendable {
        let kind: Kind
        let action: Action
        let ids: [ObjectID]
        /// Tenant batches: every tenant's row, for the store statements.
        var tenantsJSON = ""
        /// Rows to upsert, as JSON (a tenant update only those that change more than stores).
        var upsertJSON = ""
        /// New rows (and a new model's versions) by COPY.
        var copyRows = CopyRows()
        var copyVersions = CopyRows()
        /// Tenant batches: each tenant's store schema.
        var stores: [ObjectID: String] = [:]
        /// Audit details the write reports whatever the database finds: a
        /// new tenant's stores (an existing one's only when they changed).
        var knownDetails: [ObjectID: [String: JSONValue]] {
            action == .create ? stores.mapValues { ["stores": .string($0)] } : [:]
        }

        init(_ kind: Kind, _ action: Action, _ steps: [PlanStep]) {
            self.kind = kind
            self.action = action
            ids = steps.map(\.id)
            let objects = steps.compactMap(\.desired)
            if kind == .tenant, action == .create || action == .update {
                tenantsJSON = rowsJSON(objects)
                for d in objects { if case .string(let schema) = d.record["stores"] { stores[d.id] = schema } }
            }
            var upsert: [DesiredObject] = []
            switch action {
            case .create where kind != .workflow:
                (copyRows, copyVersions) = RegistryWriter.copyRows(kind, objects)
            case .update where kind == .tenant:
                // A step that only repairs stores leaves the tenant's row alone.
                upsert = steps.filter { $0.changes.contains { $0.path != "stores" } }.compactMap(\.desired)
            case .create, .update:
                upsert = objects
            case .delete, .retain:
                break
            }
            if !upsert.isEmpty { upsertJSON = rowsJSON(upsert) }
        }
    }

    static func write(_ batch: Prepared, _ session: Session) async throws -> Effects {
        var effects = Effects()
        effects.details = batch.knownDetails
        let kind = batch.kind, action = batch.action
        if kind == .tenant, action == .update {
            effects = try await moveStores(batch.tenantsJSON, session)
        }
        if kind == .tenant, action == .delete {
            effects = try await dropStores(batch.ids, session)
        }
        switch action {
        case .create where kind != .workflow:
            try await session.copy(into: "platform", Registry.table(kind), columns: Registry.keyColumns(kind) + ownColumns(kind).map(\.name),
                                   batch.copyRows)
            if kind == .model {
                try await session.copy(into: "platform", "model_versions",
                                       columns: ["model", "version", "digest", "artifact", "evaluation", "signature"], batch.copyVersions)
            }
        case .create, .update: try await upsert(kind, batch.upsertJSON, session)
        case .delete: try await delete(kind, batch.ids, session)
        case .retain: try await retain(kind, batch.ids, session)
        }
        if kind == .tenant, action == .create || action == .update {
            try await ensureStores(batch, &effects, session)
        }
        return effects
    }

    /// Creates whatever of the tenants' stores is missing (all of it for a
    /// new tenant; a table dropped outside Accord for an existing one).
    /// A tenant whose stores changed gets its schema in its audit details.
    static func ensureStores(_ batch: Prepared, _ effects: inout Effects, _ session: Session) async throws {
        guard !batch.stores.isEmpty else { return }
        // The shared stores are one set of tables for every shared tenant: checked once per batch.
        for row in try await session.rows("""
            WITH x AS (SELECT * FROM json_to_recordset($1::json) AS x(name text, isolation text)),
                 s AS MATERIALIZED (SELECT accord.ensure_stores('', 'shared') AS changed
                                    WHERE EXISTS (SELECT 1 FROM x WHERE isolation = 'shared'))
            SELECT x.name FROM x
            WHERE CASE WHEN x.isolation = 'shared' THEN coalesce((SELECT changed FROM s), false)
                       ELSE accord.ensure_stores(x.name, x.isolation) END
            """, [batch.tenantsJSON]) {
            let id = ObjectID(kind: .tenant, name: try row.decode(String.self))
            effects.storesChanged = true
            if let schema = batch.stores[id] { effects.details[id, default: [:]]["stores"] = .string(schema) }
        }
    }

    /// Tenants whose isolation changes have their rows moved, in this
    /// transaction, from `shared` to their own schema or back; the source
    /// schema is dropped, or their shared rows deleted.
    static func moveStores(_ json: String, _ session: Session) async throws -> Effects {
        var effects = Effects()
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

    /// A tenant deleted with `deletionPolicy: Delete`: its schema dropped or
    /// its shared rows deleted, and its data keys destroyed.
    static func dropStores(_ ids: [ObjectID], _ session: Session) async throws -> Effects {
        var effects = Effects()
        for row in try await session.rows("""
            SELECT t.name, t.isolation, accord.drop_stores(t.name, t.isolation)
            FROM json_to_recordset($1::json) AS x(name text) JOIN platform.tenants t ON t.name = x.name
            """, [keysJSON(ids)]) {
            let (name, isolation, rows) = try row.decode((String, String, Int).self)
            effects.storesChanged = true
            effects.details[ObjectID(kind: .tenant, name: name)] = [
                "storesDropped": .object(["isolation": .string(isolation), "rows": JSONValue(rows)]),
            ]
        }
        for (tenant, n) in try await TenantKeys.destroy(ids.map(\.name), session) {
            effects.details[ObjectID(kind: .tenant, name: tenant), default: [:]]["dataKeysDestroyed"] = JSONValue(n)
        }
        return effects
    }

    /// `{"tenant": …, "name": …, column: value …}` per row, as one JSON array.
    static func rowsJSON(_ objects: [DesiredObject]) -> String {
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

    static func keysJSON(_ ids: [ObjectID]) -> String {
        JSONValue.array(ids.map { id in
            .object(["kind": .string(id.kind.rawValue), "tenant": .string(id.tenant ?? ""), "name": .string(id.name)])
        }).canonical
    }

    /// `x(tenant text, name text, …)` for json_to_recordset.
    static func recordset(_ kind: Kind, _ columns: [Column]) -> String {
        let keys = Registry.keyColumns(kind).map { "\($0) text" }
        let cols = columns.map { "\(SQL.identifier($0.name)) \(SQL.recordsetType($0.type))" }
        return "json_to_recordset($1::json) AS x(\((keys + cols).joined(separator: ", ")))"
    }

    static func keyMatch(_ kind: Kind, _ table: String = "t") -> String {
        Registry.keyColumns(kind).map { "\(table).\($0) = x.\($0)" }.joined(separator: " AND ")
    }

    /// Columns stored in the kind's own table (a model's versions and a
    /// workflow's definition live in their own tables, a tenant's stores
    /// are schemas and tables).
    static func ownColumns(_ kind: Kind) -> [Column] {
        Registry.columns(kind).filter {
            !($0.name == "versions" && kind == .model) && !($0.name == "definition" && kind == .workflow)
                && !($0.name == "stores" && kind == .tenant)
        }
    }

    static func upsert(_ kind: Kind, _ json: String, _ session: Session) async throws {
        guard !json.isEmpty else { return }
        let table = "platform.\(Registry.table(kind))"
        let keys = Registry.keyColumns(kind)
        if kind == .workflow {
            try await upsertWorkflows(json, session)
            return
        }
        let columns = ownColumns(kind)
        let names = (keys + columns.map { SQL.identifier($0.name) }).joined(separator: ", ")
        let updates = (columns.map { "\(SQL.identifier($0.name)) = EXCLUDED.\(SQL.identifier($0.name))" } + ["updated_at = now()"])
            .joined(separator: ", ")
        try await session.execute("""
            INSERT INTO \(table) AS t (\(names))
            SELECT \(names) FROM \(recordset(kind, columns))
            ON CONFLICT (\(keys.joined(separator: ", "))) DO UPDATE SET \(updates)
            """, [json])
        if kind == .model {
            try await syncModelVersions(json, session)
        }
    }

    /// New rows (the plan found none with their keys) go in by COPY, the
    /// fastest way into PostgreSQL. A row inserted meanwhile by someone
    /// else makes the batch fail on its key and the executor retries each
    /// object alone, reporting that one.
    static func copyRows(_ kind: Kind, _ objects: [DesiredObject]) -> (rows: CopyRows, versions: CopyRows) {
        let columns = ownColumns(kind)
        var rows = CopyRows(capacity: objects.count * 256)
        var versions = CopyRows()
        for d in objects {
            if let tenant = d.id.tenant { rows.text(tenant) }
            rows.text(d.id.name)
            for c in columns { rows.field(d.record[c.name], c.type) }
            rows.endRow()
            if kind == .model, case .object(let all) = d.record["versions"] {
                for (version, v) in all.sorted(by: { $0.key < $1.key }) {
                    versions.text(d.id.name)
                    versions.text(version)
                    versions.field(v["digest"] ?? .null, .text)
                    versions.field(v["artifact"] ?? .null, .text)
                    versions.field(v["evaluation"] ?? .object([:]), .json)
                    versions.field(v["signature"] ?? .null, .text)
                    versions.endRow()
                }
            }
        }
        return (rows, versions)
    }

    /// A model's versions become exactly the ones in git.
    static func syncModelVersions(_ json: String, _ session: Session) async throws {
        try await session.execute("""
            DELETE FROM platform.model_versions v
            USING json_to_recordset($1::json) AS x(name text, versions jsonb)
            WHERE v.model = x.name AND NOT x.versions ? v.version
            """, [json])
        try await session.execute("""
            INSERT INTO platform.model_versions AS v (model, version, digest, artifact, evaluation, signature)
            SELECT x.name, e.key, e.value->>'digest', e.value->>'artifact', coalesce(e.value->'evaluation', '{}'), e.value->>'signature'
            FROM json_to_recordset($1::json) AS x(name text, versions jsonb), jsonb_each(x.versions) e
            ON CONFLICT (model, version) DO UPDATE SET digest = EXCLUDED.digest, artifact = EXCLUDED.artifact,
                evaluation = EXCLUDED.evaluation, signature = EXCLUDED.signature
            WHERE (v.digest, v.artifact, v.evaluation, v.signature)
                IS DISTINCT FROM (EXCLUDED.digest, EXCLUDED.artifact, EXCLUDED.evaluation, EXCLUDED.signature)
            """, [json])
    }

    /// A changed definition becomes a new immutable version and the
    /// workflow points at it; a definition equal to the latest version
    /// (the row was deleted outside Accord) points back at that version.
    static func upsertWorkflows(_ json: String, _ session: Session) async throws {
        try await session.execute("""
            WITH x AS (SELECT * FROM json_to_recordset($1::json) AS x(tenant text, name text, definition jsonb)),
            latest AS (
                SELECT x.tenant, x.name, x.definition, lv.version AS latest_version, lv.definition AS latest_definition
                FROM x LEFT JOIN LATERAL (
                    SELECT v.version, v.definition FROM platform.workflow_versions v
                    WHERE v.tenant = x.tenant AND v.name = x.name ORDER BY v.version DESC LIMIT 1
                ) lv ON true
            ),
            target AS (
                SELECT tenant, name, definition,
                       CASE WHEN latest_definition = definition THEN latest_version ELSE coalesce(latest_version, 0) + 1 END AS version,
                       latest_definition IS DISTINCT FROM definition AS is_new
                FROM latest
            ),
            new_versions AS (
                INSERT INTO platform.workflow_versions (tenant, name, version, definition)
                SELECT tenant, name, version, definition FROM target WHERE is_new
            ),
            revived AS (
                UPDATE platform.workflow_versions v SET deleted_at = NULL
                FROM target WHERE NOT target.is_new AND v.tenant = target.tenant AND v.name = target.name
                    AND v.version = target.version AND v.deleted_at IS NOT NULL
            )
            INSERT INTO platform.workflows AS t (tenant, name, version)
            SELECT tenant, name, version FROM target
            ON CONFLICT (tenant, name) DO UPDATE SET version = EXCLUDED.version, updated_at = now()
            """, [json])
    }

    static func delete(_ kind: Kind, _ ids: [ObjectID], _ session: Session) async throws {
        guard !ids.isEmpty else { return }
        let json = keysJSON(ids)
        let table = "platform.\(Registry.table(kind))"
        try await session.execute("DELETE FROM \(table) t USING \(recordset(kind, [])) WHERE \(keyMatch(kind))", [json])
        if kind == .workflow {
            try await session.execute("""
                UPDATE platform.workflow_versions t SET deleted_at = now() FROM \(recordset(kind, []))
                WHERE \(keyMatch(kind)) AND t.deleted_at IS NULL
                """, [json])
        }
    }

    /// Rows kept on purpose: a Retain tenant is marked offboarded (its
    /// stores and keys stay) and its workers stopped; an erasure's record
    /// stays as it is.
    static func retain(_ kind: Kind, _ ids: [ObjectID], _ session: Session) async throws {
        guard !ids.isEmpty else { return }
        switch kind {
        case .tenant:
            try await session.execute("""
                UPDATE platform.tenants t SET status = 'offboarded', updated_at = now()
                FROM \(recordset(kind, [])) WHERE \(keyMatch(kind)) AND t.status <> 'offboarded'
                """, [keysJSON(ids)])
        case .worker:
            try await session.execute("""
                UPDATE platform.workers t SET status = 'stopped', updated_at = now()
                FROM \(recordset(kind, [])) WHERE \(keyMatch(kind)) AND t.status <> 'stopped'
                """, [keysJSON(ids)])
        default:
            break
        }
    }
}
