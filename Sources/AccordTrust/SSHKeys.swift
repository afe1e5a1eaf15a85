import AccordCore
import Crypto
import _CryptoExtras
import Foundation

/// SSH's wire encoding (RFC 4251 §5): big-endian `uint32`, length-prefixed
/// `string`s. Every read is bounds-checked; a short or malformed blob is an
/// error, never a crash.
struct SSHReader {
    struct Malformed: Error, CustomStringConvertible {
        let description: String
    }

    private var bytes: ArraySlice<UInt8>

    init(_ bytes: [UInt8]) { self.bytes = bytes[...] }

    var isAtEnd: Bool { bytes.isEmpty }

    mutating func take(_ n: Int, _ what: String) throws -> [UInt8] {
        guard n >= 0, bytes.count >= n else { throw Malformed(description: "\(what) is cut short") }
        defer { bytes = bytes.dropFirst(n) }
        return Array(bytes.prefix(n))
    }

    mutating func uint32(_ what: String) throws -> UInt32 {
        try take(4, what).reduce(0) { $0 << 8 | UInt32($1) }
    }

    mutating func string(_ what: String) throws -> [UInt8] {
        let length = try uint32(what)
        guard length <= 1 << 20 else { throw Malformed(description: "\(what) claims \(length) bytes") }
        return try take(Int(length), what)
    }

    mutating func text(_ what: String) throws -> String {
        String(decoding: try string(what), as: UTF8.self)
    }

    /// An `mpint` as unsigned big-endian bytes without leading zeros.
    mutating func mpint(_ what: String) throws -> [UInt8] {
        Array(try string(what).drop { $0 == 0 })
    }

    static func string(_ bytes: [UInt8]) -> [UInt8] {
        let n = UInt32(bytes.count)
        return [UInt8(n >> 24), UInt8(n >> 16 & 0xFF), UInt8(n >> 8 & 0xFF), UInt8(n & 0xFF)] + bytes
    }
}

/// An SSH public key as `authorized_keys` and `allowed_signers` write it
/// (`ssh-ed25519 AAAA… comment`): Ed25519, ECDSA on P-256, P-384 and P-521,
/// and RSA of at least 2,048 bits.
public struct SSHPublicKey: Sendable {
    let algorithm: SigningKey
    /// The wire blob, which identifies the key.
    public let blob: [UInt8]
    public let type: String

    /// `SHA256:…`, as `ssh-keygen -l` prints it.
    public var fingerprint: String {
        "SHA256:" + Data(SHA256.hash(data: blob)).base64EncodedString().replacingOccurrences(of: "=", with: "")
    }

    public struct Invalid: Error, CustomStringConvertible, Sendable {
        public let description: String
    }

    /// A public key line: `TYPE BASE64 [COMMENT]`.
    public init(line: String) throws {
        let parts = line.trimmingCharacters(in: .whitespacesAndNewlines).split(whereSeparator: { $0 == " " || $0 == "\t" })
        guard parts.count >= 2 else {
            throw Invalid(description: "not an SSH public key: expected \"TYPE BASE64 [COMMENT]\", as in a .pub file")
        }
        guard let blob = Data(base64Encoded: String(parts[1])) else {
            throw Invalid(description: "not an SSH public key: its key is not base64")
        }
        try self.init(blob: Array(blob))
        guard type == parts[0] else {
            throw Invalid(description: "the key says it is \(Text.quoted(type)) but is written as \(Text.quoted(String(parts[0])))")
        }
    }

