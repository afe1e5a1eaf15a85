/// An external store that holds subject data (SPEC §8): erasures and
/// retention reach it through its connector.
public struct StoreSpec: Hashable, Sendable {
    public enum StoreType: String, CaseIterable, Sendable, Codable {
        case clickhouse, redis, s3, http
    }

    /// Where subject data lives in a store, by type.
    public enum Holding: Hashable, Sendable {
        /// A ClickHouse table (`database.table` allowed) and its columns.
        case table(table: String, subjectField: String, tenantField: String, timeField: String)
        /// A Redis key glob (`SCAN MATCH`), with `{tenant}` and `{subject}`.
        case keys(pattern: String)
        /// An S3 bucket and a key prefix, with `{tenant}` and `{subject}`.
        case objects(bucket: String, prefix: String)
        /// A resource name the http service understands.
        case resource(String)

        /// How a retention rule names the entry (`STORE/ENTRY`): the
        /// table, the key pattern, the bucket, or the resource.
        public var entry: String {
            switch self {
            case .table(let table, _, _, _): table
            case .keys(let pattern): pattern
            case .objects(let bucket, _): bucket
            case .resource(let name): name
            }
        }
    }

    public var type: StoreType
    public var region: Region
    /// `http(s)://host:port[/path]`; redis: `redis://host:port[/db]`. Never with credentials.
    public var endpoint: String
    /// A file name under `ACCORD_SECRETS_DIR`.
    public var credentials: String?
    /// S3's signing region (`spec.s3Region`), default `us-east-1`.
    public var s3Region: String?
    /// The limit on every call to the store (`spec.timeout`), default 30s.
    public var timeout: DurationValue?
    public var holds: [Holding]

    public static let defaultTimeout = DurationValue(seconds: 30, text: "30s")
    public static let defaultS3Region = "us-east-1"

    public init(type: StoreType, region: Region, endpoint: String, holds: [Holding]) {
        self.type = type
        self.region = region
        self.endpoint = endpoint
        self.holds = holds
    }

    public var effectiveTimeout: DurationValue { timeout ?? Self.defaultTimeout }
}

/// The placeholders a key pattern or prefix may hold.
public enum StorePlaceholders {
    public static let tenant = "{tenant}"
    public static let subject = "{subject}"

    /// What is wrong with a pattern, or nil.
    public static func problem(_ s: String) -> String? {
        var rest = Substring(s)
        var found: [String] = []
        while let open = rest.firstIndex(of: "{") {
            guard let close = rest[open...].firstIndex(of: "}") else { return "has a '{' without its '}'" }
            let name = String(rest[open...close])
            guard name == tenant || name == subject else {
                return "has the placeholder \(name); only {tenant} and {subject} are allowed"
            }
            found.append(name)
            rest = rest[rest.index(after: close)...]
        }
        if rest.contains("}") || s.filter({ $0 == "}" }).count != found.count { return "has a '}' without its '{'" }
        guard found.filter({ $0 == tenant }).count == 1, found.filter({ $0 == subject }).count == 1 else {
            return "must hold {tenant} and {subject} exactly once each, so that an erasure reaches one subject of one tenant"
        }
        guard found == [tenant, subject] else { return "must hold {tenant} before {subject}" }
        // What follows {tenant} must end the tenant's name: else `{tenant}-…`
        // or `{tenant}{subject}` would reach another tenant (acme and acme-eu).
        let afterTenant = s.range(of: tenant).map { s[$0.upperBound...] }?.first
        if let c = afterTenant, c.isLetter || c.isNumber || c == "-" || c == "{" {
            return "must have a separator after {tenant} (such as ':' or '/'), so that it matches only that tenant and no tenant whose name starts with it"
        }
        return nil
    }

    /// A Redis key pattern: no glob character before {subject}, so that an
    /// erasure reaches only the one tenant and subject.
    public static func globProblem(_ s: String) -> String? {
        guard let subjectAt = s.range(of: subject) else { return nil }
        let head = s[..<subjectAt.lowerBound].replacingOccurrences(of: tenant, with: "")
        return head.contains(where: { "*?[]\\".contains($0) })
            ? "has a glob character before {subject}; only the part after {subject} may be a glob, so that an erasure reaches only one subject of one tenant"
            : nil
    }
}
