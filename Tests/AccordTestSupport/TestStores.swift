import Foundation
import Testing

/// Where tests find the external store servers `hack/start-stores` starts
/// (ClickHouse, Redis, an S3 API server, the reference eraser service).
/// Like PostgreSQL: skipped on a developer's machine without them, but with
/// CI=true such tests run and fail when a server is missing.
public enum TestStores {
    static let environment = ProcessInfo.processInfo.environment

    public struct Server: Sendable {
        /// The endpoint URL.
        public let url: String
        /// What its credentials file holds.
        public let secret: String
        /// Anything else the tests need (the eraser's SQLite file).
        public let extra: String?
    }

    public enum Kind: String, Sendable, CaseIterable {
        case clickhouse, redis, s3, eraser

        var variables: (url: String, secret: String, extra: String?) {
            switch self {
            case .clickhouse: ("ACCORD_TEST_CLICKHOUSE_URL", "ACCORD_TEST_CLICKHOUSE_CREDENTIALS", nil)
            case .redis: ("ACCORD_TEST_REDIS_URL", "ACCORD_TEST_REDIS_PASSWORD", nil)
            case .s3: ("ACCORD_TEST_S3_URL", "ACCORD_TEST_S3_CREDENTIALS", nil)
            case .eraser: ("ACCORD_TEST_ERASER_URL", "ACCORD_TEST_ERASER_SECRET", "ACCORD_TEST_ERASER_DB")
            }
        }
    }

    public static func configured(_ kind: Kind) -> Bool {
        environment[kind.variables.url].map { !$0.isEmpty } ?? false
    }

    /// The trait of a test that needs the given servers.
    public static func required(_ kinds: Kind...) -> ConditionTrait {
        .enabled(if: TestDatabase.isCI || kinds.allSatisfy(configured),
                 "needs \(kinds.map(\.rawValue).joined(separator: ", ")): run hack/test, or eval \"$(hack/start-stores)\" (with CI=true they are required)")
    }

    public static func server(_ kind: Kind) throws -> Server {
        let v = kind.variables
        guard let url = environment[v.url], !url.isEmpty, let secret = environment[v.secret] else {
            throw TestDatabase.DatabaseMissing(description: "\(v.url) is not set (CI=true): hack/test starts the store servers with hack/start-stores")
        }
        return Server(url: url, secret: secret, extra: v.extra.flatMap { environment[$0] })
    }
}
