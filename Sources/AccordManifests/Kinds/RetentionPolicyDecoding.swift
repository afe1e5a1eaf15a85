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
        let store = f["store"].flatMap { retentionTarget($0, "\(path).store") }
        let maxAge = f["maxAge"].flatMap { duration($0, "\(path).maxAge") }
        var match: [String: Scalar] = [:]
        if let matchNode = f["match"], let entries = stringKeyed(matchNode, "\(path).match") {
            for (column, keyNode, valueNode) in entries {
                let columnPath = "\(path).match.\(column)"
                guard case .table(let table)? = store else {
                    if store != nil { error(keyNode, "\(path).match", "only rules on a tenant data table match columns; an external store's rule covers all of its entry") }
                    continue
                }
                if !table.matchableColumns.contains(column) {
                    let allowed = table.matchableColumns.isEmpty ? "none" : Text.list(table.matchableColumns)
                    error(keyNode, "\(path).match", "store \(table.rawValue) has no column \(Decoding.show(column, limit: 40)) to match (matchable: \(allowed))")
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

    /// A tenant data table (`worker_memory`), or an external Store by name,
    /// with one entry of its holds or not (`analytics-eu/events`).
    private mutating func retentionTarget(_ node: YAMLNode, _ path: String) -> RetentionTarget? {
        guard let s = string(node, path) else { return nil }
        if let table = TenantTable(rawValue: s) { return .table(table) }
        let parts = s.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        guard Patterns.isDNSLabel(parts[0]), parts.count == 1 || !(parts[1].isEmpty || Text.containsControl(parts[1])) else {
            error(node, path, "must be a tenant data table (\(Text.list(TenantTable.allCases.map(\.rawValue)))) or a Store as STORE or STORE/ENTRY; got \(Decoding.show(s))")
            return nil
        }
        return .store(name: parts[0], entry: parts.count == 2 ? parts[1] : nil)
    }
}
