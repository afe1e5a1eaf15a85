import AccordCore
import AccordEngine
import Foundation

/// A tenant moved to another region with `accord.dev/migrate-region:
/// "true"` (SPEC §9): its rows and data keys copied to the new region's
/// database, counted on both sides, and only then dropped from the old one;
/// the registry follows last, with the move in its audit entry.
///
/// 1. In the new region, one transaction: whatever an earlier attempt left
///    of the tenant there is deleted, its stores ensured, every row of its
///    six tables and every version of its data key copied from the old
///    region (read in one transaction there).
/// 2. Each table counted in both databases; a difference fails the move
///    (the old region keeps everything; the next pass copies again).
/// 3. The control database records the verified move (`accord.region_moves`).
/// 4. The old region's stores and keys are dropped.
/// 5. The tenant's batch then writes the registry (region, inventory,
///    audit) and deletes the move row, in one control transaction.
///
/// A crash before 3 leaves the old region whole: the move starts again. A
/// crash after 3 finds the move row: the next write pass finishes the move
/// before it plans (`settle`), whatever the manifest says by then — the
/// data is in the new region, so the registry must say so — and never
/// copies again, since the old region's data may be gone. A manifest that
/// went back to the old region then reads as a move back, refused without
/// the annotation like any other.
public enum RegionMove {
    struct Verified: Sendable {
        let tenant: String
        let from: Region
        let to: Region
        let isolation: String
        /// Rows per store table, and `data_keys`, as counted on both sides.
        let rows: [String: Int]
    }

    struct Mismatch: Error, CustomStringConvertible {
        let description: String
    }

    /// Moves one tenant's data (steps 1–4); the caller writes the registry (5).
    static func move(tenant: String, from: Region, to: Region, isolation: String, _ session: Session) async throws -> Verified {
        guard let regions = session.regions else { throw Mismatch(description: "no regions file") }
        if let pending = try await pending(tenant, session) {
            // A verified move not finished: its old copy may be gone, so it is finished, never redone elsewhere.
            guard pending.to == to else {
                throw Mismatch(description: "an earlier move of Tenant/\(tenant) from \(pending.from.rawValue) to \(pending.to.rawValue) was verified but not finished (its data is in \(pending.to.rawValue)'s database); set spec.region: \(pending.to.rawValue) to finish it first")
            }
            try await dropSource(pending, regions)
            return pending
        }
        let storeSchema = SQL.identifier(try await session.scalar("SELECT accord.store_schema($1, $2)", [tenant, isolation]) ?? "shared")
        // 1. Copied from the old region into the new one, in one transaction there: each table read
        // through a cursor in the old region, 5,000 rows at a time, so a tenant of any size is never
        // held in memory whole.
        try await regions.transaction(to) { target in
            try await target.execute("SELECT set_config('accord.tenant', $1, true)", [tenant])
            try await target.execute("SELECT accord.ensure_stores($1, $2)", [tenant, isolation])
            try await target.execute("DELETE FROM accord.tenant_keys WHERE tenant = $1", [tenant])
            try await regions.transaction(from) { source in
                try await source.execute("SELECT set_config('accord.tenant', $1, true)", [tenant])
                for table in TenantRecord.storeTables {
                    let relation = "\(storeSchema).\(SQL.identifier(table))"
                    try await target.execute("DELETE FROM \(relation) WHERE tenant_id = $1", [tenant])
                    try await copy("SELECT row_to_json(t)::text FROM \(relation) t WHERE t.tenant_id = $1", [tenant],
                                   from: source, into: relation, target)
                }
                try await copy("SELECT row_to_json(k)::text FROM accord.tenant_keys k WHERE k.tenant = $1", [tenant],
                               from: source, into: "accord.tenant_keys", target)
            }
        }
        FaultPoint.regionCommitted.reach("\(to.rawValue):\(regions.committed(to))")
        // 2. Counted on both sides.
        let before = try await counts(tenant, storeSchema, from, regions)
        let after = try await counts(tenant, storeSchema, to, regions)
        guard before == after else {
            let differ = before.keys.sorted().filter { before[$0] != after[$0] }
                .map { "\($0): \(before[$0] ?? 0) in \(from.rawValue), \(after[$0] ?? 0) in \(to.rawValue)" }
            throw Mismatch(description: "the copy of Tenant/\(tenant) to \(to.rawValue) does not match its rows in \(from.rawValue) (\(differ.joined(separator: "; "))); nothing was dropped, and the move is tried again")
        }
        // 3. The verified move, recorded before anything is dropped.
        let verified = Verified(tenant: tenant, from: from, to: to, isolation: isolation, rows: before)
        try await session.execute("""
            INSERT INTO accord.region_moves (tenant, from_region, to_region, isolation, rows) VALUES ($1, $2, $3, $4, $5::jsonb)
            ON CONFLICT (tenant) DO UPDATE SET from_region = EXCLUDED.from_region, to_region = EXCLUDED.to_region,
                isolation = EXCLUDED.isolation, rows = EXCLUDED.rows, verified_at = now()
            """, [tenant, from.rawValue, to.rawValue, isolation, JSONValue.object(before.mapValues { JSONValue($0) }).canonical])
        FaultPoint.regionMoveRecorded.reach()
        // 4. The old region's copy dropped.
        try await dropSource(verified, regions)
        return verified
    }

    /// Rows a copy moves per statement.
    static let copyChunk = 5_000

