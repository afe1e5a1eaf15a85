import AccordCore
import Crypto
import Foundation

/// The controller's Ed25519 key that signs erasure certificates, read from
/// the file `ACCORD_SIGNING_KEY_FILE` names: PEM PKCS#8 or a raw 32-byte
/// seed. Never printed; only its public half and fingerprint leave it.
public struct SigningKey: Sendable, CustomStringConvertible {
    let key: Curve25519.Signing.PrivateKey
    public let fingerprint: String

    public init(_ key: Curve25519.Signing.PrivateKey) {
        self.key = key
        fingerprint = Ed25519Keys.fingerprint(key.publicKey)
    }

    public static func load(file path: String) throws -> SigningKey {
        SigningKey(try Ed25519Keys.privateKey(file: path))
    }

    public var publicKey: Curve25519.Signing.PublicKey { key.publicKey }
    public var publicKeyPEM: String { Ed25519Keys.pem(key.publicKey) }

    public func sign(_ bytes: [UInt8]) throws -> [UInt8] {
        Array(try key.signature(for: bytes))
    }

    public var description: String { "SigningKey(fingerprint: \(fingerprint))" }
}

/// An erasure's completion certificate (SPEC §1 Erasure). The certificate
/// is canonical JSON — keys sorted, no whitespace, as `JSONValue.canonical`
/// writes it — and its signature is Ed25519 over exactly those UTF-8 bytes.
/// The evidence (what was deleted and checked, store by store) is canonical
/// JSON too; the certificate carries its SHA-256, so altering either breaks
/// the verification.
///
/// Format 2 (SPEC §8) names the PostgreSQL tables apart (`tables`) and lists
/// every external store of the tenant (`stores`: name, type, endpoint
/// without credentials, deleted, remaining 0, verifiedAt), each verified
/// before the certificate is issued. Format 1 certificates still verify:
/// verification checks the signed bytes and the evidence, whatever their
/// fields.
public enum ErasureCertificate {
    public static let formatVersion = 2

    /// One external store's part, verified: nothing of the subject remains.
    public struct ExternalStore: Sendable, Hashable {
        public let name: String
        public let type: String
        public let endpoint: String
        /// Deleted per `holds` entry.
        public let deleted: [String: Int]
        public let verifiedAt: Date
        /// The request id the store's job used (the `http` contract's).
        public let requestID: String

        public init(name: String, type: String, endpoint: String, deleted: [String: Int], verifiedAt: Date, requestID: String) {
            self.name = name
            self.type = type
            self.endpoint = endpoint
            self.deleted = deleted
            self.verifiedAt = verifiedAt
            self.requestID = requestID
        }

        public var total: Int { deleted.values.reduce(0, +) }
    }

    public struct Store: Sendable, Hashable {
        public let store: String
        public let relation: String
        public let deleted: Int
        public let remaining: Int
        public init(store: String, relation: String, deleted: Int, remaining: Int) {
            self.store = store
            self.relation = relation
            self.deleted = deleted
            self.remaining = remaining
        }
    }

    public struct Facts: Sendable {
        public var tenant: String
        public var erasure: String
        public var subjectEmailHash: String
        public var legalBasis: String
        public var isolation: String
        public var stores: [Store]
        public var requestedAt: Date
        public var completedAt: Date
        public var revision: String?
        public var transaction: String
        /// The tenant's external stores, each verified (format 2).
        public var external: [ExternalStore] = []

        public init(tenant: String, erasure: String, subjectEmailHash: String, legalBasis: String, isolation: String,
                    stores: [Store], requestedAt: Date, completedAt: Date, revision: String?, transaction: String) {
            self.tenant = tenant
            self.erasure = erasure
            self.subjectEmailHash = subjectEmailHash
            self.legalBasis = legalBasis
            self.isolation = isolation
            self.stores = stores
            self.requestedAt = requestedAt
            self.completedAt = completedAt
            self.revision = revision
            self.transaction = transaction
        }
    }

    public struct Issued: Sendable {
        /// Canonical JSON text of the certificate: the signed bytes.
        public let certificate: String
        public let evidence: String
        /// Base64 of the 64-byte signature.
        public let signature: String
        public let keyFingerprint: String
        public let publicKeyPEM: String
    }

    /// What was deleted and re-checked in each store.
    public static func evidence(_ f: Facts) -> JSONValue {
        .object([
            "tenant": .string(f.tenant), "erasure": .string(f.erasure), "subjectEmailHash": .string(f.subjectEmailHash),
            "isolation": .string(f.isolation), "transaction": .string(f.transaction),
            "checkedAt": .string(timestamp(f.completedAt)),
            "stores": .array(f.stores.map { s in
                .object(["store": .string(s.store), "relation": .string(s.relation),
                         "deleted": JSONValue(s.deleted), "remainingAfter": JSONValue(s.remaining)])
            }),
            "externalStores": .array(f.external.map { s in
                .object(["name": .string(s.name), "type": .string(s.type), "endpoint": .string(s.endpoint),
                         "deleted": .object(s.deleted.mapValues { JSONValue($0) }),
                         "remainingAfter": .object(s.deleted.mapValues { _ in JSONValue(0) }),
                         "verifiedAt": .string(timestamp(s.verifiedAt)), "requestId": .string(s.requestID)])
            }),
        ])
    }

