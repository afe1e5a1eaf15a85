import AccordCore

/// A Model's row in `platform.models`, with its versions (the rows of
/// `platform.model_versions`) as one JSON field keyed by version.
enum ModelRecord {
    static let columns: [Column] = [
        Column("production_version", .text), Column("shadow_version", .text),
        Column("shadow_traffic_percent", .double), Column("promotion_metric", .text),
        Column("promotion_min_improvement", .double), Column("versions", .json),
    ]

    static func fields(_ spec: ModelSpec) -> [String: JSONValue] {
        [
            "production_version": JSONValue(spec.production),
            "shadow_version": JSONValue(spec.shadow?.version),
            "shadow_traffic_percent": JSONValue(spec.shadow?.trafficPercent),
            "promotion_metric": JSONValue(spec.promotion?.metric),
            "promotion_min_improvement": JSONValue(spec.promotion?.minImprovement),
            "versions": .object(Dictionary(uniqueKeysWithValues: spec.versions.map { ($0.version, version($0)) })),
        ]
    }

    static func version(_ v: ModelVersion) -> JSONValue {
        .object([
            "artifact": .string(v.artifact),
            "digest": .string(v.digest),
            "evaluation": .object(v.evaluation.mapValues { .number($0) }),
            "signature": JSONValue(v.signature.map(Base64.encode)),
        ])
    }

    static func spec(_ spec: ModelSpec) -> JSONValue {
        var out: [String: JSONValue] = [
            "versions": .array(spec.versions.map { v in
                guard case .object(var o) = version(v) else { return .null }
                o["version"] = .string(v.version)
                if v.signature == nil { o["signature"] = nil }
                return .object(o)
            }),
        ]
        if let production = spec.production { out["production"] = .string(production) }
        if let shadow = spec.shadow {
            out["shadow"] = .object(["version": .string(shadow.version), "trafficPercent": .number(shadow.trafficPercent)])
        }
        if let promotion = spec.promotion {
            out["promotion"] = .object(["metric": .string(promotion.metric), "minImprovement": .number(promotion.minImprovement)])
        }
        return .object(out)
    }
}
