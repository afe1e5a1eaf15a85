import AccordCore
import AccordEngine
import AccordTestSupport
import Crypto
import Foundation
import Testing

/// `accordctl certificate` and `accordctl retention run` against a database.
@Suite(TestDatabase.required)
struct ErasureCLITests {
    @Test func certificatesVerifyAndAlteredOnesFail() async throws {
        let db = try await TestDatabase.scratch()
        defer { Task { await db.drop() } }
        let fx = try CLITests.repo(copying: "examples/platform")
        let env = ["DATABASE_URL": db.urlText, "NO_COLOR": "1"]
        let apply = try await CLITests.accordctl(["apply", "--repo", fx.root.path], environment: env)
        #expect(apply.status == 0, "\(apply.stdout)\(apply.stderr)")
        #expect(apply.stdout.contains("✓ Erasure/acme-corp/dsr-2026-11-0007 erased: 0 rows deleted, certificate issued\n"))

        let target = "acme-corp/dsr-2026-11-0007"
        let shown = try await CLITests.accordctl(["certificate", target], environment: env)
        #expect(shown.status == 0, "\(shown.stderr)")
        #expect(shown.stdout.contains("  subjectEmailHash: \"sha256:86e0b9e56c17cc4d12387e1949b85053fbe73bc3ce5a1188713a9d300cc6133d\"\n"))
        #expect(shown.stdout.contains("verified: signature and evidence hash check out"))

        let json = try JSONParser.parse(try await CLITests.accordctl(["certificate", target, "-o", "json"], environment: env).stdout)
        #expect(json["verified"] == .bool(true) && json["formatVersion"] == .number(1))
        #expect(json["certificate"]?["legalBasis"] == .string("gdpr-art17"))

        // Offline: the exported public key is the one that verifies.
        let exported = try await CLITests.accordctl(["certificate", "--export-public-key"], environment: env)
        #expect(exported.stdout == (try String(contentsOfFile: ExampleKeys.path("controller-signing.pub.pem"), encoding: .utf8)))
        let offline = try await CLITests.accordctl(["certificate", target, "--public-key", ExampleKeys.path("controller-signing.pub")],
                                             environment: env.merging(["ACCORD_SIGNING_KEY_FILE": ""]) { $1 })
        #expect(offline.status == 0 && offline.stdout.contains("--public-key"))
        let wrongKey = try await CLITests.accordctl(["certificate", target, "--public-key", ExampleKeys.path("model-signing.pub.pem")], environment: env)
        #expect(wrongKey.status == 2 && wrongKey.stdout.contains("NOT VERIFIED: the signature does not verify"))

        // No trusted key configured: the key stored with the certificate, as the audit log recorded it.
        let noKey = env.merging(["ACCORD_SIGNING_KEY_FILE": ""]) { $1 }
        let bound = try await CLITests.accordctl(["certificate", target], environment: noKey)
        #expect(bound.status == 0 && bound.stdout.contains("as the audit log recorded it"), "\(bound.stdout)\(bound.stderr)")
        // Altered, re-signed with another key and stored with that key: the signature checks out
        // against the stored key, but the hash-chained audit log sealed another certificate and key.
        let original = try #require(try await db.withSession { try await $0.scalar("SELECT certificate || chr(10) || signature || chr(10) || public_key || chr(10) || key_fingerprint FROM accord.erasure_certificates") })
        let forger = try Ed25519Keys.privateKey(file: ExampleKeys.path("model-signing.pem"))
        let forged = try #require(original.split(separator: "\n").first).replacingOccurrences(of: "gdpr-art17", with: "gdpr-art16")
        let forgedSignature = Data(try forger.signature(for: Data(forged.utf8))).base64EncodedString()
        try await db.withSession { try await $0.execute(
            "UPDATE accord.erasure_certificates SET certificate = $1, signature = $2, public_key = $3, key_fingerprint = $4",
            [forged, forgedSignature, Ed25519Keys.pem(forger.publicKey), Ed25519Keys.fingerprint(forger.publicKey)]) }
        let caught = try await CLITests.accordctl(["certificate", target, "-o", "json"], environment: noKey)
        #expect(caught.status == 2)
        let caughtVerdict = try JSONParser.parse(caught.stdout)
        #expect(caughtVerdict["signatureValid"] == .bool(true) && caughtVerdict["verified"] == .bool(false))
        #expect(caughtVerdict["problems"] == JSONValue(strings: [
            "the certificate is not the one audit entry 31 sealed when it was issued",
            "the stored public key is not the key audit entry 31 recorded",
        ]))
        let lines = original.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let publicKey = lines[2..<(lines.count - 1)].joined(separator: "\n")
        try await db.withSession { try await $0.execute(
            "UPDATE accord.erasure_certificates SET certificate = $1, signature = $2, public_key = $3, key_fingerprint = $4",
            [lines[0], lines[1], publicKey, lines[lines.count - 1]]) }
        #expect(try await CLITests.accordctl(["certificate", target], environment: noKey).status == 0, "restored")

        try await db.withSession { try await $0.execute("UPDATE accord.erasure_certificates SET certificate = replace(certificate, 'gdpr-art17', 'gdpr-art16')") }
        let altered = try await CLITests.accordctl(["certificate", target], environment: env)
        #expect(altered.status == 2)
        #expect(altered.stdout.contains("NOT VERIFIED"))

        try await db.withSession { try await $0.execute("UPDATE accord.erasure_certificates SET certificate = replace(certificate, 'gdpr-art16', 'gdpr-art17'), evidence = replace(evidence, '\"deleted\":0', '\"deleted\":1')") }
        let evidence = try await CLITests.accordctl(["certificate", target, "-o", "json"], environment: env)
        #expect(evidence.status == 2)
        let verdict = try JSONParser.parse(evidence.stdout)
        #expect(verdict["signatureValid"] == .bool(true) && verdict["evidenceValid"] == .bool(false))

        let missing = try await CLITests.accordctl(["certificate", "acme-corp/nope"], environment: env)
        #expect(missing.status == 2 && missing.stderr.contains("no erasure Erasure/acme-corp/nope in this database"))
        let badName = try await CLITests.accordctl(["certificate", "nope"], environment: env)
        #expect(badName.status == 2 && badName.stderr.contains("TENANT/NAME"))
    }

    @Test func retentionRunCountsInADryRunAndDeletesOtherwise() async throws {
        let db = try await TestDatabase.scratch()
        defer { Task { await db.drop() } }
        let fx = try CLITests.repo(copying: "examples/platform")
        let env = ["DATABASE_URL": db.urlText, "NO_COLOR": "1"]
        #expect(try await CLITests.accordctl(["apply", "--repo", fx.root.path], environment: env).status == 0)
        try await db.withSession {
            try await $0.execute("INSERT INTO tenant_acme_corp.traces (created_at) SELECT now() - interval '200 days' FROM generate_series(1, 3)")
        }
        let dry = try await CLITests.accordctl(["retention", "run", "--dry-run"], environment: env)
        #expect(dry.status == 0)
        #expect(dry.stdout == "- RetentionPolicy/standard-eu: 3 rows would be deleted from traces of Tenant/acme-corp\nretention: 2 policies counted, 3 rows would be deleted\n")
        let run = try await CLITests.accordctl(["retention", "run", "-o", "json"], environment: env)
        #expect(run.status == 0)
        #expect(try JSONParser.parse(run.stdout)["retention"]?["total"] == .number(3))
        let again = try await CLITests.accordctl(["retention", "run"], environment: env)
        #expect(again.stdout == "retention: 2 policies enforced, 0 rows deleted\n")
    }
}
