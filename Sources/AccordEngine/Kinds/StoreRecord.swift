import AccordCore

/// A Store's row in `platform.stores` (SPEC §8): where it is and what it
/// holds. `credentials` is only the name of a file under
/// `ACCORD_SECRETS_DIR`, never what the file holds.
public enum StoreRecord {
    static let columns: [Column] = [
        Column("type", .text), Column("region", .text), Column("endpoint", .text), Column("credentials", .text),
        Column("s3_region", .text), Column("timeout_seconds", .integer), Column("holds", .json),
    ]

    static func fields(_ spec: StoreSpec) -> [String: JSONValue] {
        [
            "type": .string(spec.type.rawValue), "region": .string(spec.region.rawValue), "endpoint": .string(spec.endpoint),
            "credentials": JSONValue(spec.credentials),
            "s3_region": spec.type == .s3 ? .string(spec.s3Region ?? StoreSpec.defaultS3Region) : .null,
            "timeout_seconds": JSONValue(spec.effectiveTimeout.seconds), "holds": holds(spec.holds),
        ]
    }

    /// Each entry as the manifest writes it.
    public static func holds(_ holds: [StoreSpec.Holding]) -> JSONValue {
        .array(holds.map { h in
            switch h {
            case .table(let table, let subject, let tenant, let time):
                .object(["table": .string(table), "subjectField": .string(subject), "tenantField": .string(tenant), "timeField": .string(time)])
            case .keys(let pattern): .object(["keyPattern": .string(pattern)])
            case .objects(let bucket, let prefix): .object(["bucket": .string(bucket), "prefix": .string(prefix)])
            case .resource(let name): .object(["resource": .string(name)])
            }
        })
    }

    /// The entries of a row's `holds`, back as values (for connectors).
    public static func holdings(_ value: JSONValue, type: StoreSpec.StoreType) -> [StoreSpec.Holding] {
        guard case .array(let items) = value else { return [] }
        return items.compactMap { item -> StoreSpec.Holding? in
            switch type {
            case .clickhouse:
                guard let table = item["table"]?.stringValue, let subject = item["subjectField"]?.stringValue,
                      let tenant = item["tenantField"]?.stringValue, let time = item["timeField"]?.stringValue else { return nil }
                return .table(table: table, subjectField: subject, tenantField: tenant, timeField: time)
            case .redis: return item["keyPattern"]?.stringValue.map { .keys(pattern: $0) }
            case .s3:
                guard let bucket = item["bucket"]?.stringValue, let prefix = item["prefix"]?.stringValue else { return nil }
                return .objects(bucket: bucket, prefix: prefix)
            case .http: return item["resource"]?.stringValue.map(StoreSpec.Holding.resource)
            }
        }
    }

    static func spec(_ spec: StoreSpec) -> JSONValue {
        var out: [String: JSONValue] = [
            "type": .string(spec.type.rawValue), "region": .string(spec.region.rawValue), "endpoint": .string(spec.endpoint),
            "holds": holds(spec.holds),
        ]
        if let credentials = spec.credentials { out["credentials"] = .string(credentials) }
        if let region = spec.s3Region { out["s3Region"] = .string(region) }
        if let timeout = spec.timeout { out["timeout"] = .string(timeout.text) }
        return .object(out)
    }
}
