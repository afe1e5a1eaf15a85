import AccordCore
import AccordEngine
import Foundation

/// Runs open erasures (SPEC §1 Erasure): in one transaction per erasure,
/// deletes the subject's rows from every store of the tenant, re-checks
/// that none remain, issues the signed certificate and marks the erasure
/// completed, with its audit entry. A completed erasure has a certificate
/// row keyed by tenant and name, so it never runs again (not after its
/// manifest leaves git and comes back, not under two appliers). A failed
/// run rolls back entirely, is marked `failed` with the reason and retried
/// with backoff. Runs after every apply pass (the fast path included);
/// also keeps the SLA stages and audits each threshold when crossed.
public enum ErasureRuns {
    static let migration = Migrations.Migration(version: 5, name: "erasure runs, certificates and SLA stages", sql: """
        CREATE TABLE accord.erasure_runs (
            tenant text NOT NULL,
            name text NOT NULL,
            attempts integer NOT NULL DEFAULT 0,
            last_error text,
            next_attempt_at timestamptz,
            sla_stage text NOT NULL DEFAULT 'on-time',
            PRIMARY KEY (tenant, name)
        );
        CREATE TABLE accord.erasure_certificates (
            tenant text NOT NULL,
            name text NOT NULL,
            certificate text NOT NULL,
            signature text NOT NULL,
            evidence text NOT NULL,
            key_fingerprint text NOT NULL,
            public_key text NOT NULL,
            issued_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (tenant, name)
        );
        CREATE FUNCTION accord.erase_subject(tenant text, isolation text, subject text)
        RETURNS TABLE (store text, relation text, deleted bigint, remaining bigint) LANGUAGE plpgsql AS $$
        DECLARE
            target text := accord.store_schema(tenant, isolation);
            scope text := CASE WHEN isolation = 'shared' THEN format(' AND tenant_id = %L', tenant) ELSE '' END;
            t text;
        BEGIN
            PERFORM set_config('accord.tenant', tenant, true);
            FOREACH t IN ARRAY accord.store_tables() LOOP
                IF to_regclass(format('%I.%I', target, t)) IS NULL THEN
                    RAISE EXCEPTION 'store %.% of tenant % does not exist (the tenant is not onboarded)', target, t, tenant
                        USING ERRCODE = '42P01';
                END IF;
                EXECUTE format('DELETE FROM %I.%I WHERE subject_email_hash = $1', target, t) || scope USING subject;
                GET DIAGNOSTICS deleted = ROW_COUNT;
                EXECUTE format('SELECT count(*) FROM %I.%I WHERE subject_email_hash = $1', target, t) || scope INTO remaining USING subject;
                IF remaining > 0 THEN
                    RAISE EXCEPTION '% rows of subject % remain in %.% after the delete', remaining, subject, target, t;
                END IF;
                store := t;
                relation := target || '.' || t;
                RETURN NEXT;
            END LOOP;
        END $$;
        """)

    public struct Completed: Sendable {
        public let id: ObjectID
        public let deleted: Int
    }

    public struct Outcome: Sendable {
        public var completed: [Completed] = []
        public var failed: [ObjectFailure] = []
        /// Open erasures waiting for a signing key.
        public var blocked: [ObjectID] = []
        /// Erasures that crossed an SLA threshold in this pass.
        public var escalated: [(id: ObjectID, stage: ErasureSLA.Stage)] = []
    }

    struct Open {
        let tenant: String
        let name: String
        let subject: String
        let requestedAt: Date
        let legalBasis: String
        let isolation: String?
        let attempts: Int
        let nextAttemptAt: Date?
        let stage: ErasureSLA.Stage
        var id: ObjectID { ObjectID(kind: .erasure, tenant: tenant, name: name) }
    }

    /// Backoff after the n-th failed attempt: 1 min doubling, at most 1 h.
    public static func backoff(afterAttempts n: Int) -> TimeInterval {
        min(3600, 60 * pow(2, Double(max(0, n - 1))))
    }

