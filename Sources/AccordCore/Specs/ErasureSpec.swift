public struct ErasureSpec: Hashable, Sendable {
    /// `sha256:<64 lowercase hex>` of the subject's e-mail address.
    public var subjectEmailHash: String
    /// As written (RFC 3339), and as seconds since 1970-01-01T00:00:00Z.
    public var requestedAt: String
    public var requestedAtEpochSeconds: Int64
    public var legalBasis: String

    public init(subjectEmailHash: String, requestedAt: String, requestedAtEpochSeconds: Int64, legalBasis: String) {
        self.subjectEmailHash = subjectEmailHash
        self.requestedAt = requestedAt
        self.requestedAtEpochSeconds = requestedAtEpochSeconds
        self.legalBasis = legalBasis
    }
}
