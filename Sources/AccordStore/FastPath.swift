import AccordCore
import AccordEngine
import Foundation

/// The no-op check that needs neither the manifests' contents nor the live
/// rows. It holds when
///   - the manifest files (paths and git blob ids under the same --path,
///     read by the same engine format) are exactly those of the last pass
///     that completed without failures, with the same prune setting;
///   - no object has a recorded failure; and
///   - nothing but Accord has written to a `platform` table since that
///     pass began: every table carries a statement trigger that advances
///     the sequence `accord.platform_writes` for any insert, update, delete
///     or truncate not made by Accord's applier; and
///   - the tenant store tables are the same tables, equally protected
///     (`TenantStores.catalogDigest`).
/// Anything else — a changed file, a failure, a write from outside — means
/// a full pass, which finds the drift row by row. `apply --full` skips the
/// check (a write made with triggers disabled is invisible to it).
public enum FastPath {
    public struct State: Sendable {
        public let digest: String
        public let revision: String?
        public let objects: Int
        public let orphaned: [ObjectID]
        /// The marker read to prove the state holds: a pass that goes on
        /// from this state takes it as the marker read before it.
        public let marker: Marker
    }

    /// What tells a later pass that nothing changed the live state meanwhile.
    public struct Marker: Sendable, Equatable {
        /// How many outside writes to `platform` have happened so far.
        public var writes: Int64
        /// `TenantStores.catalogDigest`: the store tables as they are.
        public var stores: String
    }

    public static func marker(_ session: Session) async throws -> Marker {
        Marker(writes: try await outsideWrites(session), stores: try await TenantStores.catalogDigest(session))
    }

    /// How many outside writes to `platform` have happened so far.
    public static func outsideWrites(_ session: Session) async throws -> Int64 {
        guard let row = try await session.rows("SELECT last_value, is_called FROM accord.platform_writes").first else { return 0 }
        let (value, called) = try row.decode((Int64, Bool).self)
        return called ? value : 0
    }

    /// The last complete pass's state when it still holds, else nil.
    public static func check(_ session: Session, digest: String, path: String, prune: Bool) async throws -> State? {
        guard let state = try await base(session, path: path, prune: prune), state.digest == digest else { return nil }
        return state
    }

    /// The last complete pass's state when, whatever the files now are, the
    /// live state is still exactly what it left: same path and prune
    /// setting, no outside write, no failure. The base of incremental passes.
    ///
    /// With `heardSince`, outside writes are allowed when every one made
    /// since that pass began was notified to a listener (`DriftNotices`)
    /// that started listening when the count stood at `heardSince`: the
    /// base of a targeted pass, which reverts exactly the objects notified.
    public static func base(_ session: Session, path: String, prune: Bool, heardSince: Int64? = nil) async throws -> State? {
        guard let row = try await session.rows("""
            SELECT listing_digest, path, prune, revision, objects, orphaned::text, platform_writes, stores_digest
            FROM accord.sync_state
            """).first else { return nil }
        let (stored, storedPath, storedPrune, revision, objects, orphanedText, writes, stores) =
            try row.decode((String, String, Bool, String?, Int, String, Int64, String).self)
        guard storedPath == path, storedPrune == prune else { return nil }
        let now = try await marker(session)
        if let heardSince {
            guard now.stores == stores, writes >= heardSince else { return nil }
        } else {
            guard now == Marker(writes: writes, stores: stores) else { return nil }
        }
        // Erasure runs report into object_status too, but they are not part of
        // the plan: they are retried after every pass, the fast path included;
        // an object whose drift reverts back off is reverted by a later pass.
        guard try await session.scalar("""
            SELECT count(*)::text FROM accord.object_status WHERE NOT (reason = ANY ($1::text[]))
            """, ["{" + FailureReason.allCases.filter(\.keepsBase).map(\.rawValue).joined(separator: ",") + "}"]) == "0" else { return nil }
        var orphaned: [ObjectID] = []
        if case .array(let items) = try JSONParser.parse(orphanedText) {
            orphaned = items.compactMap { $0.stringValue.flatMap(ObjectID.init(parsing:)) }
        }
        return State(digest: stored, revision: revision, objects: objects, orphaned: orphaned, marker: now)
    }

