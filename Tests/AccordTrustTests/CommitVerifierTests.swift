import AccordCore
import AccordGit
import AccordTestSupport
@testable import AccordTrust
import Foundation
import Testing

/// Signed commits as git and its signers make them: `git commit -S` with
/// SSH keys of every supported type and with OpenPGP keys, verified by
/// Accord's own SSHSIG and OpenPGP code; and the commits a policy refuses.
@Suite struct CommitVerifierTests {
    static func policy(_ mode: VerificationPolicy.Mode = .head, ssh keys: [(String, SSHTestKey)] = [],
                       openpgp: [(String, String)] = []) throws -> VerificationPolicy {
        VerificationPolicy(mode: mode, keys: try keys.map { .init(name: $0.0, material: .ssh(try SSHPublicKey(line: $0.1.publicLine))) }
                           + openpgp.map { .init(name: $0.0, material: .openpgp(path: $0.1)) })
    }

    static func repository(_ fx: GitFixture) async throws -> GitRepository { try await GitRepository.open(at: fx.root.path) }

    @Test(arguments: [("ed25519", nil), ("ecdsa", 256), ("ecdsa", 384), ("ecdsa", 521), ("rsa", 3072)] as [(String, Int?)])
    func commitsSignedWithEachSSHKeyTypeVerify(type: String, bits: Int?) async throws {
        let key = try SSHTestKey(type, bits: bits)
        let fx = try GitFixture()
        try fx.write("tenants/a.yaml", "x: 1\n")
        let commit = try fx.commitSigned("one", ssh: key)
        let verdict = try await CommitVerifier(policy: try Self.policy(ssh: [("platform-team", key)])).signer(of: commit, in: try await Self.repository(fx))
        let signer = try verdict.get()
        // The key as ssh-keygen names it: its SHA-256 fingerprint.
        let listed = try GitFixture.run(["ssh-keygen", "-l", "-f", key.privateKey + ".pub"]).split(separator: " ")[1]
        #expect(signer.name == "platform-team" && signer.key.hasSuffix(" \(listed)"), "\(signer)")
    }

    @Test func sshKeygenSignaturesVerifyAndTamperedOnesDoNot() throws {
        let key = try SSHTestKey("ed25519")
        let message = key.directory.appendingPathComponent("message")
        try Data("the text signed\n".utf8).write(to: message)
        try GitFixture.run(["ssh-keygen", "-q", "-Y", "sign", "-n", "file", "-f", key.privateKey, message.path])
        let armored = try String(contentsOfFile: message.path + ".sig", encoding: .utf8)
        let signature = try SSHSignature(armored: armored)
        #expect(try signature.verifies(Array("the text signed\n".utf8), namespace: "file"))
        #expect(try !signature.verifies(Array("the text signed!\n".utf8), namespace: "file"))
        #expect(throws: SSHPublicKey.Invalid.self) { try signature.verifies(Array("the text signed\n".utf8), namespace: "git") }
        // Malformed blocks are errors, never crashes.
        for bad in ["", "-----BEGIN SSH SIGNATURE-----\n!!!\n-----END SSH SIGNATURE-----",
                    "-----BEGIN SSH SIGNATURE-----\nU1NIU0lH\n-----END SSH SIGNATURE-----",
                    armored.replacingOccurrences(of: "\n", with: "").dropLast(40) + "-----END SSH SIGNATURE-----"] {
            #expect(throws: SSHPublicKey.Invalid.self) { _ = try SSHSignature(armored: String(bad)) }
        }
    }

    /// The commit object of `commit` with `edit` applied, written as a new commit.
    static func rewrite(_ fx: GitFixture, _ commit: String, _ edit: (String) -> String) throws -> String {
        let raw = try fx.git("cat-file", "commit", commit)
        let file = fx.root.appendingPathComponent(".git/rewritten-\(UUID().uuidString)")
        try Data((edit(raw) + "\n").utf8).write(to: file)
        return try fx.git("hash-object", "-t", "commit", "-w", file.path)
    }

    @Test func unsignedForeignForgedAndMalformedCommitsAreRefused() async throws {
        let trusted = try SSHTestKey("ed25519"), stranger = try SSHTestKey("ed25519")
        let fx = try GitFixture()
        try fx.write("a.yaml", "x: 1\n")
        let unsigned = try fx.commit("unsigned")
        let foreign = try fx.commitSigned("signed by a stranger", ssh: stranger)
        let good = try fx.commitSigned("signed", ssh: trusted)
        // The good signature over other content: the message changed after signing.
        let forged = try Self.rewrite(fx, good) { $0.replacingOccurrences(of: "\n\nsigned", with: "\n\nsigned, and then edited") }
        let malformed = try Self.rewrite(fx, good) { raw in
            raw.split(separator: "\n", omittingEmptySubsequences: false).map { line in
                line.hasPrefix(" ") && !line.contains("-----") ? " !!not base64!!" : String(line)
            }.joined(separator: "\n")
        }
        let verifier = try CommitVerifier(policy: try Self.policy(ssh: [("platform-team", trusted)]))
        let repo = try await Self.repository(fx)
        func reason(_ commit: String) async throws -> String {
            switch try await verifier.signer(of: commit, in: repo) {
            case .success(let s): return "trusted \(s)"
            case .failure(let r): #expect(r.commit == commit); return r.reason
            }
        }
        #expect(try await reason(good).hasPrefix("trusted platform-team"))
        #expect(try await reason(unsigned) == "it is not signed")
        let strangerPrint = try GitFixture.run(["ssh-keygen", "-l", "-f", stranger.privateKey + ".pub"]).split(separator: " ")[1]
        #expect(try await reason(foreign) == "signed by SSH key ssh-ed25519 \(strangerPrint), which is not in the policy")
        #expect(try await reason(forged) == "its SSH signature by platform-team does not match the commit's content")
        let unreadable = try await reason(malformed)
        #expect(unreadable.hasPrefix("its SSH signature cannot be read"), "\(unreadable)")
    }

