import AccordCore
import Foundation
import AccordEngine

/// Accord's record of what it manages (`accord.inventory`) and of objects
/// that failed (`accord.object_status`). Written in the same transaction as
/// the registry rows they describe.
enum InventoryWriter {
    /// Upserts inventory entries: staged by COPY into a temporary table,
    /// then merged in one statement.
    static func record(_ objects: [DesiredObject], revision: String?, placed: Bool, _ session: Session) async throws {
        guard !objects.isEmpty else { return }
        let rows = Self.rows(objects, revision: revision, placed: placed)
        try await session.execute("""
            CREATE TEMP TABLE IF NOT EXISTS inventory_staged (
                kind text, tenant text, name text, manifest_hash text, record_hash text,
                blob_id text, source_path text, applied_revision text, database text
            ) ON COMMIT DELETE ROWS
            """)
        try await session.copy(into: "pg_temp", "inventory_staged", columns: columns, rows)
        try await session.execute("""
            INSERT INTO accord.inventory AS i (kind, tenant, name, manifest_hash, record_hash, blob_id, source_path, applied_revision, database)
            SELECT kind, tenant, name, manifest_hash, record_hash, blob_id, source_path, applied_revision, database
            FROM pg_temp.inventory_staged
            ON CONFLICT (kind, tenant, name) DO UPDATE SET
                generation = i.generation + CASE WHEN i.manifest_hash = EXCLUDED.manifest_hash THEN 0 ELSE 1 END,
                observed_generation = i.generation + CASE WHEN i.manifest_hash = EXCLUDED.manifest_hash THEN 0 ELSE 1 END,
                manifest_hash = EXCLUDED.manifest_hash, record_hash = EXCLUDED.record_hash,
                blob_id = EXCLUDED.blob_id, source_path = EXCLUDED.source_path,
                applied_revision = EXCLUDED.applied_revision, database = EXCLUDED.database,
                retained_at = NULL, updated_at = now()
            """)
        try await clearFailures(objects.map(\.id), session)
    }

    static let columns = ["kind", "tenant", "name", "manifest_hash", "record_hash", "blob_id", "source_path", "applied_revision", "database"]

    /// The database that holds an object's data (`InventoryEntry.database`):
    /// with a regions file (`placed`) a tenant's region and `control` for
    /// every other object; empty without one.
    static func database(_ d: DesiredObject, placed: Bool) -> String {
        guard placed else { return "" }
        if d.id.kind == .tenant, let region = d.record["region"].stringValue { return region }
        return "control"
    }

    static func rows(_ objects: [DesiredObject], revision: String?, placed: Bool) -> CopyRows {
        var rows = CopyRows(capacity: objects.count * 200)
        for d in objects {
            rows.text(d.id.kind.rawValue)
            rows.text(d.id.tenant ?? "")
            rows.text(d.id.name)
            rows.text(d.manifestHash)
            rows.text(d.recordHash)
            rows.text(d.blobID)
            rows.text(d.sourcePath)
            rows.text(revision)
            rows.text(database(d, placed: placed))
            rows.endRow()
        }
        return rows
    }

    /// New entries for objects known to have none (generation 1), built
    /// before the transaction that writes them.
    struct NewEntries: Sendable {
        let rows: CopyRows
        /// Those of the objects with a recorded failure, to clear.
        let failed: [ObjectID]
        var isEmpty: Bool { rows.bytes.isEmpty }

        /// `failing`: the objects with a recorded failure.
        init(_ objects: [DesiredObject], revision: String?, placed: Bool, failing: Set<ObjectID>) {
            rows = InventoryWriter.rows(objects, revision: revision, placed: placed)
            failed = failing.isEmpty ? [] : objects.map(\.id).filter(failing.contains)
        }
    }

    /// Writes new entries by a plain COPY: no staging and no merge.
    static func insert(_ entries: NewEntries, _ session: Session) async throws {
        guard !entries.isEmpty else { return }
        try await session.copy(into: "accord", "inventory", columns: columns, entries.rows)
        if !entries.failed.isEmpty { try await clearFailures(entries.failed, session) }
    }

    /// The objects with a recorded failure.
    static func failing(_ session: Session) async throws -> Set<ObjectID> {
        var out = Set<ObjectID>()
        for row in try await session.rows("SELECT kind, tenant, name FROM accord.object_status") {
            let (kind, tenant, name) = try row.decode((String, String, String).self)
            if let id = ObjectID(stored: kind, tenant, name) { out.insert(id) }
        }
        return out
    }

    static func forget(_ ids: [ObjectID], _ session: Session) async throws {
        guard !ids.isEmpty else { return }
        try await session.execute("""
            DELETE FROM accord.inventory i USING json_to_recordset($1::json) AS x(kind text, tenant text, name text)
            WHERE i.kind = x.kind AND i.tenant = x.tenant AND i.name = x.name
            """, [SQL.keysJSON(ids)])
        try await clearFailures(ids, session)
    }

    static func markRetained(_ ids: [ObjectID], _ session: Session) async throws {
        guard !ids.isEmpty else { return }
        try await session.execute("""
            UPDATE accord.inventory i SET retained_at = now(), updated_at = now()
            FROM json_to_recordset($1::json) AS x(kind text, tenant text, name text)
            WHERE i.kind = x.kind AND i.tenant = x.tenant AND i.name = x.name
            """, [SQL.keysJSON(ids)])
        try await clearFailures(ids, session)
    }

