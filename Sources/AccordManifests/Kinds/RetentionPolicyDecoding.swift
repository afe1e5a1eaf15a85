import AccordCore

extension Decoding {
    mutating func retentionPolicySpec(_ node: YAMLNode) -> RetentionPolicySpec? {
        guard let f = fields(node, "spec", allowed: ["rules", "schedule"], required: ["rules"], owner: "a RetentionPolicy spec") else { return nil }
        let before = diagnostics.count
        var rules: [RetentionRule] = []
        if let items = f["rules"].flatMap({ list($0, "spec.rules", nonEmpty: true) }) {
            for (i, item) in items.enumerated() {
                if let rule = retentionRule(item, "spec.rules[\(i)]") { rules.append(rule) }
            }
        }
        let schedule = f["schedule"].flatMap { duration($0, "spec.schedule") }
        guard diagnostics.count == before, !rules.isEmpty else { return nil }
        var spec = RetentionPolicySpec(rules: rules)
        spec.schedule = schedule ?? RetentionPolicySpec.defaultSchedule
        return spec
    }

    private mutating func retentionRule(_ node: YAMLNode, _ path: String) -> RetentionRule? {
        guard let f = fields(node, path, allowed: ["store", "match", "maxAge"], required: ["store", "maxAge"], owner: "a retention rule") else { return nil }
        let store = f["store"].flatMap { oneOf($0, "\(path).store", Store.self) }
        let maxAge = f["maxAge"].flatMap { duration($0, "\(path).maxAge") }
        var match: [String: Scalar] = [:]
        if let matchNode = f["match"], let entries = stringKeyed(matchNode, "\(path).match") {
            for (column, keyNode, valueNode) in entries {
                let columnPath = "\(path).match.\(column)"
                if let store, !store.matchableColumns.contains(column) {
                    let allowed = store.matchableColumns.isEmpty ? "none" : Text.list(store.matchableColumns)
                    error(keyNode, "\(path).match", "store \(store.rawValue) has no column \(Decoding.show(column, limit: 40)) to match (matchable: \(allowed))")
                    continue
                }
                switch valueNode.scalar {
                case .string?, .integer?, .number?, .bool?: match[column] = valueNode.scalar!
                default: error(valueNode, columnPath, "must be a string, number or boolean; got \(describe(valueNode))")
                }
            }
        }
        guard let store, let maxAge else { return nil }
        return RetentionRule(store: store, match: match, maxAge: maxAge)
    }
}
