import AccordCore
import Crypto
import Foundation

/// OpenPGP signatures of commits, verified in process for version 4 keys
/// and signatures of the algorithms git users sign with (EdDSA and
/// Ed25519, ECDSA on NIST P-256/384/521, RSA of at least 2,048 bits; SHA-256,
/// SHA-384 or SHA-512), with the key's validity read from its own
/// self-signatures: expiry, revocation, key flags and signing subkeys bound
/// both ways (RFC 4880 §5.2.1, §11.1). Anything else — a DSA key, a
/// version 3 signature, another hash — is verified by GnuPG's `gpgv`
/// against a keyring made of the policy's keys only, where a signature
/// counts only when gpgv reports it good and valid (`GOODSIG`, `VALIDSIG`)
/// and the key neither expired nor revoked. SHA-1 (or MD5) commit
/// signatures are refused either way.
public final class OpenPGPKeyring: Sendable {
    public struct Key: Sendable {
        public let name: String
        public let file: String
        /// The primary key's fingerprint (upper-case hex).
        public let fingerprint: String
    }

    public let keys: [Key]
    /// Each key's certificate, or nil when it is verified by gpgv only.
    let certificates: [OpenPGPCertificate?]
    /// The policy's key packets, written as gpgv's keyring the first time gpgv is needed.
    let packets: [UInt8]
    private let gpgvHome = GpgvHome()

    public struct Failure: Error, CustomStringConvertible, Sendable {
        public let description: String
    }

    /// Reads every key file (ASCII-armored `.asc`, or binary) and checks
    /// its self-signatures.
    public init(_ files: [(name: String, path: String)], now: Date = Date()) throws {
        let fm = FileManager.default
        var all: [UInt8] = []
        var keys: [Key] = []
        var certificates: [OpenPGPCertificate?] = []
        for (name, path) in files {
            guard let data = fm.contents(atPath: path) else {
                throw Failure(description: "key \(Text.quoted(name)): cannot read \(Text.quoted(path))")
            }
            do {
                let packets = try Self.dearmor(Array(data), file: path)
                let parsed = try PGP.packets(packets)
                guard let first = parsed.first, first.tag == 6 else {
                    throw Failure(description: "does not start with an OpenPGP public key (packet type \(parsed.first?.tag ?? 0)); export it with gpg --armor --export")
                }
                let primary: PGP.PublicKey
                do {
                    primary = try PGP.PublicKey(body: first.body)
                } catch let unsupported as PGP.Unsupported {
                    throw Failure(description: "\(unsupported.description); only version 4 keys are accepted")
                }
                do {
                    certificates.append(try OpenPGPCertificate(primary: primary, packets: parsed.dropFirst(), now: Self.seconds(now)))
                } catch is PGP.Unsupported {
                    certificates.append(nil)
                }
                keys.append(Key(name: name, file: path, fingerprint: primary.hex))
                all += packets
            } catch let failure as Failure {
                throw Failure(description: "key \(Text.quoted(name)): \(Text.quoted(path)): \(failure.description)")
            } catch {
                throw Failure(description: "key \(Text.quoted(name)): \(Text.quoted(path)): \(error)")
            }
        }
        packets = all
        self.keys = keys
        self.certificates = certificates
    }

    static func seconds(_ date: Date) -> Int { Int(date.timeIntervalSince1970) }