    /// Copies what `query` selects (each row as its JSON) from the source
    /// transaction into `relation` in the target's, a chunk at a time
    /// through a cursor.
    static func copy(_ query: String, _ values: [String?], from source: Session, into relation: String, _ target: Session) async throws {
        try await source.execute("DECLARE region_move NO SCROLL CURSOR FOR \(query)", values)
        while true {
            let rows = try await source.rows("FETCH \(copyChunk) FROM region_move").map { try $0.decode(String.self) }
            if rows.isEmpty { break }
            try await target.execute("INSERT INTO \(relation) SELECT * FROM json_populate_recordset(NULL::\(relation), $1::json)",
                                     ["[" + rows.joined(separator: ",") + "]"])
            if rows.count < copyChunk { break }
        }
        try await source.execute("CLOSE region_move")
    }

    /// Rows of each store table and the data-key versions of a tenant in a region's database.
    static func counts(_ tenant: String, _ storeSchema: String, _ region: Region, _ regions: RegionDatabases) async throws -> [String: Int] {
        try await regions.transaction(region) { data in
            try await data.execute("SELECT set_config('accord.tenant', $1, true)", [tenant])
            var out: [String: Int] = [:]
            for table in TenantRecord.storeTables {
                out[table] = Int(try await data.scalar("""
                    SELECT count(*)::text FROM \(storeSchema).\(SQL.identifier(table)) WHERE tenant_id = $1
                    """, [tenant]) ?? "0") ?? 0
            }
            out["data_keys"] = Int(try await data.scalar("SELECT count(*)::text FROM accord.tenant_keys WHERE tenant = $1", [tenant]) ?? "0") ?? 0
            return out
        }
    }

    /// The verified move of a tenant not yet finished, if any.
    static func pending(_ tenant: String, _ session: Session) async throws -> Verified? {
        guard let row = try await session.rows("""
            SELECT from_region, to_region, isolation, rows::text FROM accord.region_moves WHERE tenant = $1
            """, [tenant]).first else { return nil }
        let (from, to, isolation, rows) = try row.decode((String, String, String, String).self)
        guard let f = Region(rawValue: from), let t = Region(rawValue: to), case .object(let counts) = try JSONParser.parse(rows) else { return nil }
        return Verified(tenant: tenant, from: f, to: t, isolation: isolation, rows: counts.compactMapValues { $0.numberValue.map { Int($0) } })
    }

    /// Step 4: the old region's stores and keys dropped (again, harmlessly).
    static func dropSource(_ move: Verified, _ regions: RegionDatabases) async throws {
        try await regions.transaction(move.from) { source in
            try await source.execute("SELECT accord.drop_stores($1, $2)", [move.tenant, move.isolation])
            try await source.execute("DELETE FROM accord.tenant_keys WHERE tenant = $1", [move.tenant])
        }
    }

    /// Finishes the verified moves a stopped pass left (steps 4 and 5),
    /// before anything is planned: the old region's copy dropped, then in
    /// one control transaction the registry's region set to where the
    /// data is, the inventory's database likewise, the move row deleted,
    /// and an audit entry with `regionMoved`. A move whose old region does
    /// not answer waits (the tenant's step finds it and fails with
    /// `RegionUnavailable`). Returns the tenants whose moves it finished.
    public static func settle(_ session: Session, revision: String?, actor: String, now: Date = Date()) async throws -> [String] {
        guard let regions = session.regions else { return [] }
        var settled: [String] = []
        for row in try await session.rows("SELECT tenant FROM accord.region_moves ORDER BY tenant") {
            guard let move = try await pending(try row.decode(String.self), session) else { continue }
            do {
                try await dropSource(move, regions)
            } catch is RegionUnavailable {
                continue
            }
            let audit = try await AuditChain.load(session, actor: actor)
            try await session.transaction(asApplier: true) {
                guard let moved = try await finish([move.tenant], session).values.first else { return }
                try await session.execute("UPDATE platform.tenants SET region = $2 WHERE name = $1", [move.tenant, move.to.rawValue])
                try await session.execute("""
                    UPDATE accord.inventory SET database = $2, updated_at = now() WHERE kind = 'Tenant' AND tenant = '' AND name = $1
                    """, [move.tenant, move.to.rawValue])
                let entry = AuditEntry(action: "update", object: "Tenant/\(move.tenant)", revision: revision, detail: .object([
                    "regionMoved": moved,
                    "finished": .string("a move verified by an earlier pass that stopped before the registry followed"),
                ]))
                try await AuditChain.write(audit.seal([entry], at: now), session)
            }
            settled.append(move.tenant)
        }
        return settled
    }

    /// Step 5's part in the control transaction: the moves of these
    /// tenants finished, each as its audit detail.
    static func finish(_ tenants: [String], _ session: Session) async throws -> [ObjectID: JSONValue] {
        guard !tenants.isEmpty else { return [:] }
        var out: [ObjectID: JSONValue] = [:]
        for row in try await session.rows("""
            DELETE FROM accord.region_moves WHERE tenant IN (SELECT json_array_elements_text($1::json))
            RETURNING tenant, from_region, to_region, rows::text
            """, [JSONValue(strings: tenants).canonical]) {
            let (tenant, from, to, rows) = try row.decode((String, String, String, String).self)
            out[ObjectID(kind: .tenant, name: tenant)] = .object(["from": .string(from), "to": .string(to), "rows": try JSONParser.parse(rows)])
        }
        return out
    }
}
