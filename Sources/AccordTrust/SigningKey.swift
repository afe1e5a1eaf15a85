import Crypto
import _CryptoExtras

/// A public key that verifies signatures: the algorithms both SSH and
/// OpenPGP keys are accepted in (Ed25519, ECDSA on P-256, P-384 and P-521,
/// RSA of at least 2,048 bits).
enum SigningKey: Sendable {
    case ed25519(Curve25519.Signing.PublicKey)
    case p256(P256.Signing.PublicKey)
    case p384(P384.Signing.PublicKey)
    case p521(P521.Signing.PublicKey)
    case rsa(_RSA.Signing.PublicKey)

    /// The smallest RSA modulus accepted, in bits.
    static let minimumRSABits = 2048

    /// Whether `parts` (OpenPGP's signature material: one RSA integer, or
    /// the two integers r and s of (Ed)DSA, or the raw 64 bytes of a
    /// version 4 Ed25519 signature) sign `digest`. Ed25519 signs the
    /// digest's bytes as its message (RFC 4880bis §13.7); ECDSA and RSA
    /// sign the digest itself.
    func isValidSignature(_ parts: [[UInt8]], for digest: any Digest) -> Bool {
        let bytes = Array(digest.withUnsafeBytes { Array($0) })
        switch self {
        case .ed25519(let key):
            let raw: [UInt8]
            if parts.count == 1, parts[0].count == 64 {
                raw = parts[0]
            } else if let padded = Self.fixed(parts, size: 32) {
                raw = padded
            } else {
                return false
            }
            return key.isValidSignature(raw, for: bytes)
        case .p256(let key):
            guard let raw = Self.fixed(parts, size: 32), let signature = try? P256.Signing.ECDSASignature(rawRepresentation: raw) else { return false }
            return key.isValidSignature(signature, for: digest)
        case .p384(let key):
            guard let raw = Self.fixed(parts, size: 48), let signature = try? P384.Signing.ECDSASignature(rawRepresentation: raw) else { return false }
            return key.isValidSignature(signature, for: digest)
        case .p521(let key):
            guard let raw = Self.fixed(parts, size: 66), let signature = try? P521.Signing.ECDSASignature(rawRepresentation: raw) else { return false }
            return key.isValidSignature(signature, for: digest)
        case .rsa(let key):
            let size = (key.keySizeInBits + 7) / 8
            guard parts.count == 1, parts[0].count <= size else { return false }
            let signature = _RSA.Signing.RSASignature(rawRepresentation: [UInt8](repeating: 0, count: size - parts[0].count) + parts[0])
            return key.isValidSignature(signature, for: digest, padding: .insecurePKCS1v1_5)
        }
    }

    /// Two big-endian integers as the fixed-size `r || s` swift-crypto reads.
    static func fixed(_ parts: [[UInt8]], size: Int) -> [UInt8]? {
        guard parts.count == 2 else { return nil }
        var out: [UInt8] = []
        for var part in parts {
            while part.count > size, part.first == 0 { part.removeFirst() }
            guard part.count <= size else { return nil }
            out += [UInt8](repeating: 0, count: size - part.count) + part
        }
        return out
    }
}
