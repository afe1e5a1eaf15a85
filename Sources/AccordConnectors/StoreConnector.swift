import AccordCore
import Foundation

/// One subject of one tenant, as an erasure asks a store about it.
public struct SubjectScope: Sendable, Hashable {
    public let tenant: String
    /// `sha256:<64 hex>`, as written in the Erasure.
    public let subject: String
    /// Stable for one erasure in one store: the `http` contract's request
    /// id, sent again after any failure so the service can be idempotent.
    public let requestID: String

    public init(tenant: String, subject: String, requestID: String) {
        self.tenant = tenant
        self.subject = subject
        self.requestID = requestID
    }
}

/// What Accord knows of one external store: its manifest's settings and
/// the secret its credentials file holds (never shown anywhere).
public struct StoreAccess: Sendable {
    public let name: String
    public let spec: StoreSpec
    /// The credentials file's text, trimmed; nil without one.
    public let secret: String?

    public init(name: String, spec: StoreSpec, secret: String?) {
        self.name = name
        self.spec = spec
        self.secret = secret
    }

    /// The call limit (`spec.timeout`).
    public var timeout: Duration { .seconds(spec.effectiveTimeout.seconds) }
}

/// A store's own means to find, delete and count a subject's data, to
/// enforce retention, and to say whether it is usable (SPEC §8). One
/// implementation per store type, each the only code that speaks its
/// store's protocol; every value that reaches the store's language is
/// escaped or encoded by construction.
public protocol StoreConnector: Sendable {
    /// Whether deletions are counted by asking before deleting (a
    /// ClickHouse count, a Redis or S3 listing); false when the store
    /// reports what it deleted itself (the `http` contract).
    var countsBeforeDeleting: Bool { get }
    /// Reachable with its credentials: the `holds` entries that do not
    /// exist (a missing table or bucket), empty when all do.
    func missingEntries() async throws -> [String]
    /// How much of the subject each entry holds now.
    func count(_ scope: SubjectScope) async throws -> [String: Int]
    /// Deletes the subject's data in every entry and waits until the store
    /// has done it; what the store reports deleting, when it reports it.
    func delete(_ scope: SubjectScope) async throws -> [String: Int]?
    /// Deletes (or with `dryRun` counts) one tenant's data in one entry
    /// older than `cutoff`.
    func enforceRetention(tenant: String, entry: StoreSpec.Holding, olderThan cutoff: Date, dryRun: Bool,
                          requestID: String) async throws -> Int
}

/// Why a store call failed, naming the store and never its credentials.
public struct StoreFailure: Error, CustomStringConvertible, Sendable {
    public enum Kind: String, Sendable {
        /// No connection (refused, unknown host, reset before an answer).
        case unreachable
        /// No answer within the Store's timeout.
        case timeout
        /// The credentials were refused.
        case unauthorized
        /// The store answered with an error.
        case failed
    }

    public let store: String
    public let kind: Kind
    public let message: String

    public init(store: String, kind: Kind, message: String) {
        self.store = store
        self.kind = kind
        self.message = message
    }

    public var description: String { "Store/\(store): \(kind.rawValue): \(message)" }
}

public enum Connectors {
    /// The connector of a store's type.
    public static func make(_ access: StoreAccess) throws -> any StoreConnector {
        switch access.spec.type {
        case .clickhouse: try ClickHouseConnector(access)
        case .redis: try RedisConnector(access)
        case .s3: try S3Connector(access)
        case .http: try HTTPEraserConnector(access)
        }
    }
}

extension StoreAccess {
    /// A failure of this store, with any credential text taken out of the message.
    func failure(_ kind: StoreFailure.Kind, _ message: String) -> StoreFailure {
        StoreFailure(store: name, kind: kind, message: scrubbed(message))
    }

    /// `message` without the credentials or any part of them.
    func scrubbed(_ message: String) -> String {
        guard let secret, !secret.isEmpty else { return message }
        var out = message.replacingOccurrences(of: secret, with: "***")
        for part in secret.split(separator: ":") where part.count >= 4 {
            out = out.replacingOccurrences(of: String(part), with: "***")
        }
        return out
    }

    /// `user:password` split at its first colon; the whole text is the password without one.
    func userAndPassword(defaultUser: String) -> (user: String, password: String)? {
        guard let secret else { return nil }
        guard let colon = secret.firstIndex(of: ":") else { return (defaultUser, secret) }
        return (String(secret[..<colon]), String(secret[secret.index(after: colon)...]))
    }
}

/// `{tenant}` and `{subject}` in a key pattern or prefix.
enum Placeholders {
    /// The text with the placeholders replaced, each value passed through `escape`.
    static func fill(_ template: String, tenant: String, subject: String, escape: (String) -> String = { $0 }) -> String {
        template.replacingOccurrences(of: StorePlaceholders.tenant, with: escape(tenant))
            .replacingOccurrences(of: StorePlaceholders.subject, with: escape(subject))
    }

    /// The part of a prefix before `{subject}`, with the tenant filled in:
    /// everything of one tenant (retention).
    static func tenantPart(_ template: String, tenant: String, escape: (String) -> String = { $0 }) -> String {
        let head = template.range(of: StorePlaceholders.subject).map { String(template[..<$0.lowerBound]) } ?? template
        return head.replacingOccurrences(of: StorePlaceholders.tenant, with: escape(tenant))
    }
}
