import AccordCore
import Foundation

/// `accord.revisions`: one row per applied revision (and per pass that
/// changed or failed anything), with the Merkle root of its manifests.
public enum History {
    public enum Result: String, Sendable, Codable {
        /// Every object is as git says.
        case applied
        /// Some objects failed; the others were applied.
        case partial
        /// Nothing needed a change.
        case unchanged
        /// Stopped at shutdown between two transactions: what it applied
        /// is whole, the objects it did not reach wait for the next pass.
        case interrupted
    }

    public struct Entry: Sendable, Codable {
        public let id: Int64
        public let revision: String?
        public let path: String
        public let startedAt: String
        public let finishedAt: String
        public let result: Result
        public let merkleRoot: String
        public let objects: Int
        public let created: Int
        public let updated: Int
        public let deleted: Int
        public let retained: Int
        public let failed: Int
        public let actor: String
        public let auditSeq: Int64
    }

    public struct Pass: Sendable {
        public var revision: String?
        public var path: String
        public var startedAt: Date
        public var result: Result
        public var merkleRoot: String
        public var objects: Int
        public var created = 0, updated = 0, deleted = 0, retained = 0, failed = 0
        public var actor: String

        public init(revision: String?, path: String, startedAt: Date, result: Result, merkleRoot: String, objects: Int, actor: String) {
            self.revision = revision
            self.path = path
            self.startedAt = startedAt
            self.result = result
            self.merkleRoot = merkleRoot
            self.objects = objects
            self.actor = actor
        }
    }

    /// The revision of the last recorded pass, if any.
    public static func lastRevision(_ session: Session) async throws -> (revision: String?, root: String)? {
        let row = try await session.rows("SELECT revision, merkle_root FROM accord.revisions ORDER BY id DESC LIMIT 1").first
        return try row.map { try $0.decode((String?, String).self) }.map { ($0.0, $0.1) }
    }

    /// Records the pass and its audit entry in one transaction.
    public static func record(_ pass: Pass, audit: inout AuditChain, _ session: Session) async throws {
        let detail: JSONValue = .object([
            "result": .string(pass.result.rawValue), "path": .string(pass.path), "merkleRoot": .string(pass.merkleRoot),
            "objects": JSONValue(pass.objects), "created": JSONValue(pass.created), "updated": JSONValue(pass.updated),
            "deleted": JSONValue(pass.deleted), "retained": JSONValue(pass.retained), "failed": JSONValue(pass.failed),
        ])
        let sealed = audit.seal([AuditEntry(action: "apply", object: nil, revision: pass.revision, detail: detail)])
        try await session.transaction {
            try await AuditChain.write(sealed, session)
            try await session.execute("""
                INSERT INTO accord.revisions (revision, path, started_at, result, merkle_root, objects, created, updated,
                                              deleted, retained, failed, actor, audit_seq)
                VALUES ($1, $2, to_timestamp($3::float8), $4, $5, $6::int, $7::int, $8::int, $9::int, $10::int, $11::int, $12, $13::bigint)
                """, [pass.revision, pass.path, String(pass.startedAt.timeIntervalSince1970), pass.result.rawValue, pass.merkleRoot,
                      String(pass.objects), String(pass.created), String(pass.updated), String(pass.deleted),
                      String(pass.retained), String(pass.failed), pass.actor, String(sealed.head.0)])
        }
        audit.advance(to: sealed.head)
    }

    public static func list(_ session: Session, limit: Int) async throws -> [Entry] {
        let rows = try await session.rows("""
            SELECT id, revision, path,
                   to_char(started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
                   to_char(finished_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
                   result, merkle_root, objects, created, updated, deleted, retained, failed, actor, audit_seq
            FROM accord.revisions ORDER BY id DESC LIMIT $1::int
            """, [String(limit)])
        return try rows.map { row in
            let c = row.makeRandomAccess()
            return Entry(
                id: try c[0].decode(Int64.self), revision: try c[1].decode(String?.self), path: try c[2].decode(String.self),
                startedAt: try c[3].decode(String.self), finishedAt: try c[4].decode(String.self),
                result: Result(rawValue: try c[5].decode(String.self)) ?? .partial, merkleRoot: try c[6].decode(String.self),
                objects: try c[7].decode(Int.self), created: try c[8].decode(Int.self), updated: try c[9].decode(Int.self),
                deleted: try c[10].decode(Int.self), retained: try c[11].decode(Int.self), failed: try c[12].decode(Int.self),
                actor: try c[13].decode(String.self), auditSeq: try c[14].decode(Int64.self))
        }
    }
}