    static func run(_ session: Session, key: SigningKey?, now: Date, revision: String?, actor: String) async throws -> Outcome {
        var outcome = Outcome()
        let open = try await openErasures(session)
        guard !open.isEmpty else { return outcome }
        var audit = try await AuditChain.load(session, actor: actor)
        for e in open {
            let stage = ErasureSLA.stage(requestedAt: e.requestedAt, now: now)
            if stage > e.stage {
                // One entry per threshold crossed since the last pass, even when a pass comes late and crosses several.
                let crossed = ErasureSLA.Stage.allCases.filter { $0 > e.stage && $0 <= stage }
                let entries = crossed.map { crossed in
                    AuditEntry(action: "erasure-sla", object: e.id.description, revision: revision, detail: .object([
                        "stage": .string(crossed.rawValue), "meaning": .string(crossed.meaning),
                        "requestedAt": .string(Timestamp.rfc3339(epochSeconds: Int64(e.requestedAt.timeIntervalSince1970))),
                        "due": .string(Timestamp.rfc3339(epochSeconds: Int64(ErasureSLA.due(requestedAt: e.requestedAt).timeIntervalSince1970))),
                        "crossedAt": .string(Timestamp.rfc3339(epochSeconds: Int64(e.requestedAt.addingTimeInterval(crossed.hours * 3600).timeIntervalSince1970))),
                    ]))
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
                outcome.escalated += crossed.map { (e.id, $0) }
            }
            if let next = e.nextAttemptAt, next > now { continue }
            guard let key else {
                let failure = ObjectFailure(id: e.id, action: .update, reason: .signingKeyMissing,
                                            message: "no signing key is configured (ACCORD_SIGNING_KEY_FILE or --signing-key-file), so the erasure's certificate cannot be signed; the erasure runs once one is",
                                            stalled: true)
                audit = try await InventoryWriter.recordFailure(failure, action: "erase", manifestHash: nil, revision: revision,
                                                                audit: audit, session)
                outcome.blocked.append(e.id)
                continue
            }
            do {
                let deleted = try await erase(e, key: key, now: now, revision: revision, audit: &audit, session)
                outcome.completed.append(Completed(id: e.id, deleted: deleted))
            } catch let error as SQLFailure where !Executor.isConnectionLost(error) {
                outcome.failed.append(try await fail(e, error.description, now: now, revision: revision, audit: &audit, session))
            } catch let error as ErasureRuns.Failure {
                outcome.failed.append(try await fail(e, error.description, now: now, revision: revision, audit: &audit, session))
            }
        }
        return outcome
    }

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// Managed erasures without a certificate, with their tenant's isolation.
    static func openErasures(_ session: Session) async throws -> [Open] {
        try await session.rows("""
            SELECT e.tenant, e.name, e.subject_email_hash, extract(epoch FROM e.requested_at)::float8, e.legal_basis,
                   t.isolation, coalesce(r.attempts, 0), extract(epoch FROM r.next_attempt_at)::float8, coalesce(r.sla_stage, 'on-time')
            FROM platform.erasures e
            JOIN accord.inventory i ON i.kind = 'Erasure' AND i.tenant = e.tenant AND i.name = e.name
            LEFT JOIN platform.tenants t ON t.name = e.tenant
            LEFT JOIN accord.erasure_runs r ON r.tenant = e.tenant AND r.name = e.name
            WHERE NOT EXISTS (SELECT 1 FROM accord.erasure_certificates c WHERE c.tenant = e.tenant AND c.name = e.name)
            ORDER BY e.requested_at, e.tenant, e.name
            """).map { row in
            let (tenant, name, subject, requested, basis, isolation, attempts, next, stage) =
                try row.decode((String, String, String, Double, String, String?, Int, Double?, String).self)
            return Open(tenant: tenant, name: name, subject: subject, requestedAt: Date(timeIntervalSince1970: requested),
                        legalBasis: basis, isolation: isolation, attempts: attempts,
                        nextAttemptAt: next.map { Date(timeIntervalSince1970: $0) },
                        stage: ErasureSLA.Stage(rawValue: stage) ?? .onTime)
        }
    }

    /// One erasure, in one transaction: `running`, the deletes and the
    /// re-check, the certificate, `completed`, the audit entry. The row
    /// lock on the erasure and the certificate's key make a second run
    /// impossible even if two sessions got here.
    static func erase(_ e: Open, key: SigningKey, now: Date, revision: String?, audit: inout AuditChain,
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
        let (sealed, deleted) = try await session.transaction(asApplier: true) { () -> (AuditChain.Sealed, Int) in
            let locked = try await session.rows("""
                SELECT 1 FROM platform.erasures e WHERE e.tenant = $1 AND e.name = $2
                  AND NOT EXISTS (SELECT 1 FROM accord.erasure_certificates c WHERE c.tenant = e.tenant AND c.name = e.name)
                FOR UPDATE
                """, [e.tenant, e.name])
            guard !locked.isEmpty else { throw Failure(description: "the erasure was completed or removed meanwhile") }
            var stores: [ErasureCertificate.Store] = []
            for row in try await session.rows("SELECT store, relation, deleted, remaining FROM accord.erase_subject($1, $2, $3)",
                                              [e.tenant, isolation, e.subject]) {
                let (store, relation, deleted, remaining) = try row.decode((String, String, Int, Int).self)
                stores.append(.init(store: store, relation: relation, deleted: deleted, remaining: remaining))
            }
            let transaction = try await session.scalar("SELECT txid_current()::text") ?? ""
            let facts = ErasureCertificate.Facts(
                tenant: e.tenant, erasure: e.name, subjectEmailHash: e.subject, legalBasis: e.legalBasis, isolation: isolation,
                stores: stores, requestedAt: e.requestedAt, completedAt: now, revision: revision, transaction: transaction)
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
                INSERT INTO accord.erasure_runs (tenant, name, attempts) VALUES ($1, $2, $3::int)
                ON CONFLICT (tenant, name) DO UPDATE SET attempts = EXCLUDED.attempts, last_error = NULL, next_attempt_at = NULL
                """, [e.tenant, e.name, String(e.attempts + 1)])
            try await InventoryWriter.clearFailures([e.id], session)
            let total = stores.reduce(0) { $0 + $1.deleted }
            let entry = AuditEntry(action: "erase", object: e.id.description, revision: revision, detail: .object([
                "stores": .object(Dictionary(uniqueKeysWithValues: stores.map { ($0.store, JSONValue($0.deleted)) })),
                "deleted": JSONValue(total), "certificateSha256": .string(sha256Hex(issued.certificate)),
                "signingKey": .string(issued.keyFingerprint),
            ]))
            let sealed = chain.seal([entry], at: now)
            try await AuditChain.write(sealed, session)
            return (sealed, total)
        }
        audit.advance(to: sealed.head)
        return deleted
    }

    /// Marks a run failed (nothing of it was kept), with the next attempt's time.
    static func fail(_ e: Open, _ reason: String, now: Date, revision: String?, audit: inout AuditChain,
                     _ session: Session) async throws -> ObjectFailure {
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
        let failure = ObjectFailure(id: e.id, action: .update, reason: .erasureFailed,
                                    message: "erasure attempt \(attempts) failed and was rolled back: \(reason); next attempt at \(nextText)",
                                    stalled: false)
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
    static func holdingCompleted(_ desired: [DesiredObject], _ session: Session) async throws -> [DesiredObject] {
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
                reason: FailureReason.erasureCompleted.rawValue,
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
