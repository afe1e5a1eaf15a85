import AccordCore
import AccordGit
import AccordTestSupport
@testable import AccordTrust
import Foundation
import Testing

/// OpenPGP signatures as `gpg` and `git commit -S` make them, verified in
/// process, and every verdict held against gpgv's on the same keyring: the
/// two must agree on every signature, good, bad or damaged.
@Suite struct OpenPGPTests {
    /// A keyring of `keys` (name, key), exported to a temporary directory.
    final class Ring {
        let directory: URL
        let keyring: OpenPGPKeyring

        init(_ keys: [(String, GPGTestKey)], extra: [(String, [UInt8])] = []) throws {
            directory = FileManager.default.temporaryDirectory.appendingPathComponent("accord-pgp-ring-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            var files: [(name: String, path: String)] = []
            for (name, key) in keys {
                let path = directory.appendingPathComponent("\(name).asc").path
                try key.export(to: path)
                files.append((name, path))
            }
            for (name, bytes) in extra {
                let path = directory.appendingPathComponent("\(name).gpg").path
                try Data(bytes).write(to: URL(fileURLWithPath: path))
                files.append((name, path))
            }
            keyring = try OpenPGPKeyring(files)
        }

        deinit { try? FileManager.default.removeItem(at: directory) }

        /// The in-process verdict, which must be one (not gpgv's) and agree
        /// with gpgv's: never accepting what gpgv refuses, and refusing what
        /// gpgv accepts only when `stricter` allows the reason (gpgv reads
        /// past a packet's broken length; this code does not).
        func verdict(_ signature: String, _ data: [UInt8], orGpgv: Bool = false, stricter: String? = nil,
                     sourceLocation: SourceLocation = #_sourceLocation) throws -> Result<OpenPGPKeyring.Key, OpenPGPKeyring.Failure> {
            guard case .decided(let native) = keyring.native(signature: signature, data: data, now: Date()) else {
                if !orGpgv { Issue.record("handed to gpgv, not verified in process", sourceLocation: sourceLocation) }
                return try keyring.gpgv(signature: signature, data: data)
            }
            let gpgv = try keyring.gpgv(signature: signature, data: data)
            let (mine, theirs) = ((try? native.get())?.fingerprint, (try? gpgv.get())?.fingerprint)
            if mine != theirs, !(mine == nil && stricter.map { OpenPGPTests.reason(native).contains($0) } == true) {
                Issue.record("in process: \(native); gpgv: \(gpgv)", sourceLocation: sourceLocation)
            }
            return native
        }
    }

    static func reason(_ result: Result<OpenPGPKeyring.Key, OpenPGPKeyring.Failure>) -> String {
        switch result {
        case .success(let key): "signed by \(key.name)"
        case .failure(let failure): failure.description
        }
    }

