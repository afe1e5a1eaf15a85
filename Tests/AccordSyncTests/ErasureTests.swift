import AccordCore
import AccordEngine
@testable import AccordStore
@testable import AccordSync
import AccordTestSupport
import Foundation
import Testing

/// Erasures against a real PostgreSQL with seeded stores in both isolation
/// modes: exact counts, nothing else touched, signed certificates, exactly
/// once, retries, SLA stages on an injected clock.
@Suite(TestDatabase.required)
struct ErasureTests {
    typealias T = ApplyTests
    static let subject = "sha256:86e0b9e56c17cc4d12387e1949b85053fbe73bc3ce5a1188713a9d300cc6133d"
    static let other = "sha256:" + String(repeating: "1", count: 64)
    /// 2026-11-18T09:00:00Z, the example erasure's requestedAt.
    static let requested = Date(timeIntervalSince1970: 1_794_992_400)
    static func at(hours: Double) -> Date { requested.addingTimeInterval(hours * 3600) }
    static func rfc3339(hours: Double) -> String { Timestamp.rfc3339(epochSeconds: Int64(at(hours: hours).timeIntervalSince1970)) }

    static let brightpathErasure = """
        apiVersion: accord.dev/v1
        kind: Erasure
        metadata: {name: dsr-bp-1, tenant: brightpath}
        spec: {subjectEmailHash: "\(subject)", requestedAt: 2026-11-18T09:00:00Z, legalBasis: gdpr-art17}
        """

    /// The example platform without its erasure, applied; then rows seeded.
    static func seeded() async throws -> (ScratchDatabase, Manifests) {
        let db = try await TestDatabase.scratch()
        var manifests = try Manifests.examples()
        let erasure = manifests.files.removeValue(forKey: "erasures/acme-corp.yaml")!
        _ = try await T.apply(manifests.desired(), db, configure: { $0.clock = { at(hours: 1) } })
        manifests.files["erasures/acme-corp.yaml"] = erasure
        try await db.withSession { session in
            // acme-corp (schema): the subject in three stores (2 + 1 + 1 rows), another subject once.
            // brightpath and northwind (shared): the same subject, which acme-corp's erasure must not touch.
            try await session.script("""
                INSERT INTO tenant_acme_corp.users (subject_email_hash) VALUES ($1), ($1), ($2);
                INSERT INTO tenant_acme_corp.traces (subject_email_hash) VALUES ($1), (NULL);
                INSERT INTO tenant_acme_corp.worker_memory (subject_email_hash, memory_type) VALUES ($1, 'long_term');
                SELECT set_config('accord.tenant', 'brightpath', false);
                INSERT INTO shared.users (tenant_id, subject_email_hash) VALUES ('brightpath', $1), ('brightpath', $2);
                INSERT INTO shared.datasets (tenant_id, subject_email_hash) VALUES ('brightpath', $1);
                SELECT set_config('accord.tenant', 'northwind', false);
                INSERT INTO shared.users (tenant_id, subject_email_hash) VALUES ('northwind', $1);
                RESET accord.tenant;
                """.replacingOccurrences(of: "$1", with: "'\(subject)'").replacingOccurrences(of: "$2", with: "'\(other)'"))
        }
        return (db, manifests)
    }

    static func count(_ db: ScratchDatabase, _ relation: String, tenant: String? = nil, subject: String = subject) async throws -> String? {
        try await T.scalar(db, "SELECT count(*)::text FROM \(relation) WHERE subject_email_hash = '\(subject)'" + (tenant.map { " AND tenant_id = '\($0)'" } ?? ""))
    }

    static func certificate(_ db: ScratchDatabase, _ tenant: String, _ name: String) async throws -> ErasureRuns.Stored {
        guard case .issued(let stored) = try await db.withSession({ try await ErasureRuns.certificate($0, tenant: tenant, name: name) }) else {
            throw ManifestsInvalid(description: "no certificate for \(tenant)/\(name)")
        }
        return stored
    }

    struct ManifestsInvalid: Error, CustomStringConvertible { let description: String }