    @Test func strictModeChecksEveryCommitSinceTheLastAppliedAndRefusesRewrittenHistory() async throws {
        let key = try SSHTestKey("ed25519")
        let fx = try GitFixture()
        try fx.write("a.yaml", "x: 1\n")
        let first = try fx.commitSigned("first", ssh: key)
        try fx.write("a.yaml", "x: 2\n")
        let unsigned = try fx.commit("unsigned in the middle")
        try fx.write("a.yaml", "x: 3\n")
        let last = try fx.commitSigned("last", ssh: key)
        let repo = try await Self.repository(fx)
        let strict = try CommitVerifier(policy: try Self.policy(.strict, ssh: [("platform-team", key)]))
        let head = try CommitVerifier(policy: try Self.policy(.head, ssh: [("platform-team", key)]))
        #expect(try await head.verify(last, lastApplied: nil, in: repo).get().signer?.name == "platform-team", "head mode looks at the head only")
        guard case .failure(let refusal) = try await strict.verify(last, lastApplied: nil, in: repo) else {
            Issue.record("strict mode let an unsigned commit through")
            return
        }
        #expect(refusal.reason == "commit \(unsigned.prefix(12)) it is not signed (strict mode checks every commit since the root)", "\(refusal)")
        #expect(try await strict.verify(last, lastApplied: unsigned, in: repo).get().signer?.name == "platform-team", "only what came after")
        #expect(try await strict.verify(first, lastApplied: nil, in: repo).get().signer?.name == "platform-team")

        // A merge whose other parent brings an unsigned commit: strict mode walks into the merged branch.
        try fx.git("checkout", "-q", "-b", "side", first)
        try fx.write("b.yaml", "y: 1\n")
        let sideUnsigned = try fx.commit("unsigned on a side branch")
        try fx.git("checkout", "-q", "main")
        try fx.git("-c", "user.name=t", "-c", "user.email=t@example.invalid", "-c", "gpg.format=ssh", "-c", "user.signingkey=\(key.privateKey)",
                   "merge", "-q", "-S", "--no-ff", "-m", "merge the side branch, signed", "side")
        let merge = try fx.head
        guard case .failure(let merged) = try await strict.verify(merge, lastApplied: last, in: repo) else {
            Issue.record("strict mode accepted a merge of an unsigned commit")
            return
        }
        #expect(merged.reason.hasPrefix("commit \(sideUnsigned.prefix(12)) it is not signed"), "\(merged)")
        #expect(try await head.verify(merge, lastApplied: last, in: repo).get().signer?.name == "platform-team", "head mode checks the merge commit only")

        // A force-push that rewrites history past the last applied revision.
        try fx.git("reset", "-q", "--hard", first)
        try fx.write("a.yaml", "x: 9\n")
        let rewritten = try fx.commitSigned("another history", ssh: key)
        guard case .failure(let forced) = try await strict.verify(rewritten, lastApplied: last, in: repo) else {
            Issue.record("strict mode accepted rewritten history")
            return
        }
        #expect(forced.reason.hasPrefix("it does not descend from the last applied revision \(last.prefix(12)): history was rewritten"))
    }

