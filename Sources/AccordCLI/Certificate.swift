import AccordCore
import AccordEngine
import AccordStore
import AccordSync
import ArgumentParser
import Crypto
import Foundation

/// `accordctl certificate TENANT/NAME`: an erasure's completion
/// certificate, checked: the Ed25519 signature over the certificate's exact
/// bytes, and the evidence's SHA-256 against the one it carries.
struct Certificate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show an erasure's signed completion certificate and whether it verifies.",
        discussion: """
            The certificate is canonical JSON (keys sorted, no whitespace); its signature is Ed25519 \
            over exactly those UTF-8 bytes; it carries the SHA-256 of the evidence (the per-store \
            deletes and re-checks). The signature is checked against --public-key when given, else \
            the public half of the signing key (--signing-key-file / ACCORD_SIGNING_KEY_FILE), else \
            the public key stored with the certificate, which must then also match what the \
            hash-chained audit log sealed when the certificate was issued (its SHA-256 and key \
            fingerprint) and the audit log must verify; that proves integrity, not origin. \
            --export-public-key prints the signing key's public key (PEM) for verifying offline. \
            Exit status: 0 verified, 2 altered, missing or error.
            """
    )

    @Argument(help: "The erasure: TENANT/NAME.")
    var target: String?

    @OptionGroup var database: DatabaseOptions
    @OptionGroup var output: OutputOptions

    @Option(name: .customLong("public-key"), help: "Verify against this Ed25519 public key: PEM SubjectPublicKeyInfo or 32 raw bytes.")
    var publicKey: String?

    @Option(name: .customLong("signing-key-file"),
            help: "The controller's certificate-signing key, whose public half verifies (default: $ACCORD_SIGNING_KEY_FILE).")
    var signingKeyFile: String?

    @Flag(name: .customLong("export-public-key"), help: "Print the signing key's public key as PEM and exit.")
    var exportPublicKey = false

    func validate() throws {
        if !exportPublicKey {
            guard let target, target.split(separator: "/", omittingEmptySubsequences: false).count == 2,
                  !target.hasPrefix("/"), !target.hasSuffix("/") else {
                throw ValidationError("name the erasure as TENANT/NAME")
            }
        }
    }

    func run() async throws {
        if exportPublicKey {
            guard let key = try KeyOptions.signingKey(signingKeyFile) else {
                Console.error(CLIError("no signing key: pass --signing-key-file or set ACCORD_SIGNING_KEY_FILE"))
                throw ExitCode(2)
            }
            Console.write(key.publicKeyPEM)
            return
        }
        let parts = (target ?? "").split(separator: "/").map(String.init)
        let (tenant, name) = (parts[0], parts[1])
        let trusted = try trustedKey()
        // Without a trusted key, the key stored with the certificate is bound to it by the audit chain.
        let (lookup, binding) = try await database.withSession { session in
            let lookup = try await ErasureRuns.certificate(session, tenant: tenant, name: name)
            guard trusted == nil, case .issued = lookup else { return (lookup, nil as AuditBinding?) }
            return (lookup, AuditBinding(sealed: try await ErasureRuns.sealed(session, tenant: tenant, name: name),
                                         chain: try await AuditChain.verify(session)))
        }
        guard case .issued(let stored) = lookup else {
            if case .open(let status, let error) = lookup {
                Console.error(CLIError("Erasure/\(tenant)/\(name) has no certificate yet: it is \(status)" + (error.map { " (last error: \($0))" } ?? "")))
            } else {
                Console.error(CLIError("no erasure Erasure/\(tenant)/\(name) in this database"))
            }
            throw ExitCode(2)
        }
        let (key, source) = try trusted ?? storedKey(stored)
        let check = ErasureCertificate.verify(certificate: stored.certificate, signature: stored.signature,
                                              evidence: stored.evidence, publicKey: key)
        let problems = check.problems + (binding?.problems(stored, key: key) ?? [])
        let verified = check.verified && problems.isEmpty
        let certificate = (try? JSONParser.parse(stored.certificate)) ?? .string(stored.certificate)
        switch output.format {
        case .json:
            Console.write(JSONOutput.render(.object([
                "formatVersion": .number(1),
                "certificate": certificate,
                "certificateText": .string(stored.certificate),
                "signature": .string(stored.signature),
                "evidence": (try? JSONParser.parse(stored.evidence)) ?? .string(stored.evidence),
                "evidenceText": .string(stored.evidence),
                "verified": .bool(verified), "signatureValid": .bool(check.signatureValid),
                "evidenceValid": .bool(check.evidenceValid), "problems": JSONValue(strings: problems),
                "verifiedWith": .object(["source": .string(source), "fingerprint": .string(Ed25519Keys.fingerprint(key))]),
            ])))
        case .text, .markdown:
            var out = "Erasure/\(tenant)/\(name) certificate\n"
            if case .object(let fields) = certificate {
                for (k, v) in fields.sorted(by: { $0.key < $1.key }) { out += "  \(k): \(v.canonical)\n" }
            }
            out += "  signature: \(stored.signature)\n"
            out += verified
                ? "verified: signature and evidence hash check out (key \(Ed25519Keys.fingerprint(key)), \(source))\n"
                : "NOT VERIFIED: \(problems.joined(separator: "; ")) (key \(Ed25519Keys.fingerprint(key)), \(source))\n"
            Console.write(out)
        }
        if !verified { throw ExitCode(2) }
    }

    /// The audit log's record of the certificate, checked when the key
    /// that verifies comes from the certificate's own row: a certificate
    /// re-signed with another key and stored with it differs from what the
    /// hash-chained `erase` entry sealed when it was issued.
    struct AuditBinding {
        let sealed: ErasureRuns.Sealed?
        let chain: AuditChain.Verification

        func problems(_ stored: ErasureRuns.Stored, key: Curve25519.Signing.PublicKey) -> [String] {
            guard let sealed else { return ["no erase entry in the audit log records this certificate"] }
            var out: [String] = []
            if sealed.certificateSha256 != sha256Hex(stored.certificate) {
                out.append("the certificate is not the one audit entry \(sealed.seq) sealed when it was issued")
            }
            if sealed.signingKey != Ed25519Keys.fingerprint(key) {
                out.append("the stored public key is not the key audit entry \(sealed.seq) recorded")
            }
            if let broken = chain.problems.first {
                out.append("the audit log that records it does not verify (\(broken))")
            }
            return out
        }
    }

    /// The trusted key to verify with, and where it came from: --public-key,
    /// else the signing key's public half; nil when neither is configured.
    func trustedKey() throws -> (Curve25519.Signing.PublicKey, String)? {
        do {
            if let publicKey {
                return (try Ed25519Keys.publicKey(file: publicKey), "--public-key \(publicKey)")
            }
            if let key = try KeyOptions.signingKey(signingKeyFile) {
                return (key.publicKey, "the signing key's public half")
            }
            return nil
        } catch let error as Ed25519Keys.Invalid {
            Console.error(error)
            throw ExitCode(2)
        }
    }

    /// The public key stored with the certificate, for when no trusted key is configured.
    func storedKey(_ stored: ErasureRuns.Stored) throws -> (Curve25519.Signing.PublicKey, String) {
        do {
            return (try Ed25519Keys.publicKey(bytes: Array(stored.publicKeyPEM.utf8), source: "the certificate's stored public key"),
                    "the public key stored with the certificate, as the audit log recorded it; pass --public-key to check its origin")
        } catch let error as Ed25519Keys.Invalid {
            Console.error(error)
            throw ExitCode(2)
        }
    }
}

