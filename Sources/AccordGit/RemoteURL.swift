/// Remote URLs as Accord accepts and shows them.
public enum RemoteURL {
    /// Whether `--repo` names a remote (`https://`, `ssh://`, `file://`,
    /// `git@host:path`) rather than a local directory.
    public static func isRemote(_ repo: String) -> Bool {
        for scheme in ["https://", "http://", "ssh://", "file://", "git://"] where repo.hasPrefix(scheme) { return true }
        // scp-like syntax: user@host:path
        if let at = repo.firstIndex(of: "@"), let colon = repo.firstIndex(of: ":"), at < colon, !repo.hasPrefix("/") { return true }
        return false
    }

    /// The URL without any `user:password@` part, for messages and logs.
    public static func redacted(_ url: String) -> String {
        guard let schemeEnd = url.range(of: "://") else { return url }
        let rest = url[schemeEnd.upperBound...]
        let authorityEnd = rest.firstIndex(of: "/") ?? rest.endIndex
        guard let at = rest[..<authorityEnd].lastIndex(of: "@") else { return url }
        return String(url[..<schemeEnd.upperBound]) + "***@" + String(rest[rest.index(after: at)...])
    }

    /// Replaces user info in every URL that appears in a message.
    static func redactingUserInfo(in message: String) -> String {
        var out = ""
        var rest = Substring(message)
        while let range = rest.range(of: "://") {
            let schemeStart = rest[..<range.lowerBound].lastIndex(where: { !($0.isLetter || $0 == "+" || $0 == "." || $0 == "-") })
                .map { rest.index(after: $0) } ?? rest.startIndex
            out += rest[..<schemeStart]
            let urlEnd = rest[range.upperBound...].firstIndex(where: { $0 == " " || $0 == "'" || $0 == "\"" }) ?? rest.endIndex
            out += redacted(String(rest[schemeStart..<urlEnd]))
            rest = rest[urlEnd...]
        }
        return out + rest
    }

    /// A directory name for a mirror of `url`: readable and unique.
    static func mirrorDirectoryName(_ url: String) -> String {
        let clean = redacted(url)
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in url.utf8 {
            hash ^= UInt64(byte)
            hash &*= 0x100_0000_01b3
        }
        let readable = clean.split(separator: "/").last.map(String.init)?
            .filter { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == "." }
            .prefix(40) ?? "repo"
        let hex = String(hash, radix: 16)
        return "\(readable.isEmpty ? "repo" : String(readable))-\(String(repeating: "0", count: 16 - hex.count))\(hex).git"
    }
}
