import AccordCore

extension Decoding {
    mutating func tenantSpec(_ node: YAMLNode) -> TenantSpec? {
        guard let f = fields(node, "spec", allowed: ["displayName", "plan", "region", "isolation", "auth", "gdpr", "encryption", "suspended", "deletionPolicy", "stores"],
                             required: ["displayName", "plan", "region"], owner: "a Tenant spec") else { return nil }
        let before = diagnostics.count
        let displayName = f["displayName"].flatMap { string($0, "spec.displayName") }
        let plan = f["plan"].flatMap { oneOf($0, "spec.plan", TenantPlan.self) }
        let region = f["region"].flatMap { oneOf($0, "spec.region", Region.self) }
        let isolation = f["isolation"].flatMap { oneOf($0, "spec.isolation", Isolation.self) }
        let auth = f["auth"].flatMap { tenantAuth($0) }
        let gdpr = f["gdpr"].flatMap { tenantGDPR($0) }
        var rotation: Int?
        if let enc = f["encryption"], let ef = fields(enc, "spec.encryption", allowed: ["keyRotationDays"], owner: "spec.encryption") {
            rotation = ef["keyRotationDays"].flatMap { integer($0, "spec.encryption.keyRotationDays", in: 1...3650) }
        }
        let suspended = f["suspended"].flatMap { bool($0, "spec.suspended") }
        let deletion = f["deletionPolicy"].flatMap { oneOf($0, "spec.deletionPolicy", DeletionPolicy.self) }
        let stores = f["stores"].flatMap { referenceList($0, "spec.stores") }
        guard diagnostics.count == before, let displayName, let plan, let region else { return nil }

        var spec = TenantSpec(displayName: displayName, plan: plan, region: region)
        spec.isolation = isolation
        spec.auth = auth ?? spec.auth
        spec.gdpr = gdpr ?? spec.gdpr
        spec.keyRotationDays = rotation ?? spec.keyRotationDays
        spec.suspended = suspended ?? false
        spec.deletionPolicy = deletion ?? .retain
        spec.stores = stores ?? []
        return spec
    }

    private mutating func tenantAuth(_ node: YAMLNode) -> TenantSpec.Auth? {
        guard let f = fields(node, "spec.auth", allowed: ["sso", "issuer", "mfa"], owner: "spec.auth") else { return nil }
        var auth = TenantSpec.Auth()
        auth.sso = f["sso"].flatMap { oneOf($0, "spec.auth.sso", SSOProtocol.self) } ?? .none
        auth.mfa = f["mfa"].flatMap { oneOf($0, "spec.auth.mfa", MFAPolicy.self) } ?? .required
        if let issuerNode = f["issuer"] {
            if f["sso"] == nil || auth.sso == .none {
                error(node.keyNode("issuer") ?? issuerNode, "spec.auth.issuer", "only allowed when spec.auth.sso is saml or oidc")
            } else {
                auth.issuer = string(issuerNode, "spec.auth.issuer", matching: Patterns.isHTTPSURL, rule: "an https:// URL")
            }
        } else if auth.sso != .none {
            error(node, "spec.auth", "missing required field \"issuer\" (required when sso is \(auth.sso.rawValue))")
        }
        return auth
    }

    /// A list of distinct object names (references).
    mutating func referenceList(_ node: YAMLNode, _ path: String) -> [String]? {
        guard let items = list(node, path) else { return nil }
        var out: [String] = []
        var ok = true
        for (i, item) in items.enumerated() {
            guard let name = reference(item, "\(path)[\(i)]") else { ok = false; continue }
            if out.contains(name) {
                error(item, "\(path)[\(i)]", "\(Decoding.show(name)) is listed twice")
                ok = false
                continue
            }
            out.append(name)
        }
        return ok ? out : nil
    }

    private mutating func tenantGDPR(_ node: YAMLNode) -> TenantSpec.GDPR? {
        guard let f = fields(node, "spec.gdpr", allowed: ["retentionPolicy", "consent"], owner: "spec.gdpr") else { return nil }
        var gdpr = TenantSpec.GDPR()
        gdpr.retentionPolicy = f["retentionPolicy"].flatMap { reference($0, "spec.gdpr.retentionPolicy") }
        gdpr.consent = f["consent"].flatMap { tokenList($0, "spec.gdpr.consent") } ?? []
        return gdpr
    }
}