    /// A commit signed by each kind of key git users sign with; the signer
    /// is the key's primary fingerprint, also for a signing subkey.
    @Test func commitsSignedWithEachKeyAlgorithmVerifyInProcess() async throws {
        let keys = [
            ("ed25519", try GPGTestKey(uid: "E <e@example.invalid>")),
            ("nistp256", try GPGTestKey(uid: "P <p@example.invalid>", algorithm: "nistp256")),
            ("nistp384", try GPGTestKey(uid: "Q <q@example.invalid>", algorithm: "nistp384")),
            ("rsa3072", try GPGTestKey(uid: "R <r@example.invalid>", algorithm: "rsa3072")),
            ("subkey", try GPGTestKey(uid: "S <s@example.invalid>", usage: "cert")),
        ]
        let subkey = try keys[4].1.addSubkey()
        let ring = try Ring(keys)
        let fx = try GitFixture()
        let repo = try await CommitVerifierTests.repository(fx)
        for (name, key) in keys {
            try fx.write("a.yaml", "x: \(name)\n")
            let commit = try fx.commitSigned("by \(name)", gpg: key)
            let signed = try #require(try await repo.signature(of: commit))
            let verdict = try ring.verdict(signed.signature, signed.signedData)
            #expect(try verdict.get().fingerprint == key.fingerprint, "\(name): \(Self.reason(verdict))")
            #expect(try verdict.get().name == name)
            // The same signature over other content.
            var other = signed.signedData
            other[other.count - 2] ^= 0x20
            #expect(Self.reason(try ring.verdict(signed.signature, other)).contains("does not match the commit (BADSIG)"), "\(name)")
        }
        // The subkey made the last signature: its issuer is the subkey, its signer the key.
        let last = try #require(try await repo.signature(of: try fx.head))
        let issuer = try PGP.Signature(body: try PGP.packets(try #require(PGP.dearmor(last.signature, label: "SIGNATURE")))[0].body).issuerFingerprint
        #expect(issuer.map(PGP.hex) == subkey)
        // The verifier names the key and its group.
        let verifier = try CommitVerifier(policy: try CommitVerifierTests.policy(openpgp: [("release-bot", ring.directory.appendingPathComponent("subkey.asc").path)]))
        #expect(try await verifier.signer(of: try fx.head, in: repo).get() == Signer(name: "release-bot", key: "openpgp \(keys[4].1.fingerprint)"))
    }

    /// What a key's own signatures say: expiry (and a later extension),
    /// revocation, a subkey's expiry, SHA-1, text signatures.
    @Test func aKeysValidityIsReadFromItsOwnSignatures() async throws {
        let fx = try GitFixture()
        let repo = try await CommitVerifierTests.repository(fx)
        func commit(_ key: GPGTestKey, subkey: String? = nil, at time: String? = nil) async throws -> CommitSignature {
            try fx.write("a.yaml", "x: \(UUID().uuidString)\n")
            let id = try fx.commitSigned("a change", gpg: key, signingKey: subkey.map { "\($0)!" }, fakedTime: time)
            return try #require(try await repo.signature(of: id))
        }
        let expired = try GPGTestKey(uid: "Old <old@example.invalid>", expire: "1y", fakedTime: "20200101T000000")
        let extended = try GPGTestKey(uid: "Extended <ext@example.invalid>", expire: "1y", fakedTime: "20200101T000000")
        let revoked = try GPGTestKey(uid: "Revoked <rev@example.invalid>")
        let withSubkeys = try GPGTestKey(uid: "Subkeys <sub@example.invalid>", usage: "cert", fakedTime: "20200101T000000")
        let oldSubkey = try withSubkeys.addSubkey(expire: "1y", fakedTime: "20200101T000000")
        let newSubkey = try withSubkeys.addSubkey()

        let byExpired = try await commit(expired, at: "20200601T000000")
        let byExtended = try await commit(extended, at: "20200601T000000")
        try extended.setExpiry("0")
        let beforeRevocation = try await commit(revoked)
        try revoked.revoke()
        let byOldSubkey = try await commit(withSubkeys, subkey: oldSubkey, at: "20200601T000000")
        let byNewSubkey = try await commit(withSubkeys, subkey: newSubkey)

        let ring = try Ring([("old", expired), ("extended", extended), ("revoked", revoked), ("subkeys", withSubkeys)])
        #expect(Self.reason(try ring.verdict(byExpired.signature, byExpired.signedData)).hasPrefix("signed with an expired OpenPGP key: OpenPGP key \(expired.fingerprint) (old) expired 2020-12-31T"))
        #expect(Self.reason(try ring.verdict(byExtended.signature, byExtended.signedData)) == "signed by extended", "a newer self-signature extends the key")
        #expect(Self.reason(try ring.verdict(beforeRevocation.signature, beforeRevocation.signedData)) == "signed with a revoked OpenPGP key: OpenPGP key \(revoked.fingerprint) (revoked)")
        #expect(Self.reason(try ring.verdict(byOldSubkey.signature, byOldSubkey.signedData)).hasPrefix("signed with an expired OpenPGP key: subkey \(oldSubkey) of OpenPGP key \(withSubkeys.fingerprint) (subkeys)"))
        #expect(Self.reason(try ring.verdict(byNewSubkey.signature, byNewSubkey.signedData)) == "signed by subkeys")

        // Signatures made with gpg directly: SHA-1 is refused (gpgv alone would take it); a text signature hashes CR LF line endings.
        let bot = try GPGTestKey()
        let botRing = try Ring([("bot", bot)])
        let text = Array("tree 1234\nparent 5678\n\na change\n".utf8)
        let sha1 = try bot.sign(text, options: ["--digest-algo", "SHA1"])
        #expect(Self.reason(try botRing.verdict(sha1, text)).contains("is made with SHA-1, which is not accepted for commits"))
        let textMode = try bot.sign(text, options: ["--textmode"])
        #expect(try PGP.Signature(body: try PGP.packets(try #require(PGP.dearmor(textMode, label: "SIGNATURE")))[0].body).type == 0x01)
        #expect(Self.reason(try botRing.verdict(textMode, text)) == "signed by bot")
        #expect(Self.reason(try botRing.verdict(textMode, Array("tree 1234\nparent 5679\n\na change\n".utf8))).contains("BADSIG"))
        // A key of a stranger.
        let stranger = try GPGTestKey(uid: "Stranger <s@example.invalid>")
        #expect(Self.reason(try botRing.verdict(try stranger.sign(text), text)).hasSuffix("which is not in the policy"))
    }

    /// A DSA key is not verified in process: gpgv decides, and its verdict stands.
    @Test func aKeyOfAnotherAlgorithmIsVerifiedByGpgv() throws {
        let dsa = try GPGTestKey(uid: "D <d@example.invalid>", algorithm: "dsa2048")
        let ring = try Ring([("dsa", dsa)])
        let data = Array("a commit\n".utf8)
        let signature = try dsa.sign(data)
        guard case .gpgv = ring.keyring.native(signature: signature, data: data, now: Date()) else {
            Issue.record("a DSA signature was decided in process")
            return
        }
        #expect(try ring.keyring.verify(signature: signature, data: data).get().name == "dsa")
        #expect(throws: OpenPGPKeyring.Failure.self) { try ring.keyring.verify(signature: signature, data: data + [0x0A]).get() }
    }

    /// Every one-bit change and every truncation of a signature packet:
    /// never a crash, and the in-process verdict is gpgv's.
    @Test(arguments: ["ed25519", "rsa3072"])
    func damagedSignaturesAreRefusedAsGpgvRefusesThem(algorithm: String) throws {
        let key = try GPGTestKey(algorithm: algorithm)
        let ring = try Ring([("bot", key)])
        let data = Array("tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\nauthor t <t@example.invalid> 1 +0000\n\nx\n".utf8)
        let packet = try #require(PGP.dearmor(try key.sign(data), label: "SIGNATURE"))
        func armor(_ bytes: [UInt8]) -> String {
            "-----BEGIN PGP SIGNATURE-----\n\n\(Data(bytes).base64EncodedString(options: .lineLength64Characters))\n-----END PGP SIGNATURE-----\n"
        }
        #expect(Self.reason(try ring.verdict(armor(packet), data)) == "signed by bot")
        // RSA's signature integer is long: every byte before it, every ninth byte of it.
        let material = algorithm == "rsa3072" ? packet.count - 384 : packet.count
        let original = try PGP.Signature(body: try PGP.packets(packet)[0].body)
        var accepted = 0
        for index in packet.indices where index < material || index % 9 == 0 {
            var damaged = packet
            damaged[index] ^= 0x04
            guard case .success = try ring.verdict(armor(damaged), data, orGpgv: true, stricter: "cannot be read") else { continue }
            // What both accept signs the same: only unsigned bytes changed (unhashed subpackets, an integer's bit count).
            accepted += 1
            let signature = try PGP.Signature(body: try PGP.packets(damaged)[0].body)
            #expect(signature.hashedPart == original.hashedPart && signature.material == original.material, "byte \(index) changed what is signed")
        }
        #expect(accepted < 20, "\(accepted) damaged signatures accepted")
        for length in 0..<packet.count {
            guard case .decided(.failure) = ring.keyring.native(signature: armor(Array(packet.prefix(length))), data: data, now: Date()) else {
                Issue.record("a signature cut to \(length) bytes was not refused in process")
                continue
            }
        }
        #expect(Self.reason(ring.keyring.native(signature: "-----BEGIN PGP SIGNATURE-----\n\n!!!\n-----END PGP SIGNATURE-----\n", data: data, now: Date()))
                .contains("not base64"))
    }

    /// A key file whose key is not certified by itself, or that holds two
    /// keys, is refused when the policy is loaded, naming the key and file.
    @Test func keyFilesThatCannotBeTrustedAreRefusedAtLoad() throws {
        let key = try GPGTestKey(), other = try GPGTestKey(uid: "Other <o@example.invalid>")
        let export = { (k: GPGTestKey) in Array(try GitFixture.run(["gpg", "--homedir", k.home.path, "--batch", "--armor", "--export", k.fingerprint]).utf8) }
        let packets = try PGP.packets(try OpenPGPKeyring.dearmor(try export(key), file: "key"))
        func serialize(_ packets: [PGP.Packet]) -> [UInt8] {
            packets.flatMap { p in [0xC0 | p.tag, 0xFF] + withUnsafeBytes(of: UInt32(p.body.count).bigEndian, Array.init) + p.body }
        }
        #expect(try PGP.packets(serialize(packets)).map(\.tag) == packets.map(\.tag), "five-byte lengths read back")
        let unsigned = serialize(packets.filter { $0.tag != 2 })
        var tampered = packets
        let selfSignature = try #require(tampered.firstIndex { $0.tag == 2 })
        var body = tampered[selfSignature].body
        body[body.count - 3] ^= 0x01
        tampered[selfSignature] = PGP.Packet(tag: 2, body: body)
        let both = serialize(packets) + serialize(try PGP.packets(try OpenPGPKeyring.dearmor(try export(other), file: "other")))
        for (bytes, expected) in [(unsigned, "no valid self-signature"), (serialize(tampered), "no valid self-signature"), (both, "more than one OpenPGP key")] {
            do {
                _ = try Ring([], extra: [("bot", bytes)])
                Issue.record("\(expected): loaded")
            } catch let failure as OpenPGPKeyring.Failure {
                #expect(failure.description.hasPrefix("key \"bot\": \""), "\(failure)")
                #expect(failure.description.contains(expected), "\(failure)")
            }
        }
    }
}

extension OpenPGPTests {
    static func reason(_ verdict: OpenPGPKeyring.Verdict) -> String {
        switch verdict {
        case .decided(let result): reason(result)
        case .gpgv: "handed to gpgv"
        }
    }
}
