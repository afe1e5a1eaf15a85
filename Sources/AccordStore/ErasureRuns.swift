import AccordCore
import AccordEngine
import Foundation

/// The durable state of erasures (SPEC §1 Erasure, §8): its parts, each
/// an idempotent step the pass (`AccordSync.ErasureRunner`) runs in order.
///
/// 1. `erasePostgres`: in one transaction, the subject's rows are deleted
///    from the tenant's tables and re-counted, the counts recorded, and a
///    job created for each external store of the tenant (`StoreJobs`).
/// 2. Each store's job runs outside PostgreSQL, with its own retries.
/// 3. `issueCertificate`: in one transaction, once every job is verified,
///    the signed certificate is stored and the erasure marked completed,
///    with its audit entry. A completed erasure has a certificate row
///    keyed by tenant and name, so it never runs again (not after its
///    manifest leaves git and comes back, not under two appliers).
///
/// A failed PostgreSQL part rolls back entirely, is marked `failed` with
/// the reason and retried with backoff. The SLA stages are audited as
/// each threshold is crossed.
public enum ErasureRuns {
    public struct Completed: Sendable {
        public let id: ObjectID
        public let deleted: Int
        /// The certificate's identity: the SHA-256 of its canonical JSON,
        /// as its `erase` audit entry records it.
        public let certificateSha256: String
        public init(id: ObjectID, deleted: Int, certificateSha256: String) {
            self.id = id
            self.deleted = deleted
            self.certificateSha256 = certificateSha256
        }
    }

    public struct Outcome: Sendable {
        public var completed: [Completed] = []
        public var failed: [ObjectFailure] = []
        /// Open erasures waiting for a signing key.
        public var blocked: [ObjectID] = []
        /// Erasures that crossed an SLA threshold in this pass.
        public var escalated: [(id: ObjectID, stage: ErasureSLA.Stage)] = []
        /// Erasures whose PostgreSQL part is done and that wait for
        /// external stores: which stores, in which state.
        public var waiting: [(id: ObjectID, stores: [String])] = []
        /// Store jobs that failed in this pass, each with its error.
        public var storeFailures: [(id: ObjectID, store: String, error: String)] = []

        public init() {}
    }

    public struct Open: Sendable {
        public let tenant: String
        public let name: String
        public let subject: String
        public let requestedAt: Date
        public let legalBasis: String
        public let isolation: String?
        /// The tenant's region: where its data is (SPEC §9).
        public let region: Region?
        public let attempts: Int
        public let nextAttemptAt: Date?
        public let stage: ErasureSLA.Stage
        /// When the PostgreSQL part was done; nil before.
        public let postgresErasedAt: Date?
        public var id: ObjectID { ObjectID(kind: .erasure, tenant: tenant, name: name) }
    }

    /// Backoff after the n-th failed attempt: 1 min doubling, at most 1 h.
    public static func backoff(afterAttempts n: Int) -> TimeInterval {
        min(3600, 60 * pow(2, Double(max(0, n - 1))))
    }

    /// Audits each SLA threshold an open erasure crossed since the last pass
    /// (one entry per threshold, even when a late pass crosses several).
    public static func advanceSLA(_ e: Open, now: Date, revision: String?, audit: inout AuditChain,
                                  _ session: Session) async throws -> [ErasureSLA.Stage] {
        let stage = ErasureSLA.stage(requestedAt: e.requestedAt, now: now)
        guard stage > e.stage else { return [] }
        let crossed = ErasureSLA.Stage.allCases.filter { $0 > e.stage && $0 <= stage }
        let entries = crossed.map { crossed in
            AuditEntry(action: "erasure-sla", object: e.id.description, revision: revision, detail: .object([
                "stage": .string(crossed.rawValue), "meaning": .string(crossed.meaning),
                "requestedAt": .string(Timestamp.rfc3339(epochSeconds: Int64(e.requestedAt.timeIntervalSince1970))),
                "due": .string(Timestamp.rfc3339(epochSeconds: Int64(ErasureSLA.due(requestedAt: e.requestedAt).timeIntervalSince1970))),
                "crossedAt": .string(Timestamp.rfc3339(epochSeconds: Int64(e.requestedAt.addingTimeInterval(crossed.hours * 3600).timeIntervalSince1970))),
            ]), events: slaEvent(e, crossed, revision: revision).map { [$0] } ?? [])
        }
        let sealed = audit.seal(entries, at: now)
        try await session.transaction {
            try await session.execute("""
                INSERT INTO accord.erasure_runs (tenant, name, sla_stage) VALUES ($1, $2, $3)
                ON CONFLICT (tenant, name) DO UPDATE SET sla_stage = EXCLUDED.sla_stage
                """, [e.tenant, e.name, stage.rawValue])
            try await AuditChain.write(sealed, session)
        }
        audit.advance(to: sealed.head)
        return crossed
    }

