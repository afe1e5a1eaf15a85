import AccordCore
import Crypto
import Foundation

/// Ed25519 key files (SPEC §5). Public keys: PEM SubjectPublicKeyInfo
/// (`-----BEGIN PUBLIC KEY-----`, what `openssl pkey -pubout` writes) or
/// 32 raw bytes. Private keys: PEM PKCS#8 (`-----BEGIN PRIVATE KEY-----`,
/// what `openssl genpkey -algorithm ed25519` writes) or a raw 32-byte seed.
/// Errors name the file and never show its contents.
public enum Ed25519Keys {
    public struct Invalid: Error, CustomStringConvertible {
        public let description: String
    }

    /// DER of SubjectPublicKeyInfo { AlgorithmIdentifier { id-Ed25519 }, BIT STRING (32 bytes) }.
    static let publicKeyPrefix: [UInt8] = [0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00]
    /// DER of OneAsymmetricKey v1 { 0, { id-Ed25519 }, OCTET STRING { OCTET STRING (32 bytes) } }.
    static let privateKeyPrefix: [UInt8] = [0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70,
                                            0x04, 0x22, 0x04, 0x20]
    /// OneAsymmetricKey v2 carries the public key after the seed ([1] IMPLICIT BIT STRING).
    static let privateKeyV2Prefix: [UInt8] = [0x30, 0x51, 0x02, 0x01, 0x01, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70,
                                              0x04, 0x22, 0x04, 0x20]

    public static func publicKey(file path: String) throws -> Curve25519.Signing.PublicKey {
        try publicKey(bytes: read(path, what: "public key"), source: path)
    }

    /// A public key from its PEM or raw bytes; `source` names them in errors.
    public static func publicKey(bytes: [UInt8], source path: String) throws -> Curve25519.Signing.PublicKey {
        if bytes.count == 32 { return try Curve25519.Signing.PublicKey(rawRepresentation: bytes) }
        guard let der = pemBody(bytes, label: "PUBLIC KEY") else {
            throw Invalid(description: "\(path): not an Ed25519 public key: expected PEM \"PUBLIC KEY\" (SubjectPublicKeyInfo) or 32 raw bytes, found \(bytes.count) bytes that are neither")
        }
        guard der.count == 44, Array(der.prefix(12)) == publicKeyPrefix else {
            throw Invalid(description: "\(path): the PEM public key is not an Ed25519 key (SubjectPublicKeyInfo with OID 1.3.101.112)")
        }
        return try Curve25519.Signing.PublicKey(rawRepresentation: der.suffix(32))
    }

    public static func privateKey(file path: String) throws -> Curve25519.Signing.PrivateKey {
        let bytes: [UInt8]
        do {
            bytes = try SecretFile.read(path)
        } catch {
            throw Invalid(description: "the signing key file: \(error)")
        }
        if bytes.count == 32 { return try Curve25519.Signing.PrivateKey(rawRepresentation: bytes) }
        guard let der = pemBody(bytes, label: "PRIVATE KEY") else {
            throw Invalid(description: "\(path): not an Ed25519 private key: expected PEM \"PRIVATE KEY\" (PKCS#8) or a raw 32-byte seed, found \(bytes.count) bytes that are neither")
        }
        let prefix = Array(der.prefix(16))
        guard (der.count == 48 && prefix == privateKeyPrefix) || (der.count == 83 && prefix == privateKeyV2Prefix) else {
            throw Invalid(description: "\(path): the PEM private key is not an Ed25519 key (PKCS#8 with OID 1.3.101.112)")
        }
        return try Curve25519.Signing.PrivateKey(rawRepresentation: der[16..<48])
    }

    /// The PEM form of a public key, for export.
    public static func pem(_ key: Curve25519.Signing.PublicKey) -> String {
        let body = Base64.encode(publicKeyPrefix + Array(key.rawRepresentation))
        return "-----BEGIN PUBLIC KEY-----\n\(body)\n-----END PUBLIC KEY-----\n"
    }

    /// The PKCS#8 PEM form of a private key, as `openssl genpkey -algorithm
    /// ed25519` writes it (`accordctl keys init`).
    public static func privatePEM(_ key: Curve25519.Signing.PrivateKey) -> String {
        let body = Base64.encode(privateKeyPrefix + Array(key.rawRepresentation))
        return "-----BEGIN PRIVATE KEY-----\n\(body)\n-----END PRIVATE KEY-----\n"
    }

