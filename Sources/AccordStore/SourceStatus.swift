import AccordCore
import Foundation

/// The repository the controller follows, as an object of its own
/// (`Source/git` in `accordctl status` and `GET /api/v1/objects`): the
/// revision last fetched, the revision last applied, and why the fetched
/// one is not applied — the fetch failed, its manifests are invalid (the
/// first errors), or the deletion guard refused its plan. The leader
/// writes it to `accord.source_status` when it changes, so every replica
/// and `accordctl` read the same.
public struct SourceStatus: Sendable, Equatable {
    /// The only source today: the controller's repository.
    public static let name = "git"

    public var url: String
    public var branch: String
    public var path: String
    public var ready: Bool
    /// `Applied`, `Fetched`, `FetchFailed`, `RevisionInvalid`, `DeletionGuardRefused`, `SignatureUnverified`,
    /// `SignerRuleRefused` or `PassFailed`.
    public var reason: StatusReason
    public var message: String
    /// An invalid revision's first errors, `file:line:col: message`.
    public var errors: [String]
    public var fetchedRevision: String?
    public var fetchedAt: Date?
    public var appliedRevision: String?
    public var appliedAt: Date?
    /// When `ready` last changed.
    public var since: Date
    /// Under a verification policy: whether the fetched commit is trusted,
    /// and by whom or why not; nil without a policy.
    public var verified: Bool?
    public var verification: String?

    public init(url: String, branch: String, path: String, ready: Bool, reason: StatusReason, message: String,
                errors: [String] = [], fetchedRevision: String? = nil, fetchedAt: Date? = nil,
                appliedRevision: String? = nil, appliedAt: Date? = nil, since: Date = Date(), verified: Bool? = nil,
                verification: String? = nil) {
        self.url = url
        self.branch = branch
        self.path = path
        self.ready = ready
        self.reason = reason
        self.message = message
        self.errors = errors
        self.fetchedRevision = fetchedRevision
        self.fetchedAt = fetchedAt
        self.appliedRevision = appliedRevision
        self.appliedAt = appliedAt
        self.since = since
        self.verified = verified
        self.verification = verification
    }

    public static var id: String { "Source/\(name)" }
    public var id: String { Self.id }

    /// How many of an invalid revision's errors are kept.
    public static let errorsKept = 5

    /// The fetched revision is not the applied one (or nothing was applied).
    public var behind: Bool { fetchedRevision != nil && fetchedRevision != appliedRevision }

    public var conditions: [Condition] {
        var out = [Condition(.ready, ConditionStatus(ready), reason: reason.rawValue, message: message)]
        if let verified {
            out.append(Condition(.sourceVerified, ConditionStatus(verified), verified ? .signatureVerified : .signatureUnverified,
                                 message: verification ?? ""))
        }
        if reason == .fetchFailed {
            out.append(Condition(.sourceUnavailable, .true, .fetchFailed, message: message))
        } else {
            out.append(Condition(.sourceUnavailable, .false, .fetched, message: "fetched \(url) at \(fetchedRevision ?? "-")"))
        }
        let refused = [.revisionInvalid, .deletionGuardRefused, .signatureUnverified, .signerRuleRefused].contains(reason)
        out.append(Condition(.stalled, ConditionStatus(refused), reason: refused ? reason.rawValue : "", message: refused ? message : ""))
        return out
    }

    /// The row `accordctl status` shows, in its columns (OBJECT, READY,
    /// STALLED, GEN, OBSERVED, APPLIED, ATTEMPTED, MESSAGE): ATTEMPTED is
    /// the revision fetched.
    public var row: [String] {
        [id, ready ? "True" : "False", conditions.holds(.stalled) ? "True" : "False", "-", "-",
         appliedRevision.map { String($0.prefix(12)) } ?? "-", fetchedRevision.map { String($0.prefix(12)) } ?? "-",
         Text.escapingControls(message)]
    }

    /// The lines under the table when the source alone is shown.
    public var details: String {
        var out = "\nsource:\n  url: \(url)\n  branch: \(branch)\n  path: \(path)\n"
        out += "  fetched: \(fetchedRevision ?? "-")\(fetchedAt.map { " at \(Self.time($0))" } ?? "")\n"
        out += "  applied: \(appliedRevision ?? "-")\(appliedAt.map { " at \(Self.time($0))" } ?? "")\n"
        out += "  since: \(Self.time(since))\n"
        if let verification { out += "  verified: \(verified == true ? "yes" : "no"): \(Text.escapingControls(verification))\n" }
        if !errors.isEmpty { out += "  errors:\n" + errors.map { "    - \(Text.escapingControls($0))\n" }.joined() }
        return out
    }