    /// The notification event of an SLA threshold crossed.
    static func slaEvent(_ e: Open, _ stage: ErasureSLA.Stage, revision: String?) -> OutboxEvent? {
        let event: NotificationEvent
        switch stage {
        case .onTime: return nil
        case .warning: event = .erasureSLAWarning
        case .escalation: event = .erasureSLAEscalated
        case .overdue: event = .erasureOverdue
        }
        let due = Timestamp.rfc3339(epochSeconds: Int64(ErasureSLA.due(requestedAt: e.requestedAt).timeIntervalSince1970))
        return OutboxEvent(event, e.id, revision: revision, message: "\(e.id) is \(stage.meaning) (due \(due))",
                           detail: ["stage": .string(stage.rawValue), "due": .string(due)])
    }

    /// Records that an erasure waits for a signing key.
    public static func recordBlocked(_ e: Open, revision: String?, audit: inout AuditChain, _ session: Session) async throws {
        let failure = ObjectFailure(id: e.id, action: .update, reason: .signingKeyMissing,
                                    message: "no signing key is configured (ACCORD_SIGNING_KEY_FILE or --signing-key-file), so the erasure's certificate cannot be signed; the erasure runs once one is")
        audit = try await InventoryWriter.recordFailure(failure, action: "erase", manifestHash: nil, revision: revision,
                                                        audit: audit, session)
    }

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// Managed erasures without a certificate, with their tenant's isolation.
    public static func openErasures(_ session: Session) async throws -> [Open] {
        try await session.rows("""
            SELECT e.tenant, e.name, e.subject_email_hash, extract(epoch FROM e.requested_at)::float8, e.legal_basis,
                   t.isolation, t.region, coalesce(r.attempts, 0), extract(epoch FROM r.next_attempt_at)::float8, coalesce(r.sla_stage, 'on-time'),
                   extract(epoch FROM r.postgres_erased_at)::float8
            FROM platform.erasures e
            JOIN accord.inventory i ON i.kind = 'Erasure' AND i.tenant = e.tenant AND i.name = e.name
            LEFT JOIN platform.tenants t ON t.name = e.tenant
            LEFT JOIN accord.erasure_runs r ON r.tenant = e.tenant AND r.name = e.name
            WHERE NOT EXISTS (SELECT 1 FROM accord.erasure_certificates c WHERE c.tenant = e.tenant AND c.name = e.name)
            ORDER BY e.requested_at, e.tenant, e.name
            """).map { row in
            let (tenant, name, subject, requested, basis, isolation, region, attempts, next, stage, erased) =
                try row.decode((String, String, String, Double, String, String?, String?, Int, Double?, String, Double?).self)
            return Open(tenant: tenant, name: name, subject: subject, requestedAt: Date(timeIntervalSince1970: requested),
                        legalBasis: basis, isolation: isolation, region: region.flatMap(Region.init(rawValue:)), attempts: attempts,
                        nextAttemptAt: next.map { Date(timeIntervalSince1970: $0) },
                        stage: ErasureSLA.Stage(rawValue: stage) ?? .onTime,
                        postgresErasedAt: erased.map { Date(timeIntervalSince1970: $0) })
        }
    }