    /// Per-kind signer rules: a change to an Erasure needs the platform
    /// team's key; head mode asks the applied commit, strict mode the
    /// commit that last changed the object's file.
    @Test func signerRulesReserveKindsForGroups() async throws {
        let platform = try SSHTestKey("ed25519"), bot = try SSHTestKey("ed25519")
        let keys = [("platform-team", platform), ("release-bot", bot)]
        func policy(_ mode: VerificationPolicy.Mode) throws -> VerificationPolicy {
            let base = try Self.policy(mode, ssh: keys)
            return VerificationPolicy(mode: mode, keys: base.keys, require: [.init(kinds: [.erasure], signers: ["platform-team"])])
        }
        let fx = try GitFixture()
        try fx.write("erasures/e.yaml", "x: 1\n")
        try fx.write("workers/w.yaml", "x: 1\n")
        let byPlatform = try fx.commitSigned("the erasure, by the platform team", ssh: platform)
        try fx.write("workers/w.yaml", "x: 2\n")
        let byBot = try fx.commitSigned("a worker, by the bot", ssh: bot)
        let repo = try await Self.repository(fx)
        let erasure = PlanStep(id: ObjectID(kind: .erasure, tenant: "acme", name: "e"), action: .create, cause: .manifest, changes: [], desired: nil)
        let worker = PlanStep(id: ObjectID(kind: .worker, tenant: "acme", name: "w"), action: .update, cause: .manifest, changes: [], desired: nil)
        let paths = [erasure.id: "erasures/e.yaml", worker.id: "workers/w.yaml"]

        // Head mode: the bot's commit may change the worker but not the erasure.
        let head = try CommitVerifier(policy: try policy(.head))
        let headRange = try await head.verify(byBot, lastApplied: nil, in: repo).get()
        #expect(try await head.authorize([worker], paths: paths, range: headRange, in: repo) == nil)
        let refused = try await head.authorize([worker, erasure], paths: paths, range: headRange, in: repo)
        #expect(refused?.hasPrefix("Erasure/acme/e (create) needs a commit signed by platform-team; commit \(byBot.prefix(12)) is signed by release-bot (ssh-ed25519 SHA256:") == true,
                "\(refused ?? "allowed")")

        // Strict mode: the erasure's file was last changed by the platform team's commit: allowed.
        let strict = try CommitVerifier(policy: try policy(.strict))
        let strictRange = try await strict.verify(byBot, lastApplied: nil, in: repo).get()
        #expect(strictRange.commits.map(\.id) == [byBot, byPlatform])
        #expect(try await strict.authorize([worker, erasure], paths: paths, range: strictRange, in: repo) == nil)
        // ... until the bot changes the erasure's file itself.
        try fx.write("erasures/e.yaml", "x: 2\n")
        let botErasure = try fx.commitSigned("the erasure, by the bot", ssh: bot)
        let later = try await strict.verify(botErasure, lastApplied: nil, in: repo).get()
        let strictRefusal = try await strict.authorize([erasure], paths: paths, range: later, in: repo)
        #expect(strictRefusal?.contains("commit \(botErasure.prefix(12)) is signed by release-bot") == true, "\(strictRefusal ?? "allowed")")
    }

    @Test func openPGPSignaturesVerifyAndExpiredRevokedOrForeignKeysDoNot() async throws {
        let bot = try GPGTestKey(), stranger = try GPGTestKey(uid: "Stranger <s@example.invalid>")
        let old = try GPGTestKey(uid: "Old Bot <old@example.invalid>", expire: "1y", fakedTime: "20200101T000000")
        let revoked = try GPGTestKey(uid: "Revoked Bot <r@example.invalid>")
        let keys = FileManager.default.temporaryDirectory.appendingPathComponent("accord-asc-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: keys, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: keys) }
        let fx = try GitFixture()
        try fx.write("a.yaml", "x: 1\n")
        let good = try fx.commitSigned("by the bot", gpg: bot)
        let foreign = try fx.commitSigned("by a stranger", gpg: stranger)
        let expired = try fx.commitSigned("by a key long expired", gpg: old, fakedTime: "20200601T000000")
        let beforeRevocation = try fx.commitSigned("by a key revoked later", gpg: revoked)
        try revoked.revoke()
        for (name, key) in [("bot", bot), ("old", old), ("revoked", revoked)] { try key.export(to: keys.appendingPathComponent("\(name).asc").path) }
        let verifier = try CommitVerifier(policy: try Self.policy(openpgp: ["bot", "old", "revoked"].map { ("release-\($0)", keys.appendingPathComponent("\($0).asc").path) }))
        let repo = try await Self.repository(fx)
        #expect(try await verifier.signer(of: good, in: repo).get() == Signer(name: "release-bot", key: "openpgp \(bot.fingerprint)"))
        for (commit, expected) in [(foreign, "which is not in the policy"), (expired, "expired OpenPGP key"), (beforeRevocation, "revoked OpenPGP key")] {
            guard case .failure(let refusal) = try await verifier.signer(of: commit, in: repo) else {
                Issue.record("\(expected): accepted")
                continue
            }
            #expect(refusal.reason.contains(expected), "\(refusal)")
        }
        // A key file that is not an OpenPGP public key is refused when the policy is loaded, naming it.
        let garbage = keys.appendingPathComponent("garbage.asc").path
        try Data("-----BEGIN PGP PUBLIC KEY BLOCK-----\n\naGVsbG8gd29ybGQ=\n-----END PGP PUBLIC KEY BLOCK-----\n".utf8).write(to: URL(fileURLWithPath: garbage))
        #expect(throws: OpenPGPKeyring.Failure.self) { _ = try CommitVerifier(policy: try Self.policy(openpgp: [("bad", garbage)])) }
        // An OpenPGP signature under a policy with SSH keys only.
        let sshOnly = try CommitVerifier(policy: try Self.policy(ssh: [("platform-team", try SSHTestKey("ed25519"))]))
        #expect(try await sshOnly.signer(of: good, in: repo) == .failure(Refusal(commit: good, reason: "it has an OpenPGP signature and the policy trusts no OpenPGP key")))
    }
}
