import AccordCore
import AccordEngine
import Foundation

/// Rotates tenant data keys older than their tenant's `keyRotationDays`
/// (SPEC §1): a new version is generated and wrapped, the old one marked
/// retired (kept for decryption), and an audit entry names both versions
/// and key ids — never the key. Runs after every apply pass, the fast path
/// included, since it depends on the time and not on git. Without a KEK a
/// due rotation stalls the tenant with that reason (its other changes
/// still apply); the next pass with a KEK rotates and clears it.
public enum KeyRotation {
    public struct Rotated: Sendable {
        public let tenant: String
        public let from: Int
        public let to: Int
    }

    public struct Outcome: Sendable {
        public var rotated: [Rotated] = []
        /// Tenants due for rotation while no KEK is configured.
        public var blocked: [String] = []

        public init() {}
    }

    /// Tenants per transaction.
    static let batchSize = 500

    public static func run(_ session: Session, kek: KeyEncryptionKey?, now: Date, revision: String?, actor: String) async throws -> Outcome {
        var outcome = Outcome()
        let due = try await TenantKeys.due(at: now, session)
        guard !due.isEmpty else {
            if kek != nil { try await clearBlocked(session) }
            return outcome
        }
        var audit = try await AuditChain.load(session, actor: actor)
        guard let kek else {
            for d in due {
                let failure = ObjectFailure(
                    id: ObjectID(kind: .tenant, name: d.tenant), action: .update, reason: .keyEncryptionKeyMissing,
                    message: "data key version \(d.version) is older than keyRotationDays (\(d.days)) and due for rotation, but no key-encryption key is configured (ACCORD_KEK_FILE or --kek-file)")
                audit = try await InventoryWriter.recordFailure(failure, action: "rotate-key", manifestHash: nil,
                                                                revision: revision, audit: audit, session)
                outcome.blocked.append(d.tenant)
            }
            return outcome
        }
        var start = 0
        while start < due.count {
            let batch = Array(due[start..<min(start + batchSize, due.count)])
            start += batchSize
            let keys = try batch.map { try TenantKeys.generate(tenant: $0.tenant, version: $0.version + 1, kek: kek) }
            let entries = zip(batch, keys).map { d, k in
                AuditEntry(action: "rotate-key", object: "Tenant/\(d.tenant)", revision: revision, detail: .object([
                    "retiredVersion": JSONValue(d.version), "version": JSONValue(k.version), "keyId": .string(k.keyID),
                    "keyRotationDays": JSONValue(d.days),
                ]))
            }
            let sealed = audit.seal(entries, at: now)
            try await session.transaction {
                try await TenantKeys.insert(keys, now: now, session)
                try await clearBlocked(session, tenants: batch.map(\.tenant))
                try await AuditChain.write(sealed, session)
            }
            audit.advance(to: sealed.head)
            outcome.rotated += batch.map { Rotated(tenant: $0.tenant, from: $0.version, to: $0.version + 1) }
        }
        try await clearBlocked(session)
        return outcome
    }

    /// Clears stalls recorded for a missing KEK on tenants that now have
    /// an active key that is not due (all tenants when `tenants` is nil).
    static func clearBlocked(_ session: Session, tenants: [String]? = nil) async throws {
        try await session.execute("""
            DELETE FROM accord.object_status s
            WHERE s.kind = 'Tenant' AND s.reason = $1
              AND ($2::json IS NULL OR s.name IN (SELECT json_array_elements_text($2::json)))
              AND ($2::json IS NOT NULL OR EXISTS (SELECT 1 FROM accord.tenant_keys k WHERE k.tenant = s.name AND k.retired_at IS NULL))
            """, [FailureReason.keyEncryptionKeyMissing.rawValue, tenants.map { JSONValue(strings: $0).canonical }])
    }
}
