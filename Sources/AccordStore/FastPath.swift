import AccordCore
import AccordEngine
import Foundation

/// The no-op check that needs neither the manifests' contents nor the live
/// rows. It holds when
///   - the manifest files (paths and git blob ids under the same --path,
///     read by the same engine format) are exactly those of the last pass
///     that completed without failures, with the same prune setting;
///   - no object has a recorded failure; and
///   - every managed row still has the live hash Accord stored when it
///     wrote or verified it (one query per kind, computed in PostgreSQL).
/// Anything else — a changed file, a failure, drift — means a full pass.
public enum FastPath {
    /// Identifies a revision's manifest files without reading them:
    /// SHA-256 over the engine format, the path, and each `path blob` line
    /// sorted by path.
    public static func listingDigest(_ entries: [(path: String, blobID: String)], path: String) -> String {
        var text = "accord-desired-format \(DesiredState.formatVersion)\npath \(path)\n"
        for e in entries.sorted(by: { $0.path.utf8.lexicographicallyPrecedes($1.path.utf8) }) {
            text += "\(e.path)\t\(e.blobID)\n"
        }
        return sha256Hex(text)
    }

    public struct State: Sendable {
        public let revision: String?
        public let objects: Int
        public let orphaned: [ObjectID]
    }

    /// The last complete pass's state when it still holds, else nil.
    public static func check(_ session: Session, digest: String, path: String, prune: Bool) async throws -> State? {
        guard let row = try await session.rows("""
            SELECT listing_digest, path, prune, revision, objects, orphaned::text FROM accord.sync_state
            """).first else { return nil }
        let (stored, storedPath, storedPrune, revision, objects, orphanedText) =
            try row.decode((String, String, Bool, String?, Int, String).self)
        guard stored == digest, storedPath == path, storedPrune == prune else { return nil }
        guard try await session.scalar("SELECT count(*)::text FROM accord.object_status") == "0" else { return nil }
        for kind in Kind.allCases {
            let keys = Registry.keyColumns(kind)
            let join = keys.map { $0 == "tenant" ? "t.tenant = i.tenant" : "t.\($0) = i.\($0)" }.joined(separator: " AND ")
            let drifted = try await session.scalar("""
                SELECT count(*)::text FROM accord.inventory i
                LEFT JOIN platform.\(Registry.table(kind)) t ON \(join)
                WHERE i.kind = $1 AND i.retained_at IS NULL
                  AND i.live_hash IS DISTINCT FROM (CASE WHEN t.name IS NULL THEN NULL ELSE \(LiveState.hashExpression(kind)) END)
                """, [kind.rawValue])
            guard drifted == "0" else { return nil }
        }
        var orphaned: [ObjectID] = []
        if case .array(let items) = try JSONParser.parse(orphanedText) {
            orphaned = items.compactMap { $0.stringValue.flatMap(ObjectID.init(parsing:)) }
        }
        return State(revision: revision, objects: objects, orphaned: orphaned)
    }

    /// Records a pass that completed without failures; any other pass
    /// clears the state so the next one is a full pass.
    public static func record(_ session: Session, digest: String?, path: String, prune: Bool, revision: String?,
                              objects: Int, orphaned: [ObjectID]) async throws {
        guard let digest else {
            try await clear(session)
            return
        }
        try await session.execute("""
            INSERT INTO accord.sync_state (id, listing_digest, path, prune, revision, objects, orphaned, updated_at)
            VALUES (true, $1, $2, $3::boolean, $4, $5::int, $6::jsonb, now())
            ON CONFLICT (id) DO UPDATE SET listing_digest = EXCLUDED.listing_digest, path = EXCLUDED.path,
                prune = EXCLUDED.prune, revision = EXCLUDED.revision, objects = EXCLUDED.objects,
                orphaned = EXCLUDED.orphaned, updated_at = now()
            """, [digest, path, prune ? "true" : "false", revision, String(objects),
                  JSONValue.array(orphaned.map { .string($0.description) }).canonical])
    }

    public static func clear(_ session: Session) async throws {
        try await session.execute("DELETE FROM accord.sync_state")
    }
}