    /// The PostgreSQL part, in one transaction: `running`, the deletes and
    /// the re-check, the counts recorded, a job for each external store of
    /// the tenant, and the audit entry. Returns the rows deleted. The row
    /// lock on the erasure makes a second run impossible even if two
    /// sessions got here.
    public static func erasePostgres(_ e: Open, now: Date, revision: String?, audit: inout AuditChain,
                                     _ session: Session) async throws -> Int {
        guard let isolation = e.isolation else {
            throw Failure(description: "Tenant/\(e.tenant) has no live row, so its stores cannot be searched")
        }
        try await session.transaction(asApplier: true) {
            try await session.execute("""
                UPDATE platform.erasures SET status = 'running', updated_at = now() WHERE tenant = $1 AND name = $2 AND status <> 'running'
                """, [e.tenant, e.name])
        }
        let chain = audit
        let regional = session.regions != nil
        // The deletes and their re-count run in the tenant's data database
        // (its region's, with a regions file), then the record of them here.
        let (sealed, deleted) = try await session.dataThenControl(e.region, asApplier: true, data: { data -> ErasedRows in
            var tables: [ErasureCertificate.Store] = []
            for row in try await data.rows("SELECT store, relation, deleted, remaining FROM accord.erase_subject($1, $2, $3)",
                                           [e.tenant, isolation, e.subject]) {
                let (store, relation, deleted, remaining) = try row.decode((String, String, Int, Int).self)
                tables.append(.init(store: store, relation: relation, deleted: deleted, remaining: remaining))
            }
            let transaction = try await data.scalar("SELECT txid_current()::text") ?? ""
            guard regional else { return ErasedRows(tables: tables, transaction: transaction) }
            // Counted with earlier attempts whose record here did not follow.
            let json = JSONValue.object(Dictionary(uniqueKeysWithValues: tables.map { ($0.relation, JSONValue($0.deleted)) })).canonical
            let total = try await data.scalar("""
                INSERT INTO accord.erasure_deletions AS d (tenant, name, subject_email_hash, requested_at, deleted)
                VALUES ($1, $2, $3, to_timestamp($4::float8), $5::jsonb)
                ON CONFLICT (tenant, name, subject_email_hash, requested_at) DO UPDATE SET deleted = (
                    SELECT jsonb_object_agg(k, coalesce((d.deleted->>k)::bigint, 0) + coalesce((EXCLUDED.deleted->>k)::bigint, 0))
                    FROM (SELECT jsonb_object_keys(d.deleted) UNION SELECT jsonb_object_keys(EXCLUDED.deleted)) AS keys(k))
                RETURNING d.deleted::text
                """, [e.tenant, e.name, e.subject, String(e.requestedAt.timeIntervalSince1970), json]) ?? json
            let summed = try JSONParser.parse(total)
            tables = tables.map { t in
                .init(store: t.store, relation: t.relation, deleted: summed[t.relation]?.numberValue.map { Int($0) } ?? t.deleted, remaining: t.remaining)
            }
            return ErasedRows(tables: tables, transaction: transaction)
        }, control: { erased -> (AuditChain.Sealed, Int) in
            let locked = try await session.rows("""
                SELECT 1 FROM platform.erasures e WHERE e.tenant = $1 AND e.name = $2
                  AND NOT EXISTS (SELECT 1 FROM accord.erasure_certificates c WHERE c.tenant = e.tenant AND c.name = e.name)
                  AND NOT EXISTS (SELECT 1 FROM accord.erasure_runs r WHERE r.tenant = e.tenant AND r.name = e.name
                                                                        AND r.postgres_erased_at IS NOT NULL)
                FOR UPDATE
                """, [e.tenant, e.name])
            guard !locked.isEmpty else { throw Failure(description: "the erasure was completed, removed or run meanwhile") }
            let tables = erased.tables
            var result: [String: JSONValue] = [
                "transaction": .string(erased.transaction), "isolation": .string(isolation),
                "tables": .array(tables.map { t in
                    .object(["store": .string(t.store), "relation": .string(t.relation), "deleted": JSONValue(t.deleted),
                             "remaining": JSONValue(t.remaining)])
                }),
            ]
            if regional, let region = e.region { result["region"] = .string(region.rawValue) }
            try await session.execute("""
                INSERT INTO accord.erasure_runs (tenant, name, attempts, postgres_erased_at, postgres_result)
                VALUES ($1, $2, $3::int, to_timestamp($4::float8), $5::jsonb)
                ON CONFLICT (tenant, name) DO UPDATE SET attempts = EXCLUDED.attempts, last_error = NULL, next_attempt_at = NULL,
                    postgres_erased_at = EXCLUDED.postgres_erased_at, postgres_result = EXCLUDED.postgres_result
                """, [e.tenant, e.name, String(e.attempts + 1), String(now.timeIntervalSince1970), JSONValue.object(result).canonical])
            // A job for each external store of the tenant, as the registry has it now, each with a
            // request id of its own: random, so that no other erasure (in another database, or this
            // one's name used again) ever shares it, and kept with the job, so every attempt sends it.
            let stores = try await session.rows("""
                INSERT INTO accord.erasure_store_jobs (tenant, name, store, store_type, endpoint, state, request_id)
                SELECT $1, $2, s.name, s.type, s.endpoint, 'pending', 'accord-' || replace(gen_random_uuid()::text, '-', '')
                FROM platform.tenants t, jsonb_array_elements_text(t.external_stores) AS x(store)
                JOIN platform.stores s ON s.name = x.store
                WHERE t.name = $1
                ON CONFLICT (tenant, name, store) DO NOTHING
                RETURNING store
                """, [e.tenant, e.name]).map { try $0.decode(String.self) }
            try await InventoryWriter.clearFailures([e.id], session)
            let total = tables.reduce(0) { $0 + $1.deleted }
            let entry = AuditEntry(action: "erase-postgres", object: e.id.description, revision: revision, detail: .object([
                "tables": .object(Dictionary(uniqueKeysWithValues: tables.map { ($0.store, JSONValue($0.deleted)) })),
                "deleted": JSONValue(total), "externalStores": JSONValue(strings: stores.sorted()),
            ]))
            let sealed = chain.seal([entry], at: now)
            try await AuditChain.write(sealed, session)
            return (sealed, total)
        })
        audit.advance(to: sealed.head)
        if regional, let region = e.region {
            // Recorded here: the running count is no longer needed (left, it is keyed to this request only).
            _ = try? await session.regions?.transaction(region) { data in
                try await data.execute("""
                    DELETE FROM accord.erasure_deletions WHERE tenant = $1 AND name = $2 AND subject_email_hash = $3
                      AND requested_at = to_timestamp($4::float8)
                    """, [e.tenant, e.name, e.subject, String(e.requestedAt.timeIntervalSince1970)])
            }
        }
        return deleted
    }

