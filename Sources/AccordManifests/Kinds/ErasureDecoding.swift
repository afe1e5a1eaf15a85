import AccordCore

extension Decoding {
    mutating func erasureSpec(_ node: YAMLNode) -> ErasureSpec? {
        guard let f = fields(node, "spec", allowed: ["subjectEmailHash", "requestedAt", "legalBasis"],
                             required: ["subjectEmailHash", "requestedAt", "legalBasis"], owner: "an Erasure spec") else { return nil }
        let hash = f["subjectEmailHash"].flatMap { sha256($0, "spec.subjectEmailHash") }
        var requested: (String, Int64)?
        if let n = f["requestedAt"] {
            if let s = string(n, "spec.requestedAt") {
                if let seconds = Patterns.rfc3339(s) {
                    requested = (s, seconds)
                } else {
                    error(n, "spec.requestedAt", "\(Decoding.show(s)) is not an RFC 3339 timestamp with a time zone (like 2026-11-18T09:00:00Z)")
                }
            }
        }
        let basis = f["legalBasis"].flatMap {
            string($0, "spec.legalBasis", matching: Patterns.isLegalBasis, rule: "a lowercase token such as gdpr-art17")
        }
        guard let hash, let requested, let basis else { return nil }
        return ErasureSpec(subjectEmailHash: hash, requestedAt: requested.0, requestedAtEpochSeconds: requested.1, legalBasis: basis)
    }

    /// `sha256:<64 lowercase hex>`, with a message that says what is off.
    /// A raw e-mail address is left to the Erasure-wide check, which says so
    /// without echoing it.
    mutating func sha256(_ node: YAMLNode, _ path: String) -> String? {
        guard let s = string(node, path) else { return nil }
        if Patterns.isSHA256(s) { return s }
        if !Patterns.containsEmailAddress(s) {
            error(node, path, "\(Decoding.show(s, limit: 24)) is not a sha256 digest: \(Patterns.sha256Problem(s))")
        }
        return nil
    }
}
