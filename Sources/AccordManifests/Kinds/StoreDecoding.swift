import AccordCore

extension Decoding {
    mutating func storeSpec(_ node: YAMLNode) -> StoreSpec? {
        guard let f = fields(node, "spec", allowed: ["type", "region", "endpoint", "credentials", "s3Region", "timeout", "holds"],
                             required: ["type", "region", "endpoint", "holds"], owner: "a Store spec") else { return nil }
        let before = diagnostics.count
        let type = f["type"].flatMap { oneOf($0, "spec.type", StoreSpec.StoreType.self) }
        let region = f["region"].flatMap { oneOf($0, "spec.region", Region.self) }
        var endpoint: String?
        if let n = f["endpoint"], let s = string(n, "spec.endpoint"), let type {
            if let problem = StoreEndpoint.problem(s, type: type) {
                error(n, "spec.endpoint", "\(Decoding.show(s, limit: 120)) \(problem)")
            } else {
                endpoint = s
            }
        }
        let credentials = f["credentials"].flatMap {
            string($0, "spec.credentials", matching: Patterns.isPlainFileName,
                   rule: "a plain file name under ACCORD_SECRETS_DIR (letters, digits, '.', '_' and '-', not starting with '.' or '-'; no directories)")
        }
        var s3Region: String?
        if let n = f["s3Region"] {
            if let type, type != .s3 {
                error(node.keyNode("s3Region") ?? n, "spec.s3Region", "only allowed for a store of type s3")
            } else {
                s3Region = string(n, "spec.s3Region", matching: Patterns.isToken, rule: "an S3 region such as us-east-1")
            }
        }
        var timeout: DurationValue?
        if let n = f["timeout"], let d = duration(n, "spec.timeout") {
            if (1...600).contains(d.seconds) {
                timeout = d
            } else {
                error(n, "spec.timeout", "must be between 1s and 10m; got \(Decoding.show(d.text))")
            }
        }
        var holds: [StoreSpec.Holding] = []
        if let items = f["holds"].flatMap({ list($0, "spec.holds", nonEmpty: true) }), let type {
            var seen: [String: Int] = [:]
            for (i, item) in items.enumerated() {
                guard let holding = holding(item, "spec.holds[\(i)]", type: type) else { continue }
                if let first = seen[holding.entry] {
                    error(item, "spec.holds[\(i)]", "\(Decoding.show(holding.entry)) is listed twice (first at spec.holds[\(first)])")
                    continue
                }
                seen[holding.entry] = i
                holds.append(holding)
            }
        }
        guard diagnostics.count == before, let type, let region, let endpoint, !holds.isEmpty else { return nil }
        var spec = StoreSpec(type: type, region: region, endpoint: endpoint, holds: holds)
        spec.credentials = credentials
        spec.s3Region = s3Region
        spec.timeout = timeout
        return spec
    }

    /// One `holds` entry, with the fields of the store's type.
    private mutating func holding(_ node: YAMLNode, _ path: String, type: StoreSpec.StoreType) -> StoreSpec.Holding? {
        let owner = "a \(type.rawValue) holds entry"
        switch type {
        case .clickhouse:
            guard let f = fields(node, path, allowed: ["table", "subjectField", "tenantField", "timeField"],
                                 required: ["table", "subjectField", "tenantField", "timeField"], owner: owner) else { return nil }
            let table = f["table"].flatMap {
                string($0, "\(path).table", matching: Patterns.isClickHouseTable, rule: "a table name (letters, digits and '_', optionally database.table)")
            }
            var columns: [String: String] = [:]
            for field in ["subjectField", "tenantField", "timeField"] {
                if let value = f[field].flatMap({
                    string($0, "\(path).\(field)", matching: Patterns.isColumnName, rule: "a column name (letters, digits and '_')")
                }) { columns[field] = value }
            }
            guard let table, let subject = columns["subjectField"], let tenant = columns["tenantField"], let time = columns["timeField"] else { return nil }
            return .table(table: table, subjectField: subject, tenantField: tenant, timeField: time)
        case .redis:
            guard let f = fields(node, path, allowed: ["keyPattern"], required: ["keyPattern"], owner: owner),
                  let n = f["keyPattern"], let pattern = placeholders(n, "\(path).keyPattern") else { return nil }
            if let problem = StorePlaceholders.globProblem(pattern) {
                error(n, "\(path).keyPattern", "\(Decoding.show(pattern, limit: 120)) \(problem)")
                return nil
            }
            return .keys(pattern: pattern)
        case .s3:
            guard let f = fields(node, path, allowed: ["bucket", "prefix"], required: ["bucket", "prefix"], owner: owner) else { return nil }
            let bucket = f["bucket"].flatMap {
                string($0, "\(path).bucket", matching: Patterns.isBucketName,
                       rule: "an S3 bucket name (3 to 63 lowercase letters, digits, '.' and '-', starting and ending with a letter or digit)")
            }
            let prefix = f["prefix"].flatMap { placeholders($0, "\(path).prefix") }
            guard let bucket, let prefix else { return nil }
            return .objects(bucket: bucket, prefix: prefix)
        case .http:
            guard let f = fields(node, path, allowed: ["resource"], required: ["resource"], owner: owner),
                  let resource = f["resource"].flatMap({ string($0, "\(path).resource", matching: Patterns.isToken, rule: "a resource name (lowercase letters, digits and '-')") })
            else { return nil }
            return .resource(resource)
        }
    }

