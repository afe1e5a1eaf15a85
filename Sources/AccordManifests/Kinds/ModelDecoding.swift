import AccordCore

extension Decoding {
    mutating func modelSpec(_ node: YAMLNode) -> ModelSpec? {
        guard let f = fields(node, "spec", allowed: ["versions", "production", "shadow", "promotion"],
                             required: ["versions"], owner: "a Model spec") else { return nil }
        let before = diagnostics.count
        var versions: [ModelVersion] = []
        var versionNodes: [String: YAMLNode] = [:]
        // Versions named in the list, even those with other problems, so
        // production and shadow are not reported again for them.
        var listed = Set<String>()
        if let items = f["versions"].flatMap({ list($0, "spec.versions", nonEmpty: true) }) {
            for item in items { if case .string(let v)? = item.child("version")?.scalar { listed.insert(v) } }
            for (i, item) in items.enumerated() {
                let path = "spec.versions[\(i)]"
                guard let version = modelVersion(item, path) else { continue }
                if let first = versionNodes[version.version] {
                    error(item.child("version") ?? item, "\(path).version",
                          "version \(Decoding.show(version.version)) is listed twice; first at line \(first.line)")
                    continue
                }
                versionNodes[version.version] = item
                versions.append(version)
            }
        }
        func listedVersion(_ node: YAMLNode, _ path: String) -> String? {
            guard let v = string(node, path) else { return nil }
            guard listed.contains(v) else {
                error(node, path, "version \(Decoding.show(v)) is not in spec.versions (listed: \(Text.list(listed.sorted().map { "\"\($0)\"" }, conjunction: "and")))")
                return nil
            }
            return v
        }
        let production = f["production"].flatMap { listedVersion($0, "spec.production") }

        var shadow: ModelSpec.Shadow?
        if let s = f["shadow"], let sf = fields(s, "spec.shadow", allowed: ["version", "trafficPercent"], required: ["version"], owner: "spec.shadow") {
            let version = sf["version"].flatMap { listedVersion($0, "spec.shadow.version") }
            let percent = sf["trafficPercent"].flatMap { number($0, "spec.shadow.trafficPercent", in: 0...50) }
            if let version, version == production, let vn = sf["version"] {
                error(vn, "spec.shadow.version", "is the production version; a shadow runs a different version")
            } else if let version, sf["trafficPercent"] == nil || percent != nil {
                shadow = ModelSpec.Shadow(version: version, trafficPercent: percent ?? 0)
            }
        }

        var promotion: ModelSpec.Promotion?
        if let p = f["promotion"], let pf = fields(p, "spec.promotion", allowed: ["metric", "minImprovement"], required: ["metric"], owner: "spec.promotion") {
            let metric = pf["metric"].flatMap { string($0, "spec.promotion.metric", matching: Patterns.isMetricName, rule: "a metric name (lowercase letters, digits, '_' and '-')") }
            let minImprovement = pf["minImprovement"].flatMap { number($0, "spec.promotion.minImprovement", in: 0...1_000_000) }
            if let metric, pf["minImprovement"] == nil || minImprovement != nil {
                promotion = ModelSpec.Promotion(metric: metric, minImprovement: minImprovement ?? 0)
            }
        }
        guard diagnostics.count == before else { return nil }
        var spec = ModelSpec(versions: versions)
        spec.production = production
        spec.shadow = shadow
        spec.promotion = promotion
        return spec
    }

    private mutating func modelVersion(_ node: YAMLNode, _ path: String) -> ModelVersion? {
        guard let f = fields(node, path, allowed: ["version", "artifact", "digest", "evaluation", "signature"],
                             required: ["version", "artifact", "digest"], owner: "a model version") else { return nil }
        let before = diagnostics.count
        let version = f["version"].flatMap { string($0, "\(path).version", matching: Patterns.isVersion, rule: "a version (letters, digits, '.', '_' and '-')") }
        let artifact = f["artifact"].flatMap { string($0, "\(path).artifact", matching: Patterns.isURI, rule: "a URI with a scheme (like s3://bucket/path)") }
        let digest = f["digest"].flatMap { sha256($0, "\(path).digest") }
        var evaluation: [String: Double] = [:]
        if let e = f["evaluation"], let entries = stringKeyed(e, "\(path).evaluation") {
            for (metric, keyNode, valueNode) in entries {
                guard Patterns.isMetricName(metric) else {
                    error(keyNode, "\(path).evaluation", "\(Decoding.show(metric, limit: 40)) is not a metric name (lowercase letters, digits, '_' and '-')")
                    continue
                }
                if let v = number(valueNode, "\(path).evaluation.\(metric)") { evaluation[metric] = v }
            }
        }
        var signature: [UInt8]?
        if let s = f["signature"], let text = string(s, "\(path).signature") {
            if let bytes = Patterns.base64(text), bytes.count == 64 {
                signature = bytes
            } else if let bytes = Patterns.base64(text) {
                error(s, "\(path).signature", "must be a 64-byte Ed25519 signature in base64; got \(bytes.count) bytes")
            } else {
                error(s, "\(path).signature", "is not valid base64")
            }
        }
        guard diagnostics.count == before, let version, let artifact, let digest else { return nil }
        var v = ModelVersion(version: version, artifact: artifact, digest: digest)
        v.evaluation = evaluation
        v.signature = signature
        return v
    }
}
