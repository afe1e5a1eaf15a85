import AccordCore
import Crypto
import Foundation

/// The key-encryption key (KEK) that wraps every tenant's data key. Read
/// from the file `ACCORD_KEK_FILE` names: 32 raw bytes, or their base64
/// text. Its bytes are never printed, logged or stored; the database keeps
/// only a fingerprint, so a key wrapped under another KEK is recognised.
public struct KeyEncryptionKey: Sendable, CustomStringConvertible {
    let key: SymmetricKey
    /// SHA-256 over a fixed label and the key, first 16 hex digits.
    public let fingerprint: String

    public struct Invalid: Error, CustomStringConvertible {
        public let description: String
    }

    public init(bytes: [UInt8]) throws {
        guard bytes.count == 32 else {
            throw Invalid(description: "a key-encryption key is 32 bytes (AES-256), not \(bytes.count)")
        }
        key = SymmetricKey(data: bytes)
        fingerprint = String(Hex.encode(SHA256.hash(data: Array("accord-kek-fingerprint\0".utf8) + bytes)).prefix(16))
    }

    /// The file's 32 raw bytes, or base64 text of 32 bytes (surrounding
    /// whitespace ignored). Errors name the file, never its contents.
    public static func load(file path: String) throws -> KeyEncryptionKey {
        let raw: [UInt8]
        do {
            raw = try SecretFile.read(path)
        } catch {
            throw Invalid(description: "the key-encryption key file (ACCORD_KEK_FILE): \(error)")
        }
        if raw.count == 32 { return try KeyEncryptionKey(bytes: raw) }
        let text = String(decoding: raw, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        if let decoded = Base64.decode(text), decoded.count == 32 { return try KeyEncryptionKey(bytes: decoded) }
        throw Invalid(description: "the key-encryption key file \(path) (ACCORD_KEK_FILE) must hold 32 raw bytes or their base64 text; it holds \(raw.count) bytes that are neither")
    }

    public var description: String { "KeyEncryptionKey(fingerprint: \(fingerprint))" }
}

/// A tenant's 256-bit data-encryption key in plain form. Exists only in
/// memory, between generation and wrapping or after unwrapping; neither
/// its description nor its mirror (`dump`, debuggers) shows the bytes.
public struct DataKey: Sendable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    public let bytes: [UInt8]

    public static func generate() -> DataKey {
        DataKey(bytes: SymmetricKey(size: .bits256).withUnsafeBytes { Array($0) })
    }

    public var description: String { "DataKey(redacted)" }
    public var debugDescription: String { description }
    public var customMirror: Mirror { Mirror(self, children: ["bytes": "redacted"]) }
}

/// How data keys are wrapped: AES-256-GCM under the KEK with a random
/// 96-bit nonce; the additional authenticated data binds the wrapped key to
/// its tenant, version and key id, so a wrapped key copied onto another
/// tenant's row does not unwrap. Stored as base64 of nonce ‖ ciphertext ‖ tag.
public enum TenantKeyWrapping {
    public static let algorithm = "AES-256-GCM"

    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    static func associatedData(tenant: String, version: Int, keyID: String) -> Data {
        Data("accord tenant data key\0\(tenant)\0\(version)\0\(keyID)".utf8)
    }

    public static func wrap(_ key: DataKey, tenant: String, version: Int, keyID: String, with kek: KeyEncryptionKey) throws -> String {
        let sealed = try AES.GCM.seal(key.bytes, using: kek.key, nonce: AES.GCM.Nonce(),
                                      authenticating: associatedData(tenant: tenant, version: version, keyID: keyID))
        guard let combined = sealed.combined else { throw Failure(description: "AES-GCM produced no combined box") }
        return Base64.encode([UInt8](combined))
    }

    public static func unwrap(_ wrapped: String, tenant: String, version: Int, keyID: String,
                              with kek: KeyEncryptionKey) throws -> DataKey {
        guard let bytes = Base64.decode(wrapped) else {
            throw Failure(description: "the wrapped key \(keyID) of tenant \(tenant) is not base64")
        }
        do {
            let box = try AES.GCM.SealedBox(combined: bytes)
            let plain = try AES.GCM.open(box, using: kek.key,
                                         authenticating: associatedData(tenant: tenant, version: version, keyID: keyID))
            return DataKey(bytes: [UInt8](plain))
        } catch {
            throw Failure(description: "the wrapped key \(keyID) (version \(version)) of tenant \(tenant) does not unwrap with this key-encryption key: it was altered, moved, or wrapped under another KEK")
        }
    }

    /// A fresh key id: `dek-` and 24 random hex digits.
    public static func newKeyID() -> String {
        "dek-" + Hex.encode(SymmetricKey(size: .bits128).withUnsafeBytes { Array($0.prefix(12)) })
    }
}
