import Crypto

/// `Authorization: Bearer <token>` (RFC 6750) against the configured API
/// token (`--api-token-file`). Compared in constant time: both sides are
/// hashed first, so neither the token's length nor where a guess first
/// differs shows in the time an answer takes.
public enum BearerToken {
    public static let minimumLength = 16
    /// The challenge a refused request gets (RFC 6750 §3).
    public static let challenge = #"Bearer realm="accord-controller""#

    /// Whether `authorization` (the header's value, nil when missing) carries
    /// `token`. The scheme is case-insensitive; one space after it, as RFC
    /// 6750 writes it, or more.
    public static func isValid(_ authorization: String?, token: [UInt8]) -> Bool {
        guard let authorization else { return false }
        let parts = authorization.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { return false }
        let presented = Array(parts[1].trimmingPrefix(while: { $0 == " " }).utf8)
        let a = Array(SHA256.hash(data: presented)), b = Array(SHA256.hash(data: token))
        var difference: UInt8 = 0
        for i in 0..<a.count { difference |= a[i] ^ b[i] }
        return difference == 0
    }
}

extension Substring {
    fileprivate func trimmingPrefix(while predicate: (Character) -> Bool) -> Substring {
        var rest = self[...]
        while let first = rest.first, predicate(first) { rest = rest.dropFirst() }
        return rest
    }
}