    public init(blob: [UInt8]) throws {
        var r = SSHReader(blob)
        do {
            let type = try r.text("the key type")
            self.type = type
            switch type {
            case "ssh-ed25519":
                algorithm = .ed25519(try Curve25519.Signing.PublicKey(rawRepresentation: try r.string("the Ed25519 key")))
            case "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521":
                let curve = try r.text("the curve")
                guard "ecdsa-sha2-" + curve == type else { throw Invalid(description: "an \(type) key names the curve \(Text.quoted(curve))") }
                let point = try r.string("the ECDSA point")
                switch curve {
                case "nistp256": algorithm = .p256(try P256.Signing.PublicKey(x963Representation: point))
                case "nistp384": algorithm = .p384(try P384.Signing.PublicKey(x963Representation: point))
                default: algorithm = .p521(try P521.Signing.PublicKey(x963Representation: point))
                }
            case "ssh-rsa":
                let e = try r.mpint("the RSA exponent")
                let n = try r.mpint("the RSA modulus")
                guard n.count * 8 >= SigningKey.minimumRSABits else { throw Invalid(description: "an RSA key of \(n.count * 8) bits; at least \(SigningKey.minimumRSABits) are needed") }
                algorithm = .rsa(try _RSA.Signing.PublicKey(n: n, e: e))
            default:
                throw Invalid(description: "the key type \(Text.quoted(type, limit: 60)) is not supported (ssh-ed25519, ecdsa-sha2-nistp256/384/521, ssh-rsa)")
            }
        } catch let error as Invalid {
            throw error
        } catch let error as SSHReader.Malformed {
            throw Invalid(description: "a malformed SSH public key: \(error)")
        } catch {
            throw Invalid(description: "not a valid SSH public key: \(error)")
        }
        guard r.isAtEnd else { throw Invalid(description: "a malformed SSH public key: bytes after the key") }
        self.blob = blob
    }

    /// Whether `signature` (SSH's encoding: format name and blob) signs `data`.
    func isValidSignature(_ signature: [UInt8], for data: [UInt8]) throws -> Bool {
        var r = SSHReader(signature)
        let format = try r.text("the signature format")
        let sig = try r.string("the signature")
        switch algorithm {
        case .ed25519(let key):
            guard format == "ssh-ed25519" else { throw Invalid(description: "an \(format) signature from an ssh-ed25519 key") }
            return key.isValidSignature(sig, for: data)
        case .p256(let key):
            guard format == type else { throw Invalid(description: "an \(format) signature from an \(type) key") }
            return key.isValidSignature(try P256.Signing.ECDSASignature(rawRepresentation: try Self.rawECDSA(sig, size: 32)), for: data)
        case .p384(let key):
            guard format == type else { throw Invalid(description: "an \(format) signature from an \(type) key") }
            return key.isValidSignature(try P384.Signing.ECDSASignature(rawRepresentation: try Self.rawECDSA(sig, size: 48)), for: data)
        case .p521(let key):
            guard format == type else { throw Invalid(description: "an \(format) signature from an \(type) key") }
            return key.isValidSignature(try P521.Signing.ECDSASignature(rawRepresentation: try Self.rawECDSA(sig, size: 66)), for: data)
        case .rsa(let key):
            let signature = _RSA.Signing.RSASignature(rawRepresentation: sig)
            switch format {
            case "rsa-sha2-256": return key.isValidSignature(signature, for: SHA256.hash(data: data), padding: .insecurePKCS1v1_5)
            case "rsa-sha2-512": return key.isValidSignature(signature, for: SHA512.hash(data: data), padding: .insecurePKCS1v1_5)
            default: throw Invalid(description: "an RSA signature made with \(Text.quoted(format, limit: 40)); only rsa-sha2-256 and rsa-sha2-512 are accepted (not SHA-1)")
            }
        }
    }

    /// ECDSA's `mpint r, mpint s` as the fixed-size `r || s` swift-crypto reads.
    static func rawECDSA(_ blob: [UInt8], size: Int) throws -> [UInt8] {
        var r = SSHReader(blob)
        let parts = [try r.mpint("r"), try r.mpint("s")]
        guard r.isAtEnd, let raw = SigningKey.fixed(parts, size: size) else { throw Invalid(description: "a malformed ECDSA signature") }
        return raw
    }
}