    /// Records a pass that completed without failures; `marker` was read
    /// before the pass read the live state, so a write during the pass
    /// makes the next check fail. (A pass that itself created or dropped
    /// stores records the store digest read after it.)
    public static func record(_ session: Session, digest: String?, path: String, prune: Bool, revision: String?,
                              objects: Int, orphaned: [ObjectID], marker: Marker) async throws {
        guard let digest else {
            try await clear(session)
            return
        }
        try await session.execute("""
            INSERT INTO accord.sync_state (id, listing_digest, path, prune, revision, objects, orphaned, platform_writes,
                                           stores_digest, updated_at)
            VALUES (true, $1, $2, $3::boolean, $4, $5::int, $6::jsonb, $7::bigint, $8, now())
            ON CONFLICT (id) DO UPDATE SET listing_digest = EXCLUDED.listing_digest, path = EXCLUDED.path,
                prune = EXCLUDED.prune, revision = EXCLUDED.revision, objects = EXCLUDED.objects,
                orphaned = EXCLUDED.orphaned, platform_writes = EXCLUDED.platform_writes,
                stores_digest = EXCLUDED.stores_digest, updated_at = now()
            """, [digest, path, prune ? "true" : "false", revision, String(objects),
                  JSONValue.array(orphaned.map { .string($0.description) }).canonical, String(marker.writes), marker.stores])
    }

    /// Forgets the last complete pass before a pass writes anything: a pass
    /// killed midway must never leave the fast path (or an incremental
    /// pass) trusting state it changed. The pass records it again when it
    /// completes. (Accord's own writes do not move the outside-writes
    /// counter, so without this a killed pass would go unnoticed.)
    public static func invalidate(_ session: Session) async throws {
        try await session.execute("DELETE FROM accord.sync_state")
    }

    public static func clear(_ session: Session) async throws {
        try await session.execute("DELETE FROM accord.sync_state")
        try await session.execute("DELETE FROM accord.merkle_buckets")
    }

    /// The bucket roots of the last complete pass's manifests (see `Merkle`).
    public static func merkleBuckets(_ session: Session) async throws -> [Int: String] {
        var out: [Int: String] = [:]
        for row in try await session.rows("SELECT bucket, root FROM accord.merkle_buckets") {
            let (bucket, root) = try row.decode((Int, String).self)
            out[bucket] = root
        }
        return out
    }

    /// Writes bucket roots; `replacing` removes every other bucket first,
    /// `emptied` removes the listed ones.
    public static func storeMerkleBuckets(_ roots: [Int: String], replacing: Bool, emptied: [Int] = [], _ session: Session) async throws {
        try await session.transaction {
            if replacing {
                // Every bucket anew (a full pass: up to 4,096 rows): by COPY.
                try await session.execute("DELETE FROM accord.merkle_buckets")
                var copy = CopyRows(capacity: roots.count * 72)
                for (bucket, root) in roots {
                    copy.text(String(bucket))
                    copy.text(root)
                    copy.endRow()
                }
                try await session.copy(into: "accord", "merkle_buckets", columns: ["bucket", "root"], copy)
                return
            }
            let rows = JSONValue.array(roots.map { .object(["bucket": JSONValue($0.key), "root": .string($0.value)]) }).canonical
            try await session.execute("""
                DELETE FROM accord.merkle_buckets WHERE bucket IN (SELECT json_array_elements_text($1::json)::int)
                """, [JSONValue.array(emptied.map { JSONValue($0) }).canonical])
            try await session.execute("""
                INSERT INTO accord.merkle_buckets (bucket, root)
                SELECT bucket, root FROM json_to_recordset($1::json) AS x(bucket int, root text)
                ON CONFLICT (bucket) DO UPDATE SET root = EXCLUDED.root
                """, [rows])
        }
    }
}