    /// What the deletes in the tenant's data database did.
    struct ErasedRows: Sendable {
        let tables: [ErasureCertificate.Store]
        let transaction: String
    }

    /// Issues the certificate once the PostgreSQL part is done and every
    /// store's job is verified, in one transaction with the erasure marked
    /// completed and the audit entry. nil when a job is not verified yet.
    public static func issueCertificate(_ e: Open, key: SigningKey, now: Date, revision: String?, audit: inout AuditChain,
                                        _ session: Session) async throws -> Completed? {
        let chain = audit
        let issued = try await session.transaction(asApplier: true) { () -> (AuditChain.Sealed, Completed)? in
            guard let row = try await session.rows("""
                SELECT r.postgres_result::text FROM platform.erasures e
                JOIN accord.erasure_runs r ON r.tenant = e.tenant AND r.name = e.name AND r.postgres_erased_at IS NOT NULL
                WHERE e.tenant = $1 AND e.name = $2
                  AND NOT EXISTS (SELECT 1 FROM accord.erasure_certificates c WHERE c.tenant = e.tenant AND c.name = e.name)
                FOR UPDATE OF e
                """, [e.tenant, e.name]).first else { return nil }
            guard case .object(let result)? = try? JSONParser.parse(try row.decode(String.self)) else {
                throw Failure(description: "the recorded result of the PostgreSQL part cannot be read")
            }
            let jobs = try await StoreJobs.jobs(of: [e.id], session)
            guard jobs.allSatisfy({ $0.state == .verified }) else { return nil }
            let tables: [ErasureCertificate.Store] = (result["tables"]?.arrayValue ?? []).compactMap { t in
                guard let store = t["store"]?.stringValue, let relation = t["relation"]?.stringValue,
                      let deleted = t["deleted"]?.numberValue, let remaining = t["remaining"]?.numberValue else { return nil }
                return .init(store: store, relation: relation, deleted: Int(deleted), remaining: Int(remaining))
            }
            var facts = ErasureCertificate.Facts(
                tenant: e.tenant, erasure: e.name, subjectEmailHash: e.subject, legalBasis: e.legalBasis,
                isolation: result["isolation"]?.stringValue ?? e.isolation ?? "", stores: tables, requestedAt: e.requestedAt,
                completedAt: now, revision: revision, transaction: result["transaction"]?.stringValue ?? "")
            facts.external = jobs.map {
                ErasureCertificate.ExternalStore(name: $0.store, type: $0.storeType, endpoint: $0.endpoint, deleted: $0.deleted,
                                                 verifiedAt: $0.verifiedAt ?? now, requestID: $0.requestID)
            }
            let issued = try ErasureCertificate.issue(facts, key: key)
            try await session.execute("""
                INSERT INTO accord.erasure_certificates (tenant, name, certificate, signature, evidence, key_fingerprint, public_key, issued_at)
                VALUES ($1, $2, $3, $4, $5, $6, $7, to_timestamp($8::float8))
                """, [e.tenant, e.name, issued.certificate, issued.signature, issued.evidence, issued.keyFingerprint,
                      issued.publicKeyPEM, String(now.timeIntervalSince1970)])
            try await session.execute("""
                UPDATE platform.erasures SET status = 'completed', completed_at = to_timestamp($3::float8), updated_at = now()
                WHERE tenant = $1 AND name = $2
                """, [e.tenant, e.name, String(now.timeIntervalSince1970)])
            try await session.execute("""
                UPDATE accord.erasure_runs SET last_error = NULL, next_attempt_at = NULL WHERE tenant = $1 AND name = $2
                """, [e.tenant, e.name])
            try await InventoryWriter.clearFailures([e.id], session)
            let total = tables.reduce(0) { $0 + $1.deleted } + facts.external.reduce(0) { $0 + $1.total }
            var stores = Dictionary(uniqueKeysWithValues: tables.map { ($0.store, JSONValue($0.deleted)) })
            for s in facts.external { stores[s.name] = JSONValue(s.total) }
            let certificateSha256 = sha256Hex(issued.certificate)
            let entry = AuditEntry(action: "erase", object: e.id.description, revision: revision, detail: .object([
                "stores": .object(stores), "deleted": JSONValue(total), "certificateSha256": .string(certificateSha256),
                "signingKey": .string(issued.keyFingerprint), "formatVersion": JSONValue(ErasureCertificate.formatVersion),
            ]), events: [OutboxEvent(.erasureCompleted, e.id, revision: revision,
                                     message: "\(e.id) completed: \(total) records erased from \(stores.count) store\(stores.count == 1 ? "" : "s"); certificate sha256:\(certificateSha256)",
                                     detail: [
                                         "certificate": .object([
                                             "sha256": .string(certificateSha256), "signingKey": .string(issued.keyFingerprint),
                                             "formatVersion": JSONValue(ErasureCertificate.formatVersion),
                                             "fetch": .string("accordctl certificate \(e.tenant)/\(e.name) -o json"),
                                             "verify": .string("accordctl certificate \(e.tenant)/\(e.name) --public-key PUBLIC_KEY.pem"),
                                         ]),
                                         "deleted": JSONValue(total), "stores": .object(stores),
                                     ])])
            let sealed = chain.seal([entry], at: now)
            try await AuditChain.write(sealed, session)
            return (sealed, Completed(id: e.id, deleted: total, certificateSha256: certificateSha256))
        }
        guard let (sealed, completed) = issued else { return nil }
        audit.advance(to: sealed.head)
        return completed
    }