    /// `verify` on a thread of its own: when gpgv is needed, starting and
    /// waiting for it never holds one of Swift's cooperative threads.
    public func verified(signature: String, data: [UInt8]) async throws -> Result<Key, Failure> {
        if case .decided(let result) = native(signature: signature, data: data, now: Date()) { return result }
        return try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global(qos: .userInitiated).async {
                continuation.resume(with: Result { try self.gpgv(signature: signature, data: data) })
            }
        }
    }

    /// The policy key that made a good, valid signature of `data`, or why not.
    public func verify(signature: String, data: [UInt8], now: Date = Date()) throws -> Result<Key, Failure> {
        if case .decided(let result) = native(signature: signature, data: data, now: now) { return result }
        return try gpgv(signature: signature, data: data)
    }

    enum Verdict {
        case decided(Result<Key, Failure>)
        /// A signature or key this code does not verify: gpgv decides.
        case gpgv
    }

    /// The in-process verdict, or `.gpgv` when the signature or its key is
    /// of a kind verified by gpgv.
    func native(signature: String, data: [UInt8], now date: Date) -> Verdict {
        let refuse = { (reason: String) in Verdict.decided(.failure(Failure(description: reason))) }
        guard let bytes = PGP.dearmor(signature, label: "SIGNATURE") else {
            return refuse("its OpenPGP signature block is not base64 between BEGIN and END lines")
        }
        let sig: PGP.Signature
        do {
            let packets = try PGP.packets(bytes)
            guard packets.count == 1, packets[0].tag == 2 else {
                return refuse("its OpenPGP signature block holds \(packets.map { "packet type \($0.tag)" }.joined(separator: ", ")); a commit is signed with one signature packet")
            }
            sig = try PGP.Signature(body: packets[0].body)
        } catch is PGP.Unsupported {
            return .gpgv
        } catch {
            return refuse("its OpenPGP signature cannot be read: \(error)")
        }
        guard sig.type == 0x00 || sig.type == 0x01 else {
            return refuse("its OpenPGP signature is of type 0x\(String(sig.type, radix: 16)); a commit is signed as a document (0x00 or 0x01)")
        }
        guard let issuer = sig.issuerFingerprint.map(PGP.hex) ?? sig.issuerKeyID.map(PGP.hex) else {
            return refuse("its OpenPGP signature names no key")
        }
        var found: (key: Key, certificate: OpenPGPCertificate, subkey: OpenPGPCertificate.Subkey?)?
        for (key, certificate) in zip(keys, certificates) {
            guard let certificate else { continue }
            if sig.mayBe(by: certificate.primary) {
                found = (key, certificate, nil)
            } else if let subkey = certificate.subkeys.first(where: { sig.mayBe(by: $0.key) }) {
                found = (key, certificate, subkey)
            }
            if found != nil { break }
        }
        guard let (key, certificate, subkey) = found else {
            // A key verified by gpgv only may be the one.
            return certificates.contains(where: { $0 == nil }) ? .gpgv : refuse("signed by OpenPGP key \(issuer), which is not in the policy")
        }
        let signing = subkey?.key ?? certificate.primary
        let what = "OpenPGP key \(key.fingerprint) (\(key.name))"
        if [1, 2].contains(sig.hashAlgorithm) {
            return refuse("its OpenPGP signature by \(what) is made with \(PGP.Signature.hashName(sig.hashAlgorithm)), which is not accepted for commits; sign with SHA-256 or stronger")
        }
        guard sig.digest(over: []) != nil, signing.key != nil || signing.unusable != nil else { return .gpgv }
        if let unusable = signing.unusable { return refuse("signed by \(what): \(unusable)") }
        if let critical = sig.unknownCritical {
            return refuse("its OpenPGP signature by \(what) has a critical subpacket of type \(critical) that is not understood")
        }
        // A text signature hashes the text with its line endings as CR LF.
        let signed = sig.type == 0x01 ? Self.canonicalText(data) : data
        guard sig.isMade(by: signing, over: [signed]) else {
            return refuse("the OpenPGP signature by \(what) does not match the commit (BADSIG)")
        }
        let now = Self.seconds(date)
        guard let created = sig.created.map(Int.init) else { return refuse("its OpenPGP signature by \(what) has no creation time") }
        if let lifetime = sig.expiresAfter, lifetime > 0, created + Int(lifetime) <= now {
            return refuse("the OpenPGP signature has expired (made \(Self.date(created)), valid for \(lifetime) s)")
        }
        if created < Int(signing.created) {
            return refuse("its OpenPGP signature by \(what) was made before the key was created")
        }
        if certificate.revoked { return refuse("signed with a revoked OpenPGP key: \(what)") }
        if let expires = certificate.expires, expires <= now { return refuse("signed with an expired OpenPGP key: \(what) expired \(Self.date(expires))") }
        if let subkey {
            let sub = "subkey \(subkey.key.hex)"
            if subkey.revoked { return refuse("signed with a revoked OpenPGP key: \(sub) of \(what)") }
            if let expires = subkey.expires, expires <= now { return refuse("signed with an expired OpenPGP key: \(sub) of \(what) expired \(Self.date(expires))") }
            if !subkey.signs { return refuse("signed by \(sub) of \(what), which is not bound to it as a signing subkey") }
        } else if let flags = certificate.flags, flags & 0x02 == 0 {
            return refuse("signed by \(what), whose self-signature does not allow it to sign")
        }
        return .decided(.success(key))
    }

    static func date(_ seconds: Int) -> String {
        ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: TimeInterval(seconds)))
    }

    /// Line endings as CR LF (RFC 4880 §5.2.1, signature type 0x01).
    static func canonicalText(_ data: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(data.count + data.count / 32)
        for (i, byte) in data.enumerated() {
            if byte == 0x0A, i == 0 || data[i - 1] != 0x0D { out.append(0x0D) }
            out.append(byte)
        }
        return out
    }

    /// gpgv's verdict.
    func gpgv(signature: String, data: [UInt8]) throws -> Result<Key, Failure> {
        let (directory, keyring) = try gpgvHome.prepare(packets)
        let id = UUID().uuidString
        let sigFile = directory.appendingPathComponent("\(id).sig"), dataFile = directory.appendingPathComponent("\(id).data")
        defer {
            try? FileManager.default.removeItem(at: sigFile)
            try? FileManager.default.removeItem(at: dataFile)
        }
        try Data(signature.utf8).write(to: sigFile)
        try Data(data).write(to: dataFile)
        let run = try Self.run("/usr/bin/gpgv", ["--homedir", directory.path, "--keyring", keyring.path, "--status-fd", "1",
                                                 sigFile.path, dataFile.path])
        do {
            return .success(try Self.verdict(run.output, keys: keys))
        } catch let failure as Failure {
            return .failure(failure)
        }
    }

    /// Reads gpgv's status lines (doc/DETAILS of GnuPG).
    static func verdict(_ status: String, keys: [Key]) throws -> Key {
        var words: [String: [String]] = [:]
        for line in status.split(separator: "\n") where line.hasPrefix("[GNUPG:] ") {
            let parts = line.dropFirst(9).split(separator: " ").map(String.init)
            if let first = parts.first { words[first] = Array(parts.dropFirst()) }
        }
        if words["REVKEYSIG"] != nil { throw Failure(description: "signed with a revoked OpenPGP key") }
        if words["EXPKEYSIG"] != nil { throw Failure(description: "signed with an expired OpenPGP key") }
        if words["EXPSIG"] != nil { throw Failure(description: "the OpenPGP signature has expired") }
        if words["BADSIG"] != nil { throw Failure(description: "the OpenPGP signature does not match the commit (BADSIG)") }
        if let missing = words["NO_PUBKEY"] ?? words["ERRSIG"] {
            throw Failure(description: "signed by OpenPGP key \(missing.first ?? "?"), which is not in the policy")
        }
        guard words["GOODSIG"] != nil, let valid = words["VALIDSIG"], let primary = valid.last else {
            throw Failure(description: "gpgv did not report a good signature")
        }
        if let hash = valid.count > 7 ? UInt8(valid[7]) : nil, [1, 2].contains(hash) {
            throw Failure(description: "the OpenPGP signature is made with \(PGP.Signature.hashName(hash)), which is not accepted for commits; sign with SHA-256 or stronger")
        }
        guard let key = keys.first(where: { $0.fingerprint == primary.uppercased() }) else {
            throw Failure(description: "signed by OpenPGP key \(primary), which is not in the policy")
        }
        return key
    }

    /// The packets of an ASCII-armored public key block, or the file as it
    /// is when it is binary.
    static func dearmor(_ bytes: [UInt8], file: String) throws -> [UInt8] {
        guard let text = String(bytes: bytes, encoding: .utf8), text.contains("-----BEGIN PGP PUBLIC KEY BLOCK-----") else {
            guard let first = bytes.first, first & 0x80 != 0 else {
                throw Failure(description: "neither an armored (.asc) nor a binary OpenPGP public key")
            }
            return bytes
        }
        guard let packets = PGP.dearmor(text, label: "PUBLIC KEY BLOCK") else {
            throw Failure(description: "the armored key is not base64 between BEGIN and END lines")
        }
        return packets
    }

    static func run(_ tool: String, _ args: [String]) throws -> (status: Int32, output: String, errors: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = args
        process.environment = ["LC_ALL": "C", "PATH": "/usr/bin:/bin"]
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        do {
            try process.run()
        } catch {
            throw Failure(description: "cannot run \(tool) (install GnuPG: apt-get install gpg gpgv): \(error)")
        }
        // Read both pipes to their end before waiting: neither can fill up and block the tool.
        let errors = Mutexed()
        let reader = Thread { errors.set(err.fileHandleForReading.readDataToEndOfFile()) }
        reader.start()
        let output = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        while !errors.isSet { usleep(1_000) }
        return (process.terminationStatus, String(decoding: output, as: UTF8.self), String(decoding: errors.value, as: UTF8.self))
    }
}

