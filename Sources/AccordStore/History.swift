import AccordCore
import Foundation

/// `accord.revisions`: one row per applied revision (and per pass that
/// changed or failed anything), with the Merkle root of its manifests; and
/// one per revision that was not applied (`invalid`, `refused`), with why.
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
        /// Its manifests do not validate: nothing was planned or applied.
        case invalid
        /// The deletion guard refused its plan: nothing was written.
        case refused
        /// The verification policy refused its commit: nothing was read.
        case unverified

        /// The revision was never applied (`invalid`, `refused`, `unverified`).
        public var isRefusal: Bool { self == .invalid || self == .refused || self == .unverified }
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
        /// Why a refused revision was not applied.
        public let reason: String?
        /// An apply of uncommitted files: the commit they sit on.
        public let uncommittedBase: String?
        /// Under a verification policy: who signed the revision.
        public let signer: String?
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
        /// Why the revision was not applied (`invalid`, `refused`).
        public var reason: String?
        /// Uncommitted files were applied: the commit they sit on.
        public var uncommittedBase: String?
        /// Under a verification policy: who signed the revision.
        public var signer: String?

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

    /// The revision of the last recorded pass that was not refused, if any.
    public static func lastRevision(_ session: Session) async throws -> (revision: String?, root: String)? {
        let row = try await session.rows("""
            SELECT revision, merkle_root FROM accord.revisions WHERE result NOT IN ('invalid', 'refused', 'unverified') ORDER BY id DESC LIMIT 1
            """).first
        return try row.map { try $0.decode((String?, String).self) }.map { ($0.0, $0.1) }
    }

    /// Records the pass and its audit entry (`apply`, or `refuse` for a
    /// revision that was not applied) in one transaction.
    public static func record(_ pass: Pass, audit: inout AuditChain, _ session: Session) async throws {
        var fields: [String: JSONValue] = [
            "result": .string(pass.result.rawValue), "path": .string(pass.path), "merkleRoot": .string(pass.merkleRoot),
            "objects": JSONValue(pass.objects), "created": JSONValue(pass.created), "updated": JSONValue(pass.updated),
            "deleted": JSONValue(pass.deleted), "retained": JSONValue(pass.retained), "failed": JSONValue(pass.failed),
        ]
        if let reason = pass.reason { fields["reason"] = .string(reason) }
        if let base = pass.uncommittedBase { fields["uncommittedBase"] = .string(base) }
        if let signer = pass.signer { fields["signer"] = .string(signer) }
        let action = pass.result.isRefusal ? "refuse" : "apply"
        let sealed = audit.seal([AuditEntry(action: action, object: nil, revision: pass.revision, detail: .object(fields),
                                            events: events(pass))])
        try await session.transaction {
            try await AuditChain.write(sealed, session)
            try await session.execute("""
                INSERT INTO accord.revisions (revision, path, started_at, result, merkle_root, objects, created, updated,
                                              deleted, retained, failed, actor, audit_seq, reason, uncommitted_base, signer)
                VALUES ($1, $2, to_timestamp($3::float8), $4, $5, $6::int, $7::int, $8::int, $9::int, $10::int, $11::int, $12,
                        $13::bigint, $14, $15, $16)
                """, [pass.revision, pass.path, String(pass.startedAt.timeIntervalSince1970), pass.result.rawValue, pass.merkleRoot,
                      String(pass.objects), String(pass.created), String(pass.updated), String(pass.deleted),
                      String(pass.retained), String(pass.failed), pass.actor, String(sealed.head.0), pass.reason,
                      pass.uncommittedBase, pass.signer])
        }
        audit.advance(to: sealed.head)
    }

    /// What a recorded pass tells notifications: its outcome on its commit
    /// (github commit statuses; not for uncommitted files), and a commit
    /// the verification policy refused.
    static func events(_ pass: Pass) -> [OutboxEvent] {
        guard let revision = pass.revision, pass.uncommittedBase == nil else { return [] }
        var out: [OutboxEvent] = []
        let short = revision.prefix(12)
        switch pass.result {
        case .applied, .unchanged:
            out.append(OutboxEvent(.applySucceeded, object: "Revision", kind: nil, tenant: nil, revision: revision,
                                   message: "\(short) applied: \(pass.objects) objects, \(pass.created) created, \(pass.updated) updated, \(pass.deleted) deleted"))
        case .partial, .interrupted:
            out.append(OutboxEvent(.applyFailed, object: "Revision", kind: nil, tenant: nil, revision: revision,
                                   message: pass.result == .partial ? "\(short): \(pass.failed) of \(pass.objects) objects failed; the others are applied"
                                                                     : "\(short): interrupted; the rest is applied by the next pass"))
        case .invalid, .refused, .unverified:
            out.append(OutboxEvent(.applyFailed, object: "Revision", kind: nil, tenant: nil, revision: revision,
                                   message: "\(short) not applied (\(pass.result.rawValue)): \(pass.reason ?? "")"))
        }
        if pass.result == .unverified {
            out.append(OutboxEvent(.sourceVerificationFailed, object: "Source/git", kind: nil, tenant: nil, revision: revision,
                                   message: "commit \(short) is not trusted; nothing of it is read or applied: \(pass.reason ?? "")"))
        }
        return out
    }

    /// Records a revision that was not applied (`invalid`, `refused`) and
    /// its `refuse` audit entry, once: a pass that refuses the revision the
    /// last row already refused for the same reason records nothing.
    /// Returns whether it recorded.
    @discardableResult
    public static func recordRefusal(_ pass: Pass, actor: String, _ session: Session) async throws -> Bool {
        let last = try await session.rows("SELECT revision, result, coalesce(reason, '') FROM accord.revisions ORDER BY id DESC LIMIT 1")
            .first.map { try $0.decode((String?, String, String).self) }
        if let last, last.0 == pass.revision, last.1 == pass.result.rawValue, last.2 == (pass.reason ?? "") { return false }
        var audit = try await AuditChain.load(session, actor: actor)
        try await record(pass, audit: &audit, session)
        return true
    }

    public static func list(_ session: Session, limit: Int) async throws -> [Entry] {
        let rows = try await session.rows("""
            SELECT id, revision, path,
                   to_char(started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
                   to_char(finished_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
                   result, merkle_root, objects, created, updated, deleted, retained, failed, actor, audit_seq,
                   reason, uncommitted_base, signer
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
                actor: try c[13].decode(String.self), auditSeq: try c[14].decode(Int64.self),
                reason: try c[15].decode(String?.self), uncommittedBase: try c[16].decode(String?.self),
                signer: try c[17].decode(String?.self))
        }
    }
}