/// `accordctl retention run [--dry-run]`: enforce every retention policy now.
struct RetentionCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "retention",
        abstract: "Enforce retention policies.",
        subcommands: [Run.self]
    )

    struct Run: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Enforce every retention policy now (apply also runs each when its schedule is due).",
            discussion: """
                For each tenant whose gdpr.retentionPolicy names a policy, deletes the rows of each rule's \
                store older than maxAge (by created_at, with the rule's match), in batches of at most \
                10,000 rows per statement; a rule naming an external Store (STORE or STORE/ENTRY) is \
                enforced in each of the policy's tenants that list the store, with the store's own means \
                (ClickHouse by timeField, S3 by LastModified, Redis by idle time, http via /retention; \
                credentials from --secrets-dir). Counts per tenant and store go to the audit log. Takes \
                the apply lock. --dry-run counts what it would delete, store by store, and writes nothing. \
                Exit status: 0; 1 when an external store could not be reached (the others were \
                enforced, and that policy runs again next time); 2 on error.
                """
        )

        @OptionGroup var database: DatabaseOptions
        @OptionGroup var output: OutputOptions
        @OptionGroup var keys: KeyOptions

        @Flag(name: .customLong("dry-run"), help: "Count the rows that would be deleted; delete nothing.")
        var dryRun = false

        @Option(name: .customLong("lock-timeout"), help: "Seconds to wait for an applier to finish.")
        var lockTimeout: Double = 30

        func validate() throws { try LockTimeout.validate(lockTimeout) }

        func run() async throws {
            let secrets = try keys.secretsDirectory()
            let outcome = try await database.withSession(readOnly: false) {
                try await RetentionRunner.runNow($0, secretsDirectory: secrets, now: Date(), dryRun: dryRun,
                                                 lockTimeout: LockTimeout.duration(lockTimeout), actor: "accordctl retention")
            }
            switch output.format {
            case .json:
                Console.write(JSONOutput.render(.object(["formatVersion": .number(1), "retention": ApplyReport.retentionJSON(outcome)])))
            case .text, .markdown:
                let lines = ApplyReport.retentionLines(outcome)
                Console.write(lines.isEmpty ? "retention: no policies to enforce\n" : lines)
            }
            if !outcome.failures.isEmpty { throw ExitCode(1) }
        }
    }
}