    public static func certificate(_ f: Facts, evidence: String, keyFingerprint: String) -> JSONValue {
        .object([
            "formatVersion": JSONValue(formatVersion),
            "tenant": .string(f.tenant), "erasure": .string(f.erasure),
            "subjectEmailHash": .string(f.subjectEmailHash), "legalBasis": .string(f.legalBasis),
            "tables": .object(Dictionary(uniqueKeysWithValues: f.stores.map { ($0.store, JSONValue($0.deleted)) })),
            "stores": .array(f.external.map { s in
                .object(["name": .string(s.name), "type": .string(s.type), "endpoint": .string(s.endpoint),
                         "deleted": JSONValue(s.total), "remaining": JSONValue(0), "verifiedAt": .string(timestamp(s.verifiedAt))])
            }),
            "requestedAt": .string(timestamp(f.requestedAt)), "completedAt": .string(timestamp(f.completedAt)),
            "revision": JSONValue(f.revision),
            "evidenceSha256": .string(sha256Hex(evidence)),
            "signingKey": .string(keyFingerprint),
        ])
    }

    public static func issue(_ facts: Facts, key: SigningKey) throws -> Issued {
        let evidence = evidence(facts).canonical
        let certificate = certificate(facts, evidence: evidence, keyFingerprint: key.fingerprint).canonical
        let signature = try key.sign(Array(certificate.utf8))
        return Issued(certificate: certificate, evidence: evidence, signature: Base64.encode(signature),
                      keyFingerprint: key.fingerprint, publicKeyPEM: key.publicKeyPEM)
    }

    public struct Verification: Sendable {
        public let signatureValid: Bool
        public let evidenceValid: Bool
        public let problems: [String]
        public var verified: Bool { signatureValid && evidenceValid }
    }

    /// Checks the signature over the stored certificate bytes and the
    /// evidence's hash against the one the certificate carries.
    public static func verify(certificate: String, signature: String, evidence: String,
                              publicKey: Curve25519.Signing.PublicKey) -> Verification {
        var problems: [String] = []
        let signatureValid = Base64.decode(signature).map {
            publicKey.isValidSignature(Data($0), for: Data(certificate.utf8))
        } ?? false
        if !signatureValid { problems.append("the signature does not verify over the certificate with key \(Ed25519Keys.fingerprint(publicKey))") }
        let claimed = (try? JSONParser.parse(certificate))?["evidenceSha256"]?.stringValue
        let actual = sha256Hex(evidence)
        let evidenceValid = claimed == actual
        if !evidenceValid { problems.append("the evidence hashes to \(actual), the certificate says \(claimed ?? "nothing")") }
        return Verification(signatureValid: signatureValid, evidenceValid: evidenceValid, problems: problems)
    }

    static func timestamp(_ d: Date) -> String {
        Timestamp.rfc3339(epochSeconds: Int64(d.timeIntervalSince1970.rounded(.down)))
    }
}

/// The internal deadline of an erasure (SPEC §1): due 72h after
/// `requestedAt`; while open, a warning to the DPO from 48h, an escalation
/// to legal from 60h, overdue after 72h.
public enum ErasureSLA {
    public enum Stage: String, Sendable, Comparable, CaseIterable {
        case onTime = "on-time"
        case warning
        case escalation
        case overdue

        public var hours: Double {
            switch self {
            case .onTime: 0
            case .warning: 48
            case .escalation: 60
            case .overdue: 72
            }
        }

        var rank: Int { Stage.allCases.firstIndex(of: self)! }
        public static func < (a: Stage, b: Stage) -> Bool { a.rank < b.rank }

        /// What the stage means, for status and the audit log.
        public var meaning: String {
            switch self {
            case .onTime: "within its deadline"
            case .warning: "open for 48h: warning to the DPO"
            case .escalation: "open for 60h: escalated to legal"
            case .overdue: "past its 72h deadline"
            }
        }
    }

    public static let deadlineHours = 72.0

    public static func due(requestedAt: Date) -> Date {
        requestedAt.addingTimeInterval(deadlineHours * 3600)
    }

    public static func stage(requestedAt: Date, now: Date) -> Stage {
        let hours = now.timeIntervalSince(requestedAt) / 3600
        if hours > Stage.overdue.hours { return .overdue }
        if hours >= Stage.escalation.hours { return .escalation }
        if hours >= Stage.warning.hours { return .warning }
        return .onTime
    }
}