/// gpgv's home: a private temporary directory with the keyring, made
/// the first time gpgv is needed and removed with the keyring object.
private final class GpgvHome: @unchecked Sendable {
    private let lock = NSLock()
    private var made: (directory: URL, keyring: URL)?

    func prepare(_ packets: [UInt8]) throws -> (directory: URL, keyring: URL) {
        lock.lock()
        defer { lock.unlock() }
        if let made { return made }
        let fm = FileManager.default
        let directory = fm.temporaryDirectory.appendingPathComponent("accord-openpgp-\(UUID().uuidString)")
        try fm.createDirectory(at: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let keyring = directory.appendingPathComponent("trusted.gpg")
        do {
            try Data(packets).write(to: keyring)
        } catch {
            try? fm.removeItem(at: directory)
            throw error
        }
        made = (directory, keyring)
        return (directory, keyring)
    }

    deinit {
        if let made { try? FileManager.default.removeItem(at: made.directory) }
    }
}

/// A value one thread sets and another waits for.
private final class Mutexed: @unchecked Sendable {
    private let lock = NSLock()
    private var data: Data?
    func set(_ d: Data) { lock.lock(); data = d; lock.unlock() }
    var isSet: Bool { lock.lock(); defer { lock.unlock() }; return data != nil }
    var value: Data { lock.lock(); defer { lock.unlock() }; return data ?? Data() }
}

/// A transferable public key (RFC 4880 §11.1) and what its own
/// signatures say of it, checked when the policy loads: revoked or not,
/// when it expires, what it may do, and its subkeys. Only self-signatures
/// count (certifications by others are not read); of several, the newest
/// valid one speaks (gpg's `--quick-set-expire` adds a newer one).
struct OpenPGPCertificate: Sendable {
    struct Subkey: Sendable {
        let key: PGP.PublicKey
        let revoked: Bool
        /// Seconds since 1970; nil: never.
        let expires: Int?
        /// Bound for signing by the primary key, and the subkey signs the binding back.
        let signs: Bool
    }

