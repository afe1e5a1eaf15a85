import AccordCore
@testable import AccordEngine
import Crypto
import Foundation
import Testing

/// Certificates and SLA stages with plain values.
struct ErasureCertificateTests {
    static let requested = Date(timeIntervalSince1970: 1_794_992_400)

    static func facts() -> ErasureCertificate.Facts {
        .init(tenant: "acme-corp", erasure: "dsr-1", subjectEmailHash: "sha256:" + String(repeating: "a", count: 64),
              legalBasis: "gdpr-art17", isolation: "schema",
              stores: [.init(store: "users", relation: "tenant_acme_corp.users", deleted: 2, remaining: 0),
                       .init(store: "traces", relation: "tenant_acme_corp.traces", deleted: 0, remaining: 0)],
              requestedAt: requested, completedAt: requested.addingTimeInterval(7200), revision: "abc", transaction: "42")
    }

    @Test func aCertificateIsCanonicalSignedAndBindsItsEvidence() throws {
        let key = SigningKey(Curve25519.Signing.PrivateKey())
        var facts = Self.facts()
        facts.external = [.init(name: "analytics-eu", type: "clickhouse", endpoint: "http://clickhouse-eu:8123", deleted: ["events": 10],
                                verifiedAt: Self.requested.addingTimeInterval(3600), requestID: "accord-1")]
        let issued = try ErasureCertificate.issue(facts, key: key)
        #expect(issued.certificate == """
            {"completedAt":"2026-11-18T11:00:00Z","erasure":"dsr-1","evidenceSha256":"\(sha256Hex(issued.evidence))","formatVersion":2,\
            "legalBasis":"gdpr-art17","requestedAt":"2026-11-18T09:00:00Z","revision":"abc","signingKey":"\(key.fingerprint)",\
            "stores":[{"deleted":10,"endpoint":"http://clickhouse-eu:8123","name":"analytics-eu","remaining":0,"type":"clickhouse",\
            "verifiedAt":"2026-11-18T10:00:00Z"}],\
            "subjectEmailHash":"sha256:\(String(repeating: "a", count: 64))","tables":{"traces":0,"users":2},"tenant":"acme-corp"}
            """)
        #expect(issued.evidence.contains("\"relation\":\"tenant_acme_corp.users\""))
        #expect(issued.evidence.contains("\"externalStores\":[{\"deleted\":{\"events\":10}"))
        let ok = ErasureCertificate.verify(certificate: issued.certificate, signature: issued.signature, evidence: issued.evidence, publicKey: key.publicKey)
        #expect(ok.verified && ok.problems.isEmpty)
        let again = try ErasureCertificate.issue(facts, key: key)
        #expect(again.certificate == issued.certificate, "the same facts give the same bytes")
        let forged = ErasureCertificate.verify(certificate: issued.certificate.replacingOccurrences(of: "\"users\":2", with: "\"users\":3"),
                                               signature: issued.signature, evidence: issued.evidence, publicKey: key.publicKey)
        #expect(!forged.signatureValid && forged.evidenceValid)
        let garbage = ErasureCertificate.verify(certificate: issued.certificate, signature: "not base64!", evidence: issued.evidence, publicKey: key.publicKey)
        #expect(!garbage.verified)
        #expect("\(key)" == "SigningKey(fingerprint: \(key.fingerprint))", "a key never prints itself")
    }

    /// A certificate issued in format 1 (before external stores) verifies
    /// as it did: verification checks the signed bytes and the evidence.
    @Test func aFormatOneCertificateStillVerifies() throws {
        let key = SigningKey(Curve25519.Signing.PrivateKey())
        let evidence = #"{"checkedAt":"2026-11-18T11:00:00Z","erasure":"dsr-1","isolation":"schema","stores":[{"deleted":2,"relation":"tenant_acme_corp.users","remainingAfter":0,"store":"users"}],"subjectEmailHash":"sha256:aa","tenant":"acme-corp","transaction":"42"}"#
        let certificate = #"{"completedAt":"2026-11-18T11:00:00Z","erasure":"dsr-1","evidenceSha256":"\#(sha256Hex(evidence))","formatVersion":1,"legalBasis":"gdpr-art17","requestedAt":"2026-11-18T09:00:00Z","revision":"abc","signingKey":"\#(key.fingerprint)","stores":{"users":2},"subjectEmailHash":"sha256:aa","tenant":"acme-corp"}"#
        let signature = Base64.encode(try key.sign(Array(certificate.utf8)))
        #expect(ErasureCertificate.verify(certificate: certificate, signature: signature, evidence: evidence, publicKey: key.publicKey).verified)
        let altered = certificate.replacingOccurrences(of: "\"users\":2", with: "\"users\":0")
        #expect(!ErasureCertificate.verify(certificate: altered, signature: signature, evidence: evidence, publicKey: key.publicKey).verified)
    }

    @Test func slaStagesChangeAtFortyEightSixtyAndSeventyTwoHours() {
        func stage(_ h: Double) -> ErasureSLA.Stage { ErasureSLA.stage(requestedAt: Self.requested, now: Self.requested.addingTimeInterval(h * 3600)) }
        #expect(stage(0) == .onTime && stage(47.99) == .onTime)
        #expect(stage(48) == .warning && stage(59.99) == .warning)
        #expect(stage(60) == .escalation && stage(72) == .escalation)
        #expect(stage(72.01) == .overdue)
        #expect(ErasureSLA.due(requestedAt: Self.requested) == Self.requested.addingTimeInterval(72 * 3600))
    }
}