    @Test func anErasureDeletesTheSubjectFromEveryStoreInBothModesAndNothingElse() async throws {
        let (db, base) = try await Self.seeded()
        defer { Task { await db.drop() } }
        var manifests = base
        manifests.files["erasures/brightpath.yaml"] = Self.brightpathErasure
        // Here only PostgreSQL: brightpath's external stores (examples' stores/eu.yaml) are left out of it.
        manifests.edit("tenants/brightpath.yaml", "  stores: [analytics-eu, sessions-eu, uploads-eu, vectors-eu]\n", "")
        let report = try await T.apply(manifests.desired(), db, revision: "r2", configure: { $0.clock = { Self.at(hours: 2) } })
        #expect(report.erasures.failed.isEmpty)
        #expect(Dictionary(uniqueKeysWithValues: report.erasures.completed.map { ($0.id.description, $0.deleted) })
                == ["Erasure/acme-corp/dsr-2026-11-0007": 4, "Erasure/brightpath/dsr-bp-1": 2])

        for store in ["users", "traces", "worker_memory", "tasks", "datasets", "provenance_records"] {
            #expect(try await Self.count(db, "tenant_acme_corp.\(store)") == "0", "\(store)")
        }
        #expect(try await Self.count(db, "tenant_acme_corp.users", subject: Self.other) == "1", "another subject stays")
        #expect(try await T.scalar(db, "SELECT count(*)::text FROM tenant_acme_corp.traces") == "1", "rows without a subject stay")
        #expect(try await Self.count(db, "shared.users", tenant: "brightpath") == "0")
        #expect(try await Self.count(db, "shared.datasets", tenant: "brightpath") == "0")
        #expect(try await Self.count(db, "shared.users", tenant: "brightpath", subject: Self.other) == "1")
        #expect(try await Self.count(db, "shared.users", tenant: "northwind") == "1", "another tenant's rows of the same subject stay")
        #expect(try await T.scalar(db, "SELECT string_agg(status || ' ' || to_char(completed_at AT TIME ZONE 'UTC', 'HH24:MI'), ',' ORDER BY tenant) FROM platform.erasures")
                == "completed 11:00,completed 11:00")

        // The certificate: canonical JSON with the counts, signed, evidence hashed.
        let stored = try await Self.certificate(db, "acme-corp", "dsr-2026-11-0007")
        let cert = try JSONParser.parse(stored.certificate)
        #expect(cert.canonical == stored.certificate, "stored as canonical JSON")
        #expect(cert["tables"] == .object(["users": .number(2), "traces": .number(1), "worker_memory": .number(1), "tasks": .number(0),
                                           "datasets": .number(0), "provenance_records": .number(0)]))
        #expect(cert["formatVersion"] == .number(2) && cert["stores"] == .array([]), "a tenant without external stores lists none")
        #expect(cert["subjectEmailHash"] == .string(Self.subject) && cert["legalBasis"] == .string("gdpr-art17"))
        #expect(cert["requestedAt"] == .string("2026-11-18T09:00:00Z") && cert["completedAt"] == .string("2026-11-18T11:00:00Z"))
        #expect(cert["revision"] == .string("r2") && cert["tenant"] == .string("acme-corp") && cert["erasure"] == .string("dsr-2026-11-0007"))
        #expect(cert["evidenceSha256"] == .string(sha256Hex(stored.evidence)))
        let key = ExampleKeys.signing.publicKey
        #expect(ErasureCertificate.verify(certificate: stored.certificate, signature: stored.signature, evidence: stored.evidence, publicKey: key).verified)

        // Tampering with the certificate or with the evidence is detected.
        let altered = stored.certificate.replacingOccurrences(of: "\"users\":2", with: "\"users\":1")
        #expect(altered != stored.certificate)
        let a = ErasureCertificate.verify(certificate: altered, signature: stored.signature, evidence: stored.evidence, publicKey: key)
        #expect(!a.verified && !a.signatureValid)
        let b = ErasureCertificate.verify(certificate: stored.certificate, signature: stored.signature,
                                          evidence: stored.evidence.replacingOccurrences(of: "\"deleted\":2", with: "\"deleted\":0"), publicKey: key)
        #expect(!b.verified && b.signatureValid && !b.evidenceValid)
        let stranger = SigningKey(.init()).publicKey
        #expect(!ErasureCertificate.verify(certificate: stored.certificate, signature: stored.signature, evidence: stored.evidence, publicKey: stranger).verified)

        let audit = try await T.scalar(db, "SELECT body FROM accord.audit_log WHERE action = 'erase' AND object = 'Erasure/acme-corp/dsr-2026-11-0007'")
        #expect(try JSONParser.parse(audit ?? "{}")["detail"]?["deleted"] == .number(4))
    }

    @Test func aCompletedErasureNeverRunsAgain() async throws {
        let (db, manifests) = try await Self.seeded()
        defer { Task { await db.drop() } }
        _ = try await T.apply(manifests.desired(), db, revision: "r2", configure: { $0.clock = { Self.at(hours: 2) } })
        let first = try await Self.certificate(db, "acme-corp", "dsr-2026-11-0007")

        try await db.withSession { try await $0.execute("INSERT INTO tenant_acme_corp.users (subject_email_hash) VALUES ('\(Self.subject)')") }
        let again = try await T.apply(manifests.desired(), db, revision: "r3", configure: { $0.clock = { Self.at(hours: 3) } })
        #expect(again.erasures.completed.isEmpty)
        var without = manifests
        without.files.removeValue(forKey: "erasures/acme-corp.yaml")
        _ = try await T.apply(without.desired(), db, revision: "r4", configure: { $0.clock = { Self.at(hours: 4) } })
        let back = try await T.apply(manifests.desired(), db, revision: "r5", configure: { $0.clock = { Self.at(hours: 5) } })
        #expect(back.erasures.completed.isEmpty)
        #expect(try await Self.count(db, "tenant_acme_corp.users") == "1", "rows written after completion stay")
        #expect(try await Self.certificate(db, "acme-corp", "dsr-2026-11-0007").certificate == first.certificate)
        #expect(try await T.scalar(db, "SELECT count(*)::text FROM accord.audit_log WHERE action = 'erase'") == "1")
    }

    /// A completed erasure's manifest edited to name another subject (or
    /// legal basis, or request time): refused, Stalled, nothing changes; put
    /// back, the object is in sync and Ready again.
    @Test func aCompletedErasureRefusesAChangeOfWhatItErased() async throws {
        let (db, manifests) = try await Self.seeded()
        defer { Task { await db.drop() } }
        _ = try await T.apply(manifests.desired(), db, revision: "r2", configure: { $0.clock = { Self.at(hours: 2) } })
        let row = "SELECT subject_email_hash || ' ' || legal_basis || ' ' || status FROM platform.erasures"
        let before = try await T.scalar(db, row)
        let id = ObjectID(kind: .erasure, tenant: "acme-corp", name: "dsr-2026-11-0007")

        var edited = manifests
        let file = "erasures/acme-corp.yaml"
        edited.files[file] = try #require(manifests.files[file]).replacingOccurrences(of: Self.subject, with: Self.other)
            .replacingOccurrences(of: "legalBasis: gdpr-art17", with: "legalBasis: ccpa")
        try await db.withSession { try await $0.execute("INSERT INTO tenant_acme_corp.users (subject_email_hash) VALUES ('\(Self.other)')") }
        let refused = try await T.apply(edited.desired(), db, revision: "r3", configure: { $0.clock = { Self.at(hours: 3) } })
        let failure = try #require(refused.outcome?.failed.first { $0.id == id })
        #expect(failure.reason == .erasureCompleted && failure.stalled)
        #expect(failure.message.contains("completed at 2026-11-18T11:00:00Z"))
        #expect(failure.message.contains("the change of legalBasis, subjectEmailHash is refused and nothing changes"))
        #expect(!failure.message.contains(Self.other), "the subject is never echoed")
        #expect(refused.erasures.completed.isEmpty)
        #expect(try await T.scalar(db, row) == before)
        #expect(try await Self.count(db, "tenant_acme_corp.users", subject: Self.other) == "2", "the other subject is not erased")
        let status = try await db.withSession { try await ObjectStatus.read($0, id: id, now: Self.at(hours: 3)) }.first
        #expect(status?.conditions.first { $0.type == .stalled }?.reason == "ErasureCompleted")

        let back = try await T.apply(manifests.desired(), db, revision: "r4", configure: { $0.clock = { Self.at(hours: 4) } })
        #expect(back.outcome?.failed.isEmpty == true)
        let ready = try await db.withSession { try await ObjectStatus.read($0, id: id, now: Self.at(hours: 4)) }.first
        #expect(ready?.conditions.first { $0.type == .ready }?.status == .true)
        #expect(try await T.scalar(db, "SELECT count(*)::text FROM accord.erasure_certificates") == "1")
    }

    @Test(.timeLimit(.minutes(5))) func twoConcurrentAppliersRunAnErasureOnce() async throws {
        let (db, manifests) = try await Self.seeded()
        defer { Task { await db.drop() } }
        let desired = try manifests.desired()
        async let a = T.apply(desired, db, revision: "r2", configure: { $0.lockTimeout = .seconds(30) })
        async let b = T.apply(desired, db, revision: "r2", configure: { $0.lockTimeout = .seconds(30) })
        let (ra, rb) = try await (a, b)
        #expect(ra.erasures.completed.count + rb.erasures.completed.count == 1)
        #expect(try await T.scalar(db, "SELECT count(*)::text FROM accord.erasure_certificates") == "1")
        #expect(try await T.scalar(db, "SELECT count(*)::text FROM accord.audit_log WHERE action = 'erase'") == "1")
    }

    @Test func aFailedRunRollsBackAndIsRetriedWithBackoff() async throws {
        let (db, manifests) = try await Self.seeded()
        defer { Task { await db.drop() } }
        // A trigger outside Accord refuses deletes in one store.
        try await db.withSession { try await $0.script("""
            CREATE FUNCTION public.refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'legal hold on provenance'; END $$;
            CREATE TRIGGER hold BEFORE DELETE ON tenant_acme_corp.provenance_records FOR EACH ROW EXECUTE FUNCTION public.refuse();
            INSERT INTO tenant_acme_corp.provenance_records (subject_email_hash) VALUES ('\(Self.subject)');
            """) }
        let failed = try await T.apply(manifests.desired(), db, revision: "r2", configure: { $0.clock = { Self.at(hours: 2) } })
        let failure = try #require(failed.erasures.failed.first)
        #expect(failure.reason == .erasureFailed && !failure.stalled)
        #expect(failure.message.contains("erasure attempt 1 failed and was rolled back"))
        #expect(failure.message.contains("legal hold on provenance"))
        #expect(failure.message.contains("next attempt at 2026-11-18T11:01:00Z"))
        #expect(try await Self.count(db, "tenant_acme_corp.users") == "2", "nothing of a failed run is kept")
        #expect(try await T.scalar(db, "SELECT status FROM platform.erasures") == "failed")

        // Before the backoff has passed: not retried.
        let early = try await T.apply(manifests.desired(), db, revision: "r2", configure: { $0.clock = { Self.at(hours: 2).addingTimeInterval(30) } })
        #expect(early.erasures.failed.isEmpty && early.erasures.completed.isEmpty)

        try await db.withSession { try await $0.execute("DROP TRIGGER hold ON tenant_acme_corp.provenance_records") }
        let retried = try await T.apply(manifests.desired(), db, revision: "r2", configure: { $0.clock = { Self.at(hours: 2).addingTimeInterval(61) } })
        #expect(retried.erasures.completed.map(\.deleted) == [5])
        #expect(try await T.scalar(db, "SELECT status || ' ' || attempts FROM platform.erasures JOIN accord.erasure_runs USING (tenant, name)") == "completed 2")
        let status = try await db.withSession { try await ObjectStatus.read($0, id: ObjectID(kind: .erasure, tenant: "acme-corp", name: "dsr-2026-11-0007")) }
        #expect(status.first?.ready == true)
    }

    @Test func slaThresholdsAreReportedAndAuditedOnceEach() async throws {
        let (db, manifests) = try await Self.seeded()
        defer { Task { await db.drop() } }
        func pass(_ hours: Double) async throws -> Pass.Report {
            // No signing key: the erasure stays open while the clock runs.
            try await T.apply(manifests.desired(), db, configure: { $0.clock = { Self.at(hours: hours) }; $0.keys.signingKey = nil })
        }
        let waiting = try await pass(47)
        #expect(waiting.erasures.blocked.map(\.description) == ["Erasure/acme-corp/dsr-2026-11-0007"])
        #expect(waiting.erasures.escalated.isEmpty)
        let id = ObjectID(kind: .erasure, tenant: "acme-corp", name: "dsr-2026-11-0007")
        func status(_ hours: Double) async throws -> ObjectStatus? {
            try await db.withSession { try await ObjectStatus.read($0, id: id, now: Self.at(hours: hours)) }.first
        }
        #expect(try await status(47)?.message.contains("no signing key is configured") == true)
        #expect(try await status(47)?.conditions.first { $0.type == .onSchedule }?.status == .true)

        for (hours, stage) in [(48.0, ErasureSLA.Stage.warning), (60, .escalation), (72.5, .overdue)] {
            let report = try await pass(hours)
            #expect(report.erasures.escalated.map(\.stage) == [stage], "\(hours)h")
            #expect(try await pass(hours + 0.1).erasures.escalated.isEmpty, "crossed once")
            let s = try await status(hours)
            #expect(s?.conditions.first { $0.type == .onSchedule }?.reason == ["warning": "SLAWarning", "escalation": "SLAEscalation", "overdue": "SLAOverdue"][stage.rawValue])
            #expect(s?.message.contains(stage.meaning) == true)
        }
        #expect(try await T.scalar(db, "SELECT string_agg(body::json->'detail'->>'stage', ',' ORDER BY seq) FROM accord.audit_log WHERE action = 'erasure-sla'")
                == "warning,escalation,overdue")

        let done = try await T.apply(manifests.desired(), db, configure: { $0.clock = { Self.at(hours: 73) } })
        #expect(done.erasures.completed.count == 1)
        #expect(try await status(80)?.conditions.contains { $0.type == .onSchedule } == false, "a completed erasure has no deadline")
    }

    /// A pass that first sees an erasure past several thresholds (the
    /// controller was down from 47h to 73h) audits each one it crossed.
    @Test func aLatePassAuditsEveryThresholdItCrossed() async throws {
        let (db, manifests) = try await Self.seeded()
        defer { Task { await db.drop() } }
        func pass(_ hours: Double) async throws -> Pass.Report {
            try await T.apply(manifests.desired(), db, configure: { $0.clock = { Self.at(hours: hours) }; $0.keys.signingKey = nil })
        }
        #expect(try await pass(47).erasures.escalated.isEmpty)
        // The daemon's gauges count open erasures by stage.
        func counts(_ hours: Double) async throws -> ErasureCounts.Counts {
            try await db.withSession { try await ErasureCounts.read($0, now: Self.at(hours: hours)) }
        }
        #expect(try await counts(47) == ErasureCounts.Counts(open: 1))
        #expect(try await counts(49) == ErasureCounts.Counts(open: 1, warning: 1))
        #expect(try await counts(61) == ErasureCounts.Counts(open: 1, escalation: 1))
        #expect(try await counts(73) == ErasureCounts.Counts(open: 1, overdue: 1))
        #expect(try await pass(73).erasures.escalated.map(\.stage) == [.warning, .escalation, .overdue])
        #expect(try await pass(74).erasures.escalated.isEmpty, "each crossed once")
        #expect(try await T.scalar(db, "SELECT string_agg((body::json->'detail'->>'stage') || '@' || (body::json->'detail'->>'crossedAt'), ',' ORDER BY seq) FROM accord.audit_log WHERE action = 'erasure-sla'")
                == "warning@\(Self.rfc3339(hours: 48)),escalation@\(Self.rfc3339(hours: 60)),overdue@\(Self.rfc3339(hours: 72))")
    }
}

struct ErasureBackoffTests {
    @Test func failedRunsBackOffFromAMinuteUpToAnHour() {
        #expect([1, 2, 3, 6, 7, 8, 20].map { ErasureRuns.backoff(afterAttempts: $0) } == [60, 120, 240, 1920, 3600, 3600, 3600])
    }
}
