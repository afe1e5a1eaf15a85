import AccordCore
import Crypto
import _CryptoExtras
import Foundation

/// The parts of OpenPGP (RFC 4880, and RFC 9580's version 4 Ed25519) that
/// verifying a commit signature needs: packets, version 4 public keys and
/// signatures, their subpackets and the hashes signatures are made over.
/// Everything read is bounds-checked; malformed input is an error, never a
/// crash.
enum PGP {
    struct Malformed: Error, CustomStringConvertible, Sendable {
        let description: String
        init(_ description: String) { self.description = description }
    }

    struct Packet: Sendable {
        let tag: UInt8
        let body: [UInt8]
    }

    /// Every packet of `bytes`, in order.
    static func packets(_ bytes: [UInt8]) throws -> [Packet] {
        var out: [Packet] = []
        var offset = 0
        while offset < bytes.count {
            let tagByte = bytes[offset]
            guard tagByte & 0x80 != 0 else { throw Malformed("not an OpenPGP packet at byte \(offset)") }
            offset += 1
            let tag: UInt8
            let length: Int
            if tagByte & 0x40 != 0 {
                // New format: the tag in the low six bits, then a one-, two- or five-byte length.
                tag = tagByte & 0x3F
                guard offset < bytes.count else { throw Malformed("a truncated OpenPGP packet") }
                let first = Int(bytes[offset])
                if first < 192 {
                    length = first
                    offset += 1
                } else if first < 224, offset + 1 < bytes.count {
                    length = (first - 192) << 8 + Int(bytes[offset + 1]) + 192
                    offset += 2
                } else if first == 255, offset + 4 < bytes.count {
                    length = bytes[(offset + 1)...(offset + 4)].reduce(0) { $0 << 8 | Int($1) }
                    offset += 5
                } else {
                    throw Malformed("an OpenPGP packet of partial or truncated length")
                }
            } else {
                // Old format: the tag in bits 5–2, the length's size in bits 1–0.
                tag = (tagByte >> 2) & 0x0F
                let sizes = [1, 2, 4]
                let kind = Int(tagByte & 0x03)
                guard kind < sizes.count, offset + sizes[kind] <= bytes.count else {
                    throw Malformed("an OpenPGP packet of indeterminate length")
                }
                length = bytes[offset..<(offset + sizes[kind])].reduce(0) { $0 << 8 | Int($1) }
                offset += sizes[kind]
            }
            guard length <= bytes.count - offset else { throw Malformed("a truncated OpenPGP packet (type \(tag))") }
            out.append(Packet(tag: tag, body: Array(bytes[offset..<(offset + length)])))
            offset += length
        }
        return out
    }