    /// Clears `RegionUnavailable` of tenants that no longer have it: a
    /// tenant whose region answers again and whose data matches needs no
    /// step, so nothing else would clear it. Only a pass that read every
    /// tenant (`everyTenantPlanned`) or found every region answering may.
    static func clearRegionUnavailable(except failed: Set<ObjectID>, _ session: Session) async throws {
        try await session.execute("""
            DELETE FROM accord.object_status s
            WHERE s.kind = 'Tenant' AND s.reason = $1
              AND s.name NOT IN (SELECT json_array_elements_text($2::json))
            """, [FailureReason.regionUnavailable.rawValue, JSONValue(strings: failed.filter { $0.kind == .tenant }.map(\.name)).canonical])
    }

    static func clearFailures(_ ids: [ObjectID], _ session: Session) async throws {
        try await session.execute("""
            DELETE FROM accord.object_status s USING json_to_recordset($1::json) AS x(kind text, tenant text, name text)
            WHERE s.kind = x.kind AND s.tenant = x.tenant AND s.name = x.name
            """, [SQL.keysJSON(ids)])
    }

    /// Records why an object was not applied, in one transaction with its
    /// audit entry; the entry is written only when the reason or message
    /// is new. A changed manifest still counts as a new generation, not yet
    /// observed. Returns the audit chain as it now stands.
    static func recordFailure(_ failure: ObjectFailure, action: String, manifestHash: String?, revision: String?,
                              audit: AuditChain, _ session: Session) async throws -> AuditChain {
        let id = failure.id
        let entry = AuditEntry(action: "\(action)-failed", object: id.description, revision: revision,
                               detail: .object(["reason": .string(failure.reason.rawValue), "message": .string(failure.message),
                                                "facts": failure.detail ?? .null].filter { $0.value != .null }),
                               events: OutboxEvent.of(failure, revision: revision).map { [$0] } ?? [])
        let sealed = audit.seal([entry])
        let written = try await session.transaction {
            let known = try await session.rows("""
                SELECT reason, message, stalled FROM accord.object_status WHERE kind = $1 AND tenant = $2 AND name = $3
                """, [id.kind.rawValue, id.tenant ?? "", id.name]).first.map { try $0.decode((String, String, Bool).self) }
            try await write(failure, manifestHash: manifestHash, revision: revision, session)
            guard known.map({ $0 != (failure.reason.rawValue, failure.message, failure.stalled) }) ?? true else { return false }
            try await AuditChain.write(sealed, session)
            return true
        }
        var audit = audit
        if written { audit.advance(to: sealed.head) }
        return audit
    }

    private static func write(_ failure: ObjectFailure, manifestHash: String?, revision: String?, _ session: Session) async throws {
        let id = failure.id
        try await session.execute("""
            INSERT INTO accord.object_status (kind, tenant, name, reason, message, stalled, revision, attempted_at)
            VALUES ($1, $2, $3, $4, $5, $6::boolean, $7, now())
            ON CONFLICT (kind, tenant, name) DO UPDATE SET reason = EXCLUDED.reason, message = EXCLUDED.message,
                stalled = EXCLUDED.stalled, revision = EXCLUDED.revision, attempted_at = now(), next_attempt_at = NULL
            """, [id.kind.rawValue, id.tenant ?? "", id.name, failure.reason.rawValue, failure.message,
                  failure.stalled ? "true" : "false", revision])
        if let manifestHash {
            try await session.execute("""
                UPDATE accord.inventory SET generation = generation + 1, manifest_hash = $4, updated_at = now()
                WHERE kind = $1 AND tenant = $2 AND name = $3 AND manifest_hash <> $4
                """, [id.kind.rawValue, id.tenant ?? "", id.name, manifestHash])
        }
    }
}

/// Objects whose drift reverts back off (`DriftRepeated`), recorded by the
/// controller so that `accordctl status` and the status page show them.
public enum DriftRecord {
    /// Records each object's `DriftRepeated` failure (and its audit entry,
    /// once per message) with when it is reverted again; the pass that
    /// reverts it clears it.
    public static func held(_ held: [(failure: ObjectFailure, next: Date)], revision: String?, actor: String,
                            _ session: Session) async throws {
        guard !held.isEmpty else { return }
        var audit = try await AuditChain.load(session, actor: actor)
        for h in held {
            audit = try await InventoryWriter.recordFailure(h.failure, action: "revert", manifestHash: nil, revision: revision,
                                                            audit: audit, session)
        }
        try await RetrySchedule.record(held.map { ($0.failure.id, $0.next) }, session)
    }
}

/// When the daemon tries each failed object again (its per-object
/// backoff), kept beside the failure so `accordctl status` shows it.
public enum RetrySchedule {
    public static func record(_ retries: [(id: ObjectID, at: Date)], _ session: Session) async throws {
        guard !retries.isEmpty else { return }
        let rows = JSONValue.array(retries.map { r in
            .object(["kind": .string(r.id.kind.rawValue), "tenant": .string(r.id.tenant ?? ""), "name": .string(r.id.name),
                     "at": .string(Timestamp.rfc3339(epochSeconds: Int64(r.at.timeIntervalSince1970.rounded(.up))))])
        })
        try await session.execute("""
            UPDATE accord.object_status s SET next_attempt_at = j.at::timestamptz
            FROM json_to_recordset($1::json) AS j(kind text, tenant text, name text, at text)
            WHERE s.kind = j.kind AND s.tenant = j.tenant AND s.name = j.name AND NOT s.stalled
            """, [rows.canonical])
    }

}
