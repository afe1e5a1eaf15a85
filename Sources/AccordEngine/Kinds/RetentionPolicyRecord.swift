import AccordCore

/// A RetentionPolicy's row in `platform.retention_policies`.
enum RetentionPolicyRecord {
    static let columns: [Column] = [Column("rules", .json), Column("schedule", .text)]

    static func fields(_ spec: RetentionPolicySpec) -> [String: JSONValue] {
        ["rules": rules(spec), "schedule": .string(spec.schedule.text)]
    }

    static func rules(_ spec: RetentionPolicySpec) -> JSONValue {
        .array(spec.rules.map { rule in
            var out: [String: JSONValue] = [
                "store": .string(rule.store.description),
                "maxAge": .string(rule.maxAge.text),
                "maxAgeSeconds": JSONValue(rule.maxAge.seconds),
            ]
            if !rule.match.isEmpty { out["match"] = .object(rule.match.mapValues(JSONValue.init)) }
            // A rule on an external store: PostgreSQL's retention passes it by.
            if case .store = rule.store { out["external"] = .bool(true) }
            return .object(out)
        })
    }

    static func spec(_ spec: RetentionPolicySpec) -> JSONValue {
        .object(["rules": rules(spec), "schedule": .string(spec.schedule.text)])
    }
}
