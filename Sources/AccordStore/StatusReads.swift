import AccordCore
import AccordEngine
import Foundation

/// What the status page reads beyond objects' statuses: models with their
/// production and shadow versions and the last promotions, erasure
/// certificates. Each read is bounded (one row per model, a limit on
/// entries), never every object.
public enum StatusReads {
    public struct Model: Sendable {
        public let name: String
        public let production: String?
        public let shadow: String?
        public let shadowTrafficPercent: Double?
        public let versions: [String]
    }

    /// Every model, by name, with its registered versions in order.
    public static func models(_ session: Session) async throws -> [Model] {
        try await session.rows("""
            SELECT m.name, m.production_version, m.shadow_version, m.shadow_traffic_percent,
                   coalesce((SELECT string_agg(v.version, ' ' ORDER BY v.created_at, v.version) FROM platform.model_versions v
                             WHERE v.model = m.name), '')
            FROM platform.models m ORDER BY m.name
            """).map { row in
            let (name, production, shadow, percent, versions) = try row.decode((String, String?, String?, Double?, String).self)
            return Model(name: name, production: production, shadow: shadow, shadowTrafficPercent: percent,
                         versions: versions.split(separator: " ").map(String.init))
        }
    }

    /// The newest audit entries that moved or held a model's production
    /// version (`promotion` in an update's detail, or a failed update), newest first.
    public static func promotions(limit: Int, _ session: Session) async throws -> [AuditChain.Recorded] {
        try await session.rows("""
            SELECT seq, body FROM accord.audit_log
            WHERE object LIKE 'Model/%' AND (action = 'update-failed' OR (body::jsonb -> 'detail') ? 'promotion')
            ORDER BY seq DESC LIMIT $1::int
            """, [String(limit)]).map { row in
            let (seq, body) = try row.decode((Int64, String).self)
            return AuditChain.Recorded(seq: seq, body: (try? JSONParser.parse(body)) ?? .object([:]))
        }
    }

    public struct Certificate: Sendable {
        public let tenant: String
        public let name: String
        /// SHA-256 of the certificate's canonical JSON (as its `erase` audit entry records it).
        public let sha256: String
        public let keyFingerprint: String
        public let issuedAt: Date
        public var id: ObjectID { ObjectID(kind: .erasure, tenant: tenant, name: name) }
    }

    /// Certificates, newest first: of one erasure, or the last `limit`.
    public static func certificates(of id: ObjectID? = nil, limit: Int, _ session: Session) async throws -> [Certificate] {
        try await session.rows("""
            SELECT tenant, name, certificate, key_fingerprint, extract(epoch FROM issued_at)::float8 FROM accord.erasure_certificates
            WHERE $1::text IS NULL OR (tenant = $1 AND name = $2)
            ORDER BY issued_at DESC, tenant, name LIMIT $3::int
            """, [id?.tenant, id?.name, String(limit)]).map { row in
            let (tenant, name, certificate, fingerprint, issued) = try row.decode((String, String, String, String, Double).self)
            return Certificate(tenant: tenant, name: name, sha256: sha256Hex(certificate), keyFingerprint: fingerprint,
                               issuedAt: Date(timeIntervalSince1970: issued))
        }
    }
}