    public var json: JSONValue {
        let time = { (d: Date?) in JSONValue(d.map(Self.time)) }
        return .object([
            "id": .string(id), "kind": .string("Source"), "tenant": .null, "name": .string(Self.name),
            "url": .string(url), "branch": .string(branch), "path": .string(path),
            "fetchedRevision": JSONValue(fetchedRevision), "fetchedAt": time(fetchedAt),
            "lastAppliedRevision": JSONValue(appliedRevision), "appliedAt": time(appliedAt),
            "message": .string(message), "errors": JSONValue(strings: errors), "since": .string(Self.time(since)),
            "verified": verified.map(JSONValue.bool) ?? .null, "verification": JSONValue(verification),
            "conditions": .array(conditions.map(\.json)),
        ])
    }

    static func time(_ d: Date) -> String { Timestamp.rfc3339(epochSeconds: Int64(d.timeIntervalSince1970)) }

    /// Records the source's status (one row, replaced).
    public static func write(_ s: SourceStatus, _ session: Session) async throws {
        let epoch = { (d: Date?) in d.map { String($0.timeIntervalSince1970) } }
        try await session.execute("""
            INSERT INTO accord.source_status (name, url, branch, path, ready, reason, message, errors, fetched_revision, fetched_at,
                                              applied_revision, applied_at, since, verified, verification, updated_at)
            VALUES ($1, $2, $3, $4, $5::boolean, $6, $7, $8::jsonb, $9, to_timestamp($10::float8), $11, to_timestamp($12::float8),
                    to_timestamp($13::float8), $14::boolean, $15, now())
            ON CONFLICT (name) DO UPDATE SET url = EXCLUDED.url, branch = EXCLUDED.branch, path = EXCLUDED.path, ready = EXCLUDED.ready,
                reason = EXCLUDED.reason, message = EXCLUDED.message, errors = EXCLUDED.errors,
                fetched_revision = EXCLUDED.fetched_revision, fetched_at = EXCLUDED.fetched_at,
                applied_revision = EXCLUDED.applied_revision, applied_at = EXCLUDED.applied_at, since = EXCLUDED.since,
                verified = EXCLUDED.verified, verification = EXCLUDED.verification, updated_at = now()
            """, [name, s.url, s.branch, s.path, s.ready ? "true" : "false", s.reason.rawValue, s.message,
                  JSONValue(strings: s.errors).canonical, s.fetchedRevision, epoch(s.fetchedAt), s.appliedRevision,
                  epoch(s.appliedAt), String(s.since.timeIntervalSince1970), s.verified.map { $0 ? "true" : "false" }, s.verification])
    }

    /// The source's status, if a controller has recorded one.
    public static func read(_ session: Session) async throws -> SourceStatus? {
        guard let row = try await session.rows("""
            SELECT url, branch, path, ready, reason, message, errors::text, fetched_revision, extract(epoch FROM fetched_at)::float8,
                   applied_revision, extract(epoch FROM applied_at)::float8, extract(epoch FROM since)::float8, verified, verification
            FROM accord.source_status WHERE name = $1
            """, [name]).first else { return nil }
        let c = row.makeRandomAccess()
        let date = { (v: Double?) in v.map { Date(timeIntervalSince1970: $0) } }
        var errors: [String] = []
        if case .array(let items)? = try? JSONParser.parse(try c[6].decode(String.self)) { errors = items.compactMap(\.stringValue) }
        let reasonText = try c[4].decode(String.self)
        return SourceStatus(
            url: try c[0].decode(String.self), branch: try c[1].decode(String.self), path: try c[2].decode(String.self),
            ready: try c[3].decode(Bool.self), reason: StatusReason(rawValue: reasonText) ?? .passFailed,
            message: try c[5].decode(String.self), errors: errors,
            fetchedRevision: try c[7].decode(String?.self), fetchedAt: date(try c[8].decode(Double?.self)),
            appliedRevision: try c[9].decode(String?.self), appliedAt: date(try c[10].decode(Double?.self)),
            since: date(try c[11].decode(Double.self)) ?? Date(), verified: try c[12].decode(Bool?.self),
            verification: try c[13].decode(String?.self))
    }
}
