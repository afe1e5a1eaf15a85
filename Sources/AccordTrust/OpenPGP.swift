import AccordCore
import Crypto
import Foundation

/// OpenPGP signatures, verified by GnuPG's `gpgv` (a maintained
/// implementation, not a parser of our own) against a keyring made of the
/// policy's public keys only. A signature counts only when gpgv reports it
/// good and valid (`GOODSIG` and `VALIDSIG`) and the key is neither
/// expired nor revoked (`EXPKEYSIG`, `REVKEYSIG`, `EXPSIG`); the signer is
/// the policy key whose primary fingerprint gpgv names.
public final class OpenPGPKeyring: Sendable {
    public struct Key: Sendable {
        public let name: String
        public let file: String
        /// The primary key's fingerprint (upper-case hex).
        public let fingerprint: String
    }

    public let keys: [Key]
    let directory: URL
    let keyring: URL

    public struct Failure: Error, CustomStringConvertible, Sendable {
        public let description: String
    }

    /// Reads every key file (ASCII-armored `.asc`, or binary), takes its
    /// primary key's fingerprint, and writes the keyring gpgv reads into a
    /// private temporary directory (no process is started: a policy loads
    /// in well under a millisecond per key).
    public init(_ files: [(name: String, path: String)]) throws {
        let fm = FileManager.default
        directory = fm.temporaryDirectory.appendingPathComponent("accord-openpgp-\(UUID().uuidString)")
        try fm.createDirectory(at: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        keyring = directory.appendingPathComponent("trusted.gpg")
        var all: [UInt8] = []
        var keys: [Key] = []
        do {
            for (name, path) in files {
                guard let data = fm.contents(atPath: path) else {
                    throw Failure(description: "key \(Text.quoted(name)): cannot read \(Text.quoted(path))")
                }
                let packets = try Self.dearmor(Array(data), file: path)
                let fingerprint: String
                do {
                    fingerprint = try Self.fingerprint(packets)
                } catch let failure as Failure {
                    throw Failure(description: "key \(Text.quoted(name)): \(Text.quoted(path)): \(failure.description)")
                }
                keys.append(Key(name: name, file: path, fingerprint: fingerprint))
                all += packets
            }
            try Data(all).write(to: keyring)
        } catch {
            try? fm.removeItem(at: directory)
            throw error
        }
        self.keys = keys
    }

    deinit { try? FileManager.default.removeItem(at: directory) }

    /// `verify` on a thread of its own: starting and waiting for gpgv
    /// never holds one of Swift's cooperative threads.
    public func verified(signature: String, data: [UInt8]) async throws -> Result<Key, Failure> {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global(qos: .userInitiated).async {
                continuation.resume(with: Result { try self.verify(signature: signature, data: data) })
            }
        }
    }

    /// The policy key that made a good, valid signature of `data`, or why not.
    public func verify(signature: String, data: [UInt8]) throws -> Result<Key, Failure> {
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
        guard let key = keys.first(where: { $0.fingerprint == primary.uppercased() }) else {
            throw Failure(description: "signed by OpenPGP key \(primary), which is not in the policy")
        }
        return key
    }

    /// The version 4 fingerprint of the first packet, which must be a
    /// public key (RFC 4880 §12.2: SHA-1 of 0x99, the body's two-byte
    /// length and the body), upper-case hex.
    static func fingerprint(_ packets: [UInt8]) throws -> String {
        guard let tagByte = packets.first, tagByte & 0x80 != 0 else { throw Failure(description: "not an OpenPGP packet") }
        var offset = 1
        let tag: UInt8
        let length: Int
        if tagByte & 0x40 != 0 {
            // New format: tag in the low six bits, then a one-, two- or five-byte length.
            tag = tagByte & 0x3F
            guard packets.count > offset else { throw Failure(description: "a truncated OpenPGP packet") }
            let first = Int(packets[offset])
            if first < 192 {
                length = first
                offset += 1
            } else if first < 224, packets.count > offset + 1 {
                length = (first - 192) << 8 + Int(packets[offset + 1]) + 192
                offset += 2
            } else if first == 255, packets.count > offset + 4 {
                length = packets[(offset + 1)...(offset + 4)].reduce(0) { $0 << 8 | Int($1) }
                offset += 5
            } else {
                throw Failure(description: "an OpenPGP packet of indeterminate length")
            }
        } else {
            // Old format: tag in bits 5–2, the length's size in bits 1–0.
            tag = (tagByte >> 2) & 0x0F
            let sizes = [1, 2, 4]
            guard Int(tagByte & 0x03) < sizes.count, packets.count >= offset + sizes[Int(tagByte & 0x03)] else {
                throw Failure(description: "an OpenPGP packet of indeterminate length")
            }
            let n = sizes[Int(tagByte & 0x03)]
            length = packets[offset..<(offset + n)].reduce(0) { $0 << 8 | Int($1) }
            offset += n
        }
        guard tag == 6 else { throw Failure(description: "does not start with an OpenPGP public key (packet type \(tag)); export it with gpg --armor --export") }
        guard length > 0, packets.count >= offset + length else { throw Failure(description: "a truncated OpenPGP public key") }
        let body = Array(packets[offset..<(offset + length)])
        guard body.first == 4 else {
            throw Failure(description: "an OpenPGP version \(body.first ?? 0) key; gpgv here verifies version 4 keys")
        }
        let digest = Insecure.SHA1.hash(data: [0x99, UInt8(length >> 8 & 0xFF), UInt8(length & 0xFF)] + body)
        return digest.map { String(format: "%02X", $0) }.joined()
    }

    /// The packets of an ASCII-armored block (RFC 4880 §6.2), or the file
    /// as it is when it is binary.
    static func dearmor(_ bytes: [UInt8], file: String) throws -> [UInt8] {
        guard let text = String(bytes: bytes, encoding: .utf8), text.contains("-----BEGIN PGP PUBLIC KEY BLOCK-----") else {
            guard let first = bytes.first, first & 0x80 != 0 else {
                throw Failure(description: "\(Text.quoted(file)) is neither an armored (.asc) nor a binary OpenPGP public key")
            }
            return bytes
        }
        var body = ""
        var inBlock = false, inHeaders = false
        for raw in text.split(separator: "\n", omittingEmptySubsequences: false) {
            let line = raw.trimmingCharacters(in: .whitespaces.union(CharacterSet(charactersIn: "\r")))
            if line == "-----BEGIN PGP PUBLIC KEY BLOCK-----" { inBlock = true; inHeaders = true; continue }
            guard inBlock else { continue }
            if line == "-----END PGP PUBLIC KEY BLOCK-----" { break }
            if inHeaders {
                if line.isEmpty { inHeaders = false }
                continue
            }
            if line.hasPrefix("=") { continue } // the CRC-24 checksum
            body += line
        }
        guard let data = Data(base64Encoded: body), !data.isEmpty else {
            throw Failure(description: "\(Text.quoted(file)): the armored key is not base64")
        }
        return Array(data)
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

/// A value one thread sets and another waits for.
private final class Mutexed: @unchecked Sendable {
    private let lock = NSLock()
    private var data: Data?
    func set(_ d: Data) { lock.lock(); data = d; lock.unlock() }
    var isSet: Bool { lock.lock(); defer { lock.unlock() }; return data != nil }
    var value: Data { lock.lock(); defer { lock.unlock() }; return data ?? Data() }
}