    /// Marks the PostgreSQL part failed (nothing of it was kept), with the next attempt's time.
    /// `RegionUnavailable` when the tenant's region's database did not answer.
    public static func fail(_ e: Open, _ reason: String, because: FailureReason = .erasureFailed, now: Date, revision: String?,
                            audit: inout AuditChain, _ session: Session) async throws -> ObjectFailure {
        let attempts = e.attempts + 1
        let next = now.addingTimeInterval(backoff(afterAttempts: attempts))
        let nextText = Timestamp.rfc3339(epochSeconds: Int64(next.timeIntervalSince1970))
        try await session.transaction(asApplier: true) {
            try await session.execute("""
                UPDATE platform.erasures SET status = 'failed', updated_at = now() WHERE tenant = $1 AND name = $2
                """, [e.tenant, e.name])
            try await session.execute("""
                INSERT INTO accord.erasure_runs (tenant, name, attempts, last_error, next_attempt_at)
                VALUES ($1, $2, $3::int, $4, to_timestamp($5::float8))
                ON CONFLICT (tenant, name) DO UPDATE SET attempts = EXCLUDED.attempts, last_error = EXCLUDED.last_error,
                    next_attempt_at = EXCLUDED.next_attempt_at
                """, [e.tenant, e.name, String(attempts), reason, String(next.timeIntervalSince1970)])
        }
        let failure = ObjectFailure(id: e.id, action: .update, reason: because,
                                    message: "erasure attempt \(attempts) failed and was rolled back: \(reason); next attempt at \(nextText)")
        audit = try await InventoryWriter.recordFailure(failure, action: "erase", manifestHash: nil, revision: revision,
                                                        audit: audit, session)
        return failure
    }
}

extension ErasureRuns {
    /// An erasure's certificate as stored, or why there is none.
    public struct Stored: Sendable {
        public let certificate: String
        public let signature: String
        public let evidence: String
        public let keyFingerprint: String
        public let publicKeyPEM: String
    }

    public enum Lookup: Sendable {
        case issued(Stored)
        /// The erasure exists but has no certificate yet: its status and last error.
        case open(status: String, lastError: String?)
        case unknown
    }

