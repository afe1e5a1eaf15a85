import AccordCore
import Crypto
import Foundation

/// An SSH signature as `ssh-keygen -Y sign` and `git commit -S` (with
/// `gpg.format=ssh`) write it: the armored `SSHSIG` blob of OpenSSH's
/// PROTOCOL.sshsig — the signer's public key, the namespace (`git` for
/// commits), the hash algorithm and the signature over
/// `"SSHSIG" ‖ namespace ‖ reserved ‖ hash algorithm ‖ H(message)`.
public struct SSHSignature: Sendable {
    public let publicKey: SSHPublicKey
    public let namespace: String
    let hashAlgorithm: String
    let reserved: [UInt8]
    let signature: [UInt8]

    static let begin = "-----BEGIN SSH SIGNATURE-----"
    static let end = "-----END SSH SIGNATURE-----"

    /// Whether the block is an SSH signature (rather than OpenPGP).
    public static func isSSH(_ armored: String) -> Bool {
        armored.trimmingCharacters(in: .whitespacesAndNewlines).hasPrefix(begin)
    }

    public init(armored: String) throws {
        let text = armored.trimmingCharacters(in: .whitespacesAndNewlines)
        guard text.hasPrefix(Self.begin), text.hasSuffix(Self.end) else {
            throw SSHPublicKey.Invalid(description: "not an armored SSH signature")
        }
        let body = text.dropFirst(Self.begin.count).dropLast(Self.end.count).filter { !$0.isWhitespace }
        guard let blob = Data(base64Encoded: String(body)) else {
            throw SSHPublicKey.Invalid(description: "the SSH signature is not base64")
        }
        var r = SSHReader(Array(blob))
        do {
            guard try r.take(6, "the magic") == Array("SSHSIG".utf8) else {
                throw SSHPublicKey.Invalid(description: "the SSH signature does not start with SSHSIG")
            }
            let version = try r.uint32("the version")
            guard version == 1 else { throw SSHPublicKey.Invalid(description: "SSH signature version \(version); only 1 is known") }
            publicKey = try SSHPublicKey(blob: try r.string("the public key"))
            namespace = try r.text("the namespace")
            reserved = try r.string("the reserved field")
            hashAlgorithm = try r.text("the hash algorithm")
            signature = try r.string("the signature")
        } catch let error as SSHReader.Malformed {
            throw SSHPublicKey.Invalid(description: "a malformed SSH signature: \(error)")
        }
        guard r.isAtEnd else { throw SSHPublicKey.Invalid(description: "a malformed SSH signature: bytes after it") }
        guard hashAlgorithm == "sha256" || hashAlgorithm == "sha512" else {
            throw SSHPublicKey.Invalid(description: "the SSH signature hashes with \(Text.quoted(hashAlgorithm, limit: 40)); sha256 or sha512 are accepted")
        }
    }

    /// Whether it signs `message` in `namespace` with its key.
    public func verifies(_ message: [UInt8], namespace expected: String) throws -> Bool {
        guard namespace == expected else {
            throw SSHPublicKey.Invalid(description: "the signature is for namespace \(Text.quoted(namespace, limit: 40)), not \(Text.quoted(expected))")
        }
        let digest: [UInt8] = hashAlgorithm == "sha512" ? Array(SHA512.hash(data: message)) : Array(SHA256.hash(data: message))
        let signed = Array("SSHSIG".utf8) + SSHReader.string(Array(namespace.utf8)) + SSHReader.string(reserved)
            + SSHReader.string(Array(hashAlgorithm.utf8)) + SSHReader.string(digest)
        return try publicKey.isValidSignature(signature, for: signed)
    }
}