    /// The packets of an ASCII-armored block (RFC 4880 §6.2) of `label`
    /// (`PUBLIC KEY BLOCK`, `SIGNATURE`), or nil when there is none.
    static func dearmor(_ text: String, label: String) -> [UInt8]? {
        var body = ""
        var inBlock = false, inHeaders = false, ended = false
        // "\r\n" is one Character: split on both.
        for raw in text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" }) {
            let line = raw.trimmingCharacters(in: .whitespaces.union(CharacterSet(charactersIn: "\r")))
            if line == "-----BEGIN PGP \(label)-----" { inBlock = true; inHeaders = true; continue }
            guard inBlock else { continue }
            if line == "-----END PGP \(label)-----" { ended = true; break }
            if inHeaders {
                if line.isEmpty { inHeaders = false }
                continue
            }
            if line.hasPrefix("=") { continue } // the CRC-24 checksum
            body += line
        }
        guard ended, let data = Data(base64Encoded: body), !data.isEmpty else { return nil }
        return Array(data)
    }

    /// A bounds-checked reader of a packet's body.
    struct Reader {
        let bytes: [UInt8]
        var offset = 0
        init(_ bytes: [UInt8]) { self.bytes = bytes }

        var isAtEnd: Bool { offset >= bytes.count }

        mutating func take(_ n: Int, _ what: String) throws -> [UInt8] {
            guard n >= 0, n <= bytes.count - offset else { throw Malformed("\(what) is truncated") }
            defer { offset += n }
            return Array(bytes[offset..<(offset + n)])
        }

        mutating func byte(_ what: String) throws -> UInt8 { try take(1, what)[0] }

        mutating func uint(_ size: Int, _ what: String) throws -> Int {
            try take(size, what).reduce(0) { $0 << 8 | Int($1) }
        }

        /// A multiprecision integer: its length in bits, then the bytes.
        mutating func mpi(_ what: String) throws -> [UInt8] {
            let bits = try uint(2, what)
            return try take((bits + 7) / 8, what)
        }
    }

    /// A version 4 public key or subkey packet.
    struct PublicKey: Sendable {
        let body: [UInt8]
        let created: UInt32
        let algorithm: UInt8
        /// SHA-1 over 0x99, the body's two-byte length and the body (RFC 4880 §12.2).
        let fingerprint: [UInt8]
        /// The key, when it is of an algorithm that signs and is verified here.
        let key: SigningKey?
        /// Why a key of a signing algorithm cannot be used, when it cannot.
        let unusable: String?

        var keyID: [UInt8] { Array(fingerprint.suffix(8)) }
        var hex: String { PGP.hex(fingerprint) }

        static let ed25519Legacy: [UInt8] = [0x2B, 0x06, 0x01, 0x04, 0x01, 0xDA, 0x47, 0x0F, 0x01]
        static let nistP256: [UInt8] = [0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07]
        static let nistP384: [UInt8] = [0x2B, 0x81, 0x04, 0x00, 0x22]
        static let nistP521: [UInt8] = [0x2B, 0x81, 0x04, 0x00, 0x23]

        /// Throws `Unsupported` for a key of another version.
        init(body: [UInt8]) throws {
            var r = Reader(body)
            let version = try r.byte("the key's version")
            guard version == 4 else { throw Unsupported(description: "an OpenPGP version \(version) key") }
            self.body = body
            created = UInt32(try r.uint(4, "the key's creation time"))
            algorithm = try r.byte("the key's algorithm")
            guard body.count <= 0xFFFF else { throw Malformed("an OpenPGP key of \(body.count) bytes") }
            fingerprint = Array(Insecure.SHA1.hash(data: PGP.keyPrefix(body)))
            var key: SigningKey?
            var unusable: String?
            switch algorithm {
            case 1, 3: // RSA (sign and encrypt, or sign only)
                let n = Array(try r.mpi("the RSA modulus").drop { $0 == 0 })
                let e = try r.mpi("the RSA exponent")
                if n.count * 8 < SigningKey.minimumRSABits {
                    unusable = "an RSA key of \(n.count * 8) bits; at least \(SigningKey.minimumRSABits) are needed"
                } else {
                    key = .rsa(try _RSA.Signing.PublicKey(n: n, e: e))
                }
            case 19, 22: // ECDSA, EdDSA (the curve's OID, then the point)
                let oid = try r.take(Int(try r.byte("the curve")), "the curve")
                let point = try r.mpi("the public point")
                switch (algorithm, oid) {
                case (22, Self.ed25519Legacy):
                    guard point.count == 33, point[0] == 0x40 else { throw Malformed("a malformed Ed25519 point") }
                    key = .ed25519(try Curve25519.Signing.PublicKey(rawRepresentation: point.dropFirst()))
                case (19, Self.nistP256): key = .p256(try P256.Signing.PublicKey(x963Representation: point))
                case (19, Self.nistP384): key = .p384(try P384.Signing.PublicKey(x963Representation: point))
                case (19, Self.nistP521): key = .p521(try P521.Signing.PublicKey(x963Representation: point))
                default: break
                }
            case 27: // Ed25519 (RFC 9580)
                key = .ed25519(try Curve25519.Signing.PublicKey(rawRepresentation: try r.take(32, "the Ed25519 key")))
            default:
                break
            }
            self.key = key
            self.unusable = unusable
        }
    }

    /// A key of a version or algorithm not verified here.
    struct Unsupported: Error, CustomStringConvertible, Sendable {
        let description: String
    }

    /// What a key (or subkey) packet contributes to the hash of a
    /// signature over it.
    static func keyPrefix(_ body: [UInt8]) -> [UInt8] {
        [0x99, UInt8(body.count >> 8 & 0xFF), UInt8(body.count & 0xFF)] + body
    }

    /// What a user ID (tag 13, 0xB4) or user attribute (tag 17, 0xD1)
    /// contributes to the hash of a certification.
    static func userIDPrefix(_ packet: Packet) -> [UInt8] {
        let n = packet.body.count
        return [packet.tag == 17 ? 0xD1 : 0xB4, UInt8(n >> 24 & 0xFF), UInt8(n >> 16 & 0xFF), UInt8(n >> 8 & 0xFF), UInt8(n & 0xFF)] + packet.body
    }

    static func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02X", $0) }.joined() }

    /// A version 4 signature packet.
    struct Signature: Sendable {
        let type: UInt8
        let publicKeyAlgorithm: UInt8
        let hashAlgorithm: UInt8
        /// The version through the hashed subpackets: what the signature's hash covers after the signed data.
        let hashedPart: [UInt8]
        let left16: [UInt8]
        let material: [[UInt8]]

        /// Hashed subpackets only: the signature's own claims.
        var created: UInt32?
        var expiresAfter: UInt32?
        var keyExpiresAfter: UInt32?
        var keyFlags: UInt8?
        /// A critical subpacket this reader does not know: the signature must not be trusted (RFC 4880 §5.2.3.1).
        var unknownCritical: UInt8?
        /// Hashed or unhashed: hints that name the key, and the back signature of a signing subkey.
        var issuerFingerprint: [UInt8]?
        var issuerKeyID: [UInt8]?
        var embedded: [UInt8]?

        static let knownSubpackets: Set<UInt8> = [2, 3, 4, 5, 7, 9, 11, 12, 16, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 39]

        /// Throws `Unsupported` for a signature of another version.
        init(body: [UInt8]) throws {
            var r = Reader(body)
            let version = try r.byte("the signature's version")
            guard version == 4 else { throw Unsupported(description: "an OpenPGP version \(version) signature") }
            type = try r.byte("the signature's type")
            publicKeyAlgorithm = try r.byte("the signature's algorithm")
            hashAlgorithm = try r.byte("the signature's hash")
            let hashedLength = try r.uint(2, "the hashed subpackets")
            let hashed = try r.take(hashedLength, "the hashed subpackets")
            hashedPart = Array(body[0..<r.offset])
            let unhashed = try r.take(try r.uint(2, "the unhashed subpackets"), "the unhashed subpackets")
            left16 = try r.take(2, "the hash's first bytes")
            var material: [[UInt8]] = []
            if publicKeyAlgorithm == 27 {
                material = [try r.take(64, "the Ed25519 signature")]
            } else {
                while !r.isAtEnd { material.append(try r.mpi("the signature")) }
            }
            self.material = material
            let hashedSubpackets = try Self.subpackets(hashed)
            for (type, critical, data) in hashedSubpackets {
                var d = Reader(data)
                switch type {
                case 2: created = UInt32(try d.uint(4, "the signature's creation time"))
                case 3: expiresAfter = UInt32(try d.uint(4, "the signature's expiration time"))
                case 9: keyExpiresAfter = UInt32(try d.uint(4, "the key's expiration time"))
                case 27: keyFlags = data.first ?? 0
                default: break
                }
                if critical, !Self.knownSubpackets.contains(type) { unknownCritical = type }
            }
            for (type, _, data) in hashedSubpackets + (try Self.subpackets(unhashed)) {
                switch type {
                case 16 where data.count == 8: issuerKeyID = data
                case 33 where data.count == 21 && data[0] == 4: issuerFingerprint = Array(data.dropFirst())
                case 32: embedded = data
                default: break
                }
            }
        }

        /// Each subpacket's type, criticality and data.
        static func subpackets(_ bytes: [UInt8]) throws -> [(type: UInt8, critical: Bool, data: [UInt8])] {
            var r = Reader(bytes)
            var out: [(type: UInt8, critical: Bool, data: [UInt8])] = []
            while !r.isAtEnd {
                let first = Int(try r.byte("a subpacket"))
                let length: Int
                if first < 192 {
                    length = first
                } else if first < 255 {
                    length = (first - 192) << 8 + Int(try r.byte("a subpacket")) + 192
                } else {
                    length = try r.uint(4, "a subpacket")
                }
                guard length >= 1 else { throw Malformed("an empty subpacket") }
                let data = try r.take(length, "a subpacket")
                out.append((data[0] & 0x7F, data[0] & 0x80 != 0, Array(data.dropFirst())))
            }
            return out
        }

        /// The hash this signature is made over, of `parts` then its own
        /// trailer (RFC 4880 §5.2.4); nil for a hash not verified here.
        func digest(over parts: [[UInt8]]) -> (any Digest)? {
            let trailer = hashedPart + [0x04, 0xFF] + withUnsafeBytes(of: UInt32(hashedPart.count).bigEndian, Array.init)
            func run<H: HashFunction>(_: H.Type) -> any Digest {
                var hasher = H()
                for part in parts { hasher.update(data: part) }
                hasher.update(data: trailer)
                return hasher.finalize()
            }
            switch hashAlgorithm {
            case 2: return run(Insecure.SHA1.self)
            case 8: return run(SHA256.self)
            case 9: return run(SHA384.self)
            case 10: return run(SHA512.self)
            default: return nil
            }
        }

        static func hashName(_ algorithm: UInt8) -> String {
            [1: "MD5", 2: "SHA-1", 3: "RIPEMD-160", 8: "SHA-256", 9: "SHA-384", 10: "SHA-512", 11: "SHA-224", 12: "SHA3-256", 14: "SHA3-512"][algorithm]
                ?? "hash algorithm \(algorithm)"
        }

        /// Whether `key` made this signature over `parts`: the algorithm
        /// matches the key's, the signature verifies, and no critical
        /// subpacket is unknown. The hash's first two bytes (`left16`) are
        /// not signed and not relied on (RFC 9580 §5.2.4), as gpgv does not.
        func isMade(by key: PublicKey, over parts: [[UInt8]]) -> Bool {
            guard unknownCritical == nil, publicKeyAlgorithm == key.algorithm || (key.algorithm == 3 && publicKeyAlgorithm == 1),
                  let signing = key.key, let digest = digest(over: parts) else { return false }
            return signing.isValidSignature(material, for: digest)
        }

        /// Whether it names `key` as its issuer (or names none).
        func mayBe(by key: PublicKey) -> Bool {
            if let issuerFingerprint { return issuerFingerprint == key.fingerprint }
            if let issuerKeyID { return issuerKeyID == key.keyID }
            return true
        }
    }
}