    /// A completed erasure is fixed by its signed certificate: a manifest
    /// that changes what it erased (subject, legal basis, request time) is
    /// Stalled (`ErasureCompleted`) and its row stays as it is. Another
    /// subject needs an Erasure of its own.
    public static func holdingCompleted(_ desired: [DesiredObject], _ session: Session) async throws -> [DesiredObject] {
        let erasures = desired.indices.filter { desired[$0].id.kind == .erasure }
        guard !erasures.isEmpty else { return desired }
        let keys = JSONValue(strings: erasures.map { "\(desired[$0].id.tenant ?? "")/\(desired[$0].id.name)" }).canonical
        var certified: [String: (fields: [String: JSONValue], completedAt: String)] = [:]
        for row in try await session.rows("""
            SELECT tenant || '/' || name, c->>'subjectEmailHash', c->>'legalBasis', c->>'requestedAt', c->>'completedAt'
            FROM (SELECT tenant, name, certificate::json AS c FROM accord.erasure_certificates
                  WHERE tenant || '/' || name IN (SELECT json_array_elements_text($1::json))) issued
            """, [keys]) {
            let (key, subject, basis, requested, completed) = try row.decode((String, String, String, String, String).self)
            certified[key] = (["subject_email_hash": .string(subject), "legal_basis": .string(basis), "requested_at": .string(requested)],
                              completed)
        }
        guard !certified.isEmpty else { return desired }
        let fieldNames = ["subject_email_hash": "subjectEmailHash", "legal_basis": "legalBasis", "requested_at": "requestedAt"]
        var out = desired
        for i in erasures {
            let d = desired[i]
            guard let issued = certified["\(d.id.tenant ?? "")/\(d.id.name)"] else { continue }
            let changed = issued.fields.keys.filter { d.record[$0] != issued.fields[$0] }.compactMap { fieldNames[$0] }.sorted()
            guard !changed.isEmpty else { continue }
            let stall = Stall(
                reason: .erasureCompleted,
                message: "\(d.id) completed at \(issued.completedAt) and its signed certificate fixes what was erased; the change of \(changed.joined(separator: ", ")) is refused and nothing changes (to erase another subject, add a new Erasure)",
                detail: .object(["changed": JSONValue(strings: changed), "completedAt": .string(issued.completedAt)]))
            out[i] = d.with(record: d.record, recordHash: d.recordHash, stall: stall, auditDetail: d.auditDetail)
        }
        return out
    }

    /// What the `erase` audit entry sealed when the erasure's certificate
    /// was issued: its SHA-256 and the signing key's fingerprint.
    public struct Sealed: Sendable {
        public let seq: Int64
        public let certificateSha256: String
        public let signingKey: String
    }

    public static func sealed(_ session: Session, tenant: String, name: String) async throws -> Sealed? {
        guard let row = try await session.rows("""
            SELECT seq, d->>'certificateSha256', d->>'signingKey'
            FROM (SELECT seq, body::json->'detail' AS d FROM accord.audit_log WHERE action = 'erase' AND object = $1) e
            WHERE d->>'certificateSha256' IS NOT NULL ORDER BY seq DESC LIMIT 1
            """, [ObjectID(kind: .erasure, tenant: tenant, name: name).description]).first else { return nil }
        let (seq, hash, key) = try row.decode((Int64, String, String).self)
        return Sealed(seq: seq, certificateSha256: hash, signingKey: key)
    }

    public static func certificate(_ session: Session, tenant: String, name: String) async throws -> Lookup {
        guard try await Migrations.isCurrent(session) else { return .unknown }
        if let row = try await session.rows("""
            SELECT certificate, signature, evidence, key_fingerprint, public_key FROM accord.erasure_certificates
            WHERE tenant = $1 AND name = $2
            """, [tenant, name]).first {
            let (c, s, e, k, p) = try row.decode((String, String, String, String, String).self)
            return .issued(Stored(certificate: c, signature: s, evidence: e, keyFingerprint: k, publicKeyPEM: p))
        }
        if let row = try await session.rows("""
            SELECT e.status, r.last_error FROM platform.erasures e
            LEFT JOIN accord.erasure_runs r ON r.tenant = e.tenant AND r.name = e.name
            WHERE e.tenant = $1 AND e.name = $2
            """, [tenant, name]).first {
            let (status, error) = try row.decode((String, String?).self)
            return .open(status: status, lastError: error)
        }
        return .unknown
    }
}