    /// SHA-256 of the raw public key, first 16 hex digits: names a key in
    /// audit entries and certificates.
    public static func fingerprint(_ key: Curve25519.Signing.PublicKey) -> String {
        String(Hex.encode(SHA256.hash(data: key.rawRepresentation)).prefix(16))
    }

    static func read(_ path: String, what: String) throws -> [UInt8] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue,
              let data = FileManager.default.contents(atPath: path) else {
            throw Invalid(description: "cannot read the \(what) file \(path)")
        }
        return [UInt8](data)
    }

    /// The DER bytes between `-----BEGIN label-----` and `-----END label-----`.
    static func pemBody(_ bytes: [UInt8], label: String) -> [UInt8]? {
        let text = String(decoding: bytes, as: UTF8.self)
        guard let begin = text.range(of: "-----BEGIN \(label)-----"),
              let end = text.range(of: "-----END \(label)-----", range: begin.upperBound..<text.endIndex) else { return nil }
        let body = text[begin.upperBound..<end.lowerBound].filter { !$0.isWhitespace }
        return Base64.decode(String(body))
    }
}

/// The public keys model signatures are checked against: every `*.pem`
/// (SubjectPublicKeyInfo) and `*.pub` (32 raw bytes) file of the directory
/// `ACCORD_TRUSTED_KEYS_DIR` names. Symbolic links are followed, so the
/// layout Kubernetes mounts a ConfigMap with (`name -> ..data/name`,
/// `..data -> ..2026_…/`) loads; hidden entries (`..data`, `.git`) are not
/// looked at. Every other file skipped is listed with the reason
/// (`skipped`), and a directory without a usable key says so (`warnings`).
/// A malformed key file is an error.
public struct TrustedKeys: Sendable {
    public struct Key: Sendable {
        public let file: String
        public let fingerprint: String
        let key: Curve25519.Signing.PublicKey
    }

    public let directory: String
    public let keys: [Key]
    /// Files of the directory not read as keys, and why.
    public let skipped: [(file: String, reason: String)]

    public init(directory: String, keys: [(file: String, key: Curve25519.Signing.PublicKey)],
                skipped: [(file: String, reason: String)] = []) {
        self.directory = directory
        self.keys = keys.map { Key(file: $0.file, fingerprint: Ed25519Keys.fingerprint($0.key), key: $0.key) }
        self.skipped = skipped
    }

    /// What an operator must hear at start: each file skipped, and a
    /// directory with no key at all.
    public var warnings: [String] {
        var out = skipped.map { "the trusted keys directory \(directory): skipped \($0.file): \($0.reason)" }
        if keys.isEmpty {
            out.append("the trusted keys directory \(directory) holds no usable key (*.pem or *.pub): no model version will be promoted")
        }
        return out
    }

    public static func load(directory: String) throws -> TrustedKeys {
        let fm = FileManager.default
        var isDirectory: ObjCBool = false
        guard fm.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue,
              let names = try? fm.contentsOfDirectory(atPath: directory) else {
            throw Ed25519Keys.Invalid(description: "the trusted keys directory \(directory) (ACCORD_TRUSTED_KEYS_DIR) cannot be read")
        }
        var keys: [(String, Curve25519.Signing.PublicKey)] = []
        var skipped: [(file: String, reason: String)] = []
        for name in names.sorted() where !name.hasPrefix(".") {
            let path = (directory as NSString).appendingPathComponent(name)
            var info = stat()
            guard stat(path, &info) == 0 else {
                skipped.append((name, "a link to nothing (\(String(cString: strerror(errno))))"))
                continue
            }
            guard (info.st_mode & S_IFMT) == S_IFREG else {
                skipped.append((name, (info.st_mode & S_IFMT) == S_IFDIR ? "a directory" : "not a regular file"))
                continue
            }
            guard name.hasSuffix(".pem") || name.hasSuffix(".pub") else {
                skipped.append((name, "not named *.pem or *.pub"))
                continue
            }
            keys.append((name, try Ed25519Keys.publicKey(file: path)))
        }
        return TrustedKeys(directory: directory, keys: keys.map { (file: $0.0, key: $0.1) }, skipped: skipped)
    }

    /// The key that made `signature` over the UTF-8 bytes of `digest`, if any.
    public func signer(of signature: [UInt8], over digest: String) -> Key? {
        let message = Data(digest.utf8)
        return keys.first { $0.key.isValidSignature(Data(signature), for: message) }
    }
}