    let primary: PGP.PublicKey
    let revoked: Bool
    let expires: Int?
    let flags: UInt8?
    let subkeys: [Subkey]

    /// Throws `PGP.Unsupported` when the primary key is of an algorithm
    /// verified by gpgv only.
    init(primary: PGP.PublicKey, packets: ArraySlice<PGP.Packet>, now: Int) throws {
        guard primary.key != nil || primary.unusable != nil else {
            throw PGP.Unsupported(description: "an OpenPGP key of algorithm \(primary.algorithm)")
        }
        if let unusable = primary.unusable { throw PGP.Malformed(unusable) }
        self.primary = primary
        var direct: [PGP.Signature] = []
        var userIDs: [(packet: PGP.Packet, signatures: [PGP.Signature])] = []
        var subkeys: [(key: PGP.PublicKey?, signatures: [PGP.Signature])] = []
        enum Section { case key, userID, subkey }
        var section = Section.key
        for packet in packets {
            switch packet.tag {
            case 2:
                // A signature this code cannot read (another version) says nothing here.
                guard let signature = try? PGP.Signature(body: packet.body) else { continue }
                switch section {
                case .key: direct.append(signature)
                case .userID: userIDs[userIDs.count - 1].signatures.append(signature)
                case .subkey: subkeys[subkeys.count - 1].signatures.append(signature)
                }
            case 13, 17:
                userIDs.append((packet, []))
                section = .userID
            case 14:
                subkeys.append((try? PGP.PublicKey(body: packet.body), []))
                section = .subkey
            case 6:
                throw PGP.Malformed("the file holds more than one OpenPGP key; export one key per file")
            default:
                continue // trust packets and the like
            }
        }
        let prefix = PGP.keyPrefix(primary.body)
        /// Signatures of `types` the primary key made over `parts`, in force at `now`.
        func made(_ signatures: [PGP.Signature], _ types: ClosedRange<UInt8>, over parts: [[UInt8]]) -> [PGP.Signature] {
            signatures.filter { sig in
                guard types.contains(sig.type), sig.mayBe(by: primary), let created = sig.created.map(Int.init), created <= now,
                      sig.expiresAfter.map({ $0 == 0 || created + Int($0) > now }) ?? true else { return false }
                return sig.isMade(by: primary, over: parts)
            }
        }
        func expiry(_ key: PGP.PublicKey, _ signature: PGP.Signature) -> Int? {
            signature.keyExpiresAfter.flatMap { $0 == 0 ? nil : Int(key.created) + Int($0) }
        }

        revoked = !made(direct, 0x20...0x20, over: [prefix]).isEmpty
        var selfSignatures = made(direct, 0x1F...0x1F, over: [prefix])
        for userID in userIDs {
            let parts = [prefix, PGP.userIDPrefix(userID.packet)]
            let certifications = made(userID.signatures, 0x10...0x13, over: parts)
            let revocation = made(userID.signatures, 0x30...0x30, over: parts).compactMap(\.created).max()
            selfSignatures += certifications.filter { revocation == nil || $0.created! > revocation! }
        }
        guard let newest = selfSignatures.max(by: { $0.created! < $1.created! }) else {
            throw PGP.Malformed("the key has no valid self-signature (a user ID certified by the key itself)")
        }
        expires = expiry(primary, newest)
        flags = newest.keyFlags

        self.subkeys = subkeys.compactMap { entry -> Subkey? in
            guard let key = entry.key else { return nil }
            let parts = [prefix, PGP.keyPrefix(key.body)]
            guard let binding = made(entry.signatures, 0x18...0x18, over: parts).max(by: { $0.created! < $1.created! }) else { return nil }
            var signs = false
            if let flags = binding.keyFlags, flags & 0x02 != 0, let embedded = binding.embedded,
               let back = try? PGP.Signature(body: embedded), back.type == 0x19, back.unknownCritical == nil {
                signs = back.isMade(by: key, over: parts)
            }
            return Subkey(key: key, revoked: !made(entry.signatures, 0x28...0x28, over: parts).isEmpty, expires: expiry(key, binding), signs: signs)
        }
    }
}