    /// A key pattern or prefix: text with `{tenant}` and `{subject}`, each
    /// exactly once and `{tenant}` first (an erasure must reach one tenant's
    /// one subject, and retention everything of one tenant), and no other
    /// placeholder.
    private mutating func placeholders(_ node: YAMLNode, _ path: String) -> String? {
        guard let s = string(node, path) else { return nil }
        if Text.containsControl(s) {
            error(node, path, "contains a control character")
            return nil
        }
        if let problem = StorePlaceholders.problem(s) {
            error(node, path, "\(Decoding.show(s, limit: 120)) \(problem)")
            return nil
        }
        return s
    }
}

/// The shape of a store's endpoint by type.
enum StoreEndpoint {
    static func problem(_ s: String, type: StoreSpec.StoreType) -> String? {
        if type == .redis, s.hasPrefix("rediss://") {
            return "asks for TLS to Redis (rediss://), which Accord does not speak yet; use redis:// on a trusted network"
        }
        let schemes = type == .redis ? ["redis://"] : ["http://", "https://"]
        guard let scheme = schemes.first(where: { s.hasPrefix($0) }) else {
            return "is not \(type == .redis ? "a redis://host:port[/db]" : "an http(s)://host:port[/path]") URL"
        }
        guard Patterns.isURI(s) else { return "is not a URL" }
        let rest = s.dropFirst(scheme.count)
        let authority = rest.prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        if authority.contains("@") { return "holds credentials; put them in the file spec.credentials names" }
        if rest.contains("?") || rest.contains("#") { return "must not have a query or a fragment" }
        guard hostAndPort(String(authority)) != nil else { return "has no valid host (and port from 1 to 65535)" }
        let path = rest.dropFirst(authority.count)
        switch type {
        case .redis:
            guard path.isEmpty || path == "/" || (path.dropFirst().allSatisfy(\.isNumber) && Int(path.dropFirst()).map { (0...15).contains($0) } == true) else {
                return "has a path; a redis endpoint may end only in /DB, a database number from 0 to 15"
            }
        case .s3:
            guard path.isEmpty || path == "/" else { return "has a path; an S3 endpoint is the service's base URL (buckets are addressed path-style)" }
        case .clickhouse, .http:
            break
        }
        return nil
    }

    /// `host[:port]` or `[v6]:port`; nil when malformed.
    static func hostAndPort(_ authority: String) -> (String, Int?)? {
        var host = authority
        var port: Int?
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { return nil }
            host = String(authority[authority.index(after: authority.startIndex)..<close])
            let after = authority[authority.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":"), let p = Int(after.dropFirst()) else { return nil }
                port = p
            }
        } else if let colon = authority.firstIndex(of: ":") {
            host = String(authority[..<colon])
            let digits = authority[authority.index(after: colon)...]
            guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }), let p = Int(digits) else { return nil }
            port = p
        }
        let allowed = authority.hasPrefix("[") ? ".-:" : ".-"
        guard !host.isEmpty, host.unicodeScalars.allSatisfy({ $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || allowed.unicodeScalars.contains($0)) })
        else { return nil }
        if let port, !(1...65535).contains(port) { return nil }
        return (host, port)
    }
}
