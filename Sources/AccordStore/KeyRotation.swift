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
        let due = try await TenantKeys.activeKeys(at: now, dueOnly: true, session)
        // Stalls for a missing KEK clear on tenants whose active key is not
        // due: of the tenants stalled so (almost always none), those.
        let stalled = try await blockedTenants(session)
        let current = stalled.isEmpty ? [] : try await TenantKeys.activeKeys(at: now, of: stalled, session).filter { !$0.due }.map(\.tenant)
        guard !due.isEmpty else {
            if kek != nil { try await clearBlocked(session, tenants: current) }
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
        // Each region's tenants in batches of their own: a batch's keys go to one database, then its audit entries.
        var byRegion: [Region?: [(tenant: String, version: Int, days: Int, due: Bool, region: Region?)]] = [:]
        for d in due { byRegion[session.regions == nil ? nil : d.region, default: []].append(d) }
        for (region, share) in byRegion.sorted(by: { ($0.key?.rawValue ?? "") < ($1.key?.rawValue ?? "") }) {
            for batch in ExecutionOrder.chunks(share, of: batchSize) {
                let keys = try batch.map { try TenantKeys.generate(tenant: $0.tenant, version: $0.version + 1, kek: kek) }
                let entries = zip(batch, keys).map { d, k in
                    AuditEntry(action: "rotate-key", object: "Tenant/\(d.tenant)", revision: revision, detail: .object([
                        "retiredVersion": JSONValue(d.version), "version": JSONValue(k.version), "keyId": .string(k.keyID),
                        "keyRotationDays": JSONValue(d.days),
                    ]))
                }
                let sealed = audit.seal(entries, at: now)
                do {
                    try await session.dataThenControl(region, data: { data in
                        try await TenantKeys.insert(keys, now: now, data)
                    }, control: { _ in
                        try await clearBlocked(session, tenants: batch.map(\.tenant))
                        try await AuditChain.write(sealed, session)
                    })
                } catch is RegionUnavailable {
                    continue // the plan reports the region; the keys rotate once it answers
                }
                audit.advance(to: sealed.head)
                outcome.rotated += batch.map { Rotated(tenant: $0.tenant, from: $0.version, to: $0.version + 1) }
            }
        }
        try await clearBlocked(session, tenants: current)
        return outcome
    }

    /// The tenants stalled for a missing KEK.
    static func blockedTenants(_ session: Session) async throws -> [String] {
        try await session.rows("""
            SELECT s.name FROM accord.object_status s WHERE s.kind = 'Tenant' AND s.reason = $1 ORDER BY s.name
            """, [FailureReason.keyEncryptionKeyMissing.rawValue]).map { try $0.decode(String.self) }
    }

    /// Clears stalls recorded for a missing KEK on the given tenants.
    static func clearBlocked(_ session: Session, tenants: [String]) async throws {
        guard !tenants.isEmpty else { return }
        try await session.execute("""
            DELETE FROM accord.object_status s
            WHERE s.kind = 'Tenant' AND s.reason = $1 AND s.name IN (SELECT json_array_elements_text($2::json))
            """, [FailureReason.keyEncryptionKeyMissing.rawValue, JSONValue(strings: tenants).canonical])
    }
}
