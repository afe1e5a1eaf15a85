import Foundation
import AccordCore

/// The small grammars manifests use. Pure functions over strings.
enum Patterns {
    private static func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }
    private static func isLowerAlnum(_ c: UInt8) -> Bool { (c >= 97 && c <= 122) || (c >= 48 && c <= 57) }
    private static func isDigit(_ c: UInt8) -> Bool { c >= 48 && c <= 57 }
    private static func isHexLower(_ c: UInt8) -> Bool { isDigit(c) || (c >= 97 && c <= 102) }

    /// `[a-z0-9]([-a-z0-9]*[a-z0-9])?`, at most 63 characters.
    static func isDNSLabel(_ s: String) -> Bool {
        let b = s.utf8
        guard (1...63).contains(b.count), isLowerAlnum(b.first!), isLowerAlnum(b.last!) else { return false }
        return b.allSatisfy { isLowerAlnum($0) || $0 == UInt8(ascii: "-") }
    }

    /// `[a-z0-9][a-z0-9-]*`, at most 63 characters.
    static func isToken(_ s: String) -> Bool {
        let b = s.utf8
        guard (1...63).contains(b.count), isLowerAlnum(b.first!) else { return false }
        return b.allSatisfy { isLowerAlnum($0) || $0 == UInt8(ascii: "-") }
    }

    /// Event names: `[a-z0-9][a-z0-9_.-]*`, at most 128 characters.
    static func isEventName(_ s: String) -> Bool {
        let b = s.utf8
        guard (1...128).contains(b.count), isLowerAlnum(b.first!) else { return false }
        return b.allSatisfy { isLowerAlnum($0) || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ".") }
    }

    /// A legal basis: a lowercase token that may contain dots (`gdpr-art17`).
    static func isLegalBasis(_ s: String) -> Bool {
        let b = s.utf8
        guard (1...63).contains(b.count), isLowerAlnum(b.first!) else { return false }
        return b.allSatisfy { isLowerAlnum($0) || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: ".") }
    }

    /// Model versions: `[A-Za-z0-9][A-Za-z0-9._-]*`, at most 63 characters.
    static func isVersion(_ s: String) -> Bool {
        let b = s.utf8
        func ok(_ c: UInt8) -> Bool { isDigit(c) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) }
        guard (1...63).contains(b.count), ok(b.first!) else { return false }
        return b.allSatisfy { ok($0) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-") }
    }

    /// Metric names in `evaluation` and `promotion.metric`.
    static func isMetricName(_ s: String) -> Bool {
        let b = s.utf8
        guard (1...63).contains(b.count), b.first! >= 97 && b.first! <= 122 else { return false }
        return b.allSatisfy { isLowerAlnum($0) || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-") }
    }

    /// `sha256:` followed by exactly 64 lowercase hex digits.
    static func isSHA256(_ s: String) -> Bool {
        let b = s.utf8
        return b.count == 71 && s.hasPrefix("sha256:") && b.dropFirst(7).allSatisfy(isHexLower)
    }

    /// Why a would-be `sha256:` value is wrong, for a precise message.
    static func sha256Problem(_ s: String) -> String {
        guard s.hasPrefix("sha256:") else { return "must start with \"sha256:\"" }
        let hex = s.dropFirst(7)
        if hex.utf8.contains(where: { !isHexLower($0) }) {
            return hex.utf8.allSatisfy({ isHexLower($0) || ($0 >= 65 && $0 <= 70) })
                ? "hex digits must be lowercase" : "must hold only hex digits after \"sha256:\""
        }
        return "must have 64 hex digits after \"sha256:\", not \(hex.utf8.count)"
    }

    /// `30m`, `4h`, `2d`, `1d12h`: parts in decreasing unit order, total > 0.
    static func durationSeconds(_ s: String) -> Int? {
        let units: [(UInt8, Int)] = [(UInt8(ascii: "d"), 86_400), (UInt8(ascii: "h"), 3_600), (UInt8(ascii: "m"), 60), (UInt8(ascii: "s"), 1)]
        var total = 0, unitIndex = 0, number = 0, digits = 0
        for c in bytes(s) {
            if isDigit(c) {
                guard digits < 9 else { return nil }
                number = number * 10 + Int(c - 48)
                digits += 1
                continue
            }
            guard digits > 0, let found = units[unitIndex...].firstIndex(where: { $0.0 == c }) else { return nil }
            total += number * units[found].1
            unitIndex = found + 1
            number = 0
            digits = 0
        }
        return digits == 0 && total > 0 ? total : nil
    }

    /// An absolute URI with a scheme and something after `://`, no spaces.
    static func isURI(_ s: String) -> Bool {
        guard let range = s.range(of: "://"), !s[range.upperBound...].isEmpty else { return false }
        let scheme = s[..<range.lowerBound].utf8
        guard let first = scheme.first, first >= 97 && first <= 122 else { return false }
        return scheme.allSatisfy { isLowerAlnum($0) || $0 == UInt8(ascii: "+") || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "-") }
            && !hasWhitespaceOrControl(s)
    }

    /// Whether any character is whitespace or a C0 control. For ASCII
    /// text (every byte below 0x80) that is any byte up to the space; other
    /// text asks each scalar's Unicode properties.
    static func hasWhitespaceOrControl(_ s: String) -> Bool {
        if s.utf8.allSatisfy({ $0 < 0x80 }) { return s.utf8.contains { $0 <= 0x20 } }
        return s.unicodeScalars.contains { $0.properties.isWhitespace || $0.value < 0x20 }
    }

    /// `https://host[...]`.
    static func isHTTPSURL(_ s: String) -> Bool {
        guard s.hasPrefix("https://"), isURI(s) else { return false }
        let host = s.dropFirst(8).prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        return !host.isEmpty && !host.hasPrefix(":")
    }

    /// Decoded Ed25519 signature bytes, or `nil` when not base64.
    static func base64(_ s: String) -> [UInt8]? {
        Base64.decode(s)
    }

    /// RFC 3339 timestamp with a zone: seconds since the epoch.
    static func rfc3339(_ s: String) -> Int64? {
        let b = bytes(s)
        func num(_ from: Int, _ count: Int) -> Int? {
            guard from + count <= b.count else { return nil }
            var v = 0
            for c in b[from..<(from + count)] {
                guard isDigit(c) else { return nil }
                v = v * 10 + Int(c - 48)
            }
            return v
        }
        func at(_ i: Int, _ c: Character) -> Bool { i < b.count && b[i] == c.asciiValue! }
        guard let year = num(0, 4), at(4, "-"), let month = num(5, 2), at(7, "-"), let day = num(8, 2),
              at(10, "T") || at(10, "t"), let hour = num(11, 2), at(13, ":"), let minute = num(14, 2),
              at(16, ":"), let second = num(17, 2) else { return nil }
        var i = 19
        if at(i, ".") {
            i += 1
            let start = i
            while i < b.count, isDigit(b[i]) { i += 1 }
            guard i > start else { return nil }
        }
        var offset = 0
        if at(i, "Z") || at(i, "z") {
            i += 1
        } else if at(i, "+") || at(i, "-") {
            guard let oh = num(i + 1, 2), at(i + 3, ":"), let om = num(i + 4, 2), oh <= 23, om <= 59 else { return nil }
            offset = (oh * 60 + om) * 60 * (b[i] == UInt8(ascii: "-") ? -1 : 1)
            i += 6
        } else {
            return nil
        }
        guard i == b.count, (1...12).contains(month), hour <= 23, minute <= 59, second <= 60 else { return nil }
        let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
        let days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
        guard (1...days[month - 1]).contains(day) else { return nil }
        // Days from civil (Howard Hinnant's algorithm).
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        let epochDays = era * 146_097 + doe - 719_468
        return Int64(epochDays) * 86_400 + Int64(hour * 3600 + minute * 60 + second - offset)
    }

    /// Whether the text holds something shaped like an e-mail address
    /// (`local@domain.tld`).
    static func containsEmailAddress(_ s: String) -> Bool {
        let b = bytes(s)
        func isLocal(_ c: UInt8) -> Bool {
            isLowerAlnum(c) || (c >= 65 && c <= 90) || ".!#$%&'*+/=?^_`{|}~-".utf8.contains(c)
        }
        func isDomain(_ c: UInt8) -> Bool { isLowerAlnum(c) || (c >= 65 && c <= 90) || c == UInt8(ascii: "-") || c == UInt8(ascii: ".") }
        for (i, c) in b.enumerated() where c == UInt8(ascii: "@") {
            guard i > 0, isLocal(b[i - 1]) else { continue }
            var j = i + 1
            while j < b.count, isDomain(b[j]) { j += 1 }
            let labels = b[(i + 1)..<j].split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
            guard labels.count >= 2, labels.allSatisfy({ !$0.isEmpty }),
                  let tld = labels.last, tld.count >= 2, tld.allSatisfy({ ($0 >= 97 && $0 <= 122) || ($0 >= 65 && $0 <= 90) })
            else { continue }
            return true
        }
        return false
    }
}

extension Patterns {
    /// A file name with no directory: letters, digits, `.`, `_`, `-`, not starting with `.`.
    static func isPlainFileName(_ s: String) -> Bool {
        guard let first = s.utf8.first, first != UInt8(ascii: "."), first != UInt8(ascii: "-"), s.utf8.count <= 255 else { return false }
        return s.utf8.allSatisfy { isIdentifierByte($0) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "-") }
    }

    /// A SQL column name: a letter or `_`, then letters, digits, `_` (at most 64).
    static func isColumnName(_ s: String) -> Bool {
        guard let first = s.utf8.first, !isDigitByte(first), s.utf8.count <= 64 else { return false }
        return s.utf8.allSatisfy(isIdentifierByte)
    }

    /// `table` or `database.table`, each a column-style name.
    static func isClickHouseTable(_ s: String) -> Bool {
        let parts = s.split(separator: ".", omittingEmptySubsequences: false)
        return (1...2).contains(parts.count) && parts.allSatisfy { isColumnName(String($0)) }
    }

    /// An S3 bucket name: 3 to 63 of lowercase letters, digits, `.`, `-`, starting and ending with a letter or digit.
    static func isBucketName(_ s: String) -> Bool {
        let b = Array(s.utf8)
        guard (3...63).contains(b.count), let first = b.first, let last = b.last else { return false }
        func alnum(_ c: UInt8) -> Bool { (c >= 97 && c <= 122) || isDigitByte(c) }
        return alnum(first) && alnum(last) && b.allSatisfy { alnum($0) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "-") }
            && !s.contains("..")
    }

    private static func isDigitByte(_ c: UInt8) -> Bool { c >= 48 && c <= 57 }
    private static func isIdentifierByte(_ c: UInt8) -> Bool {
        (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || isDigitByte(c) || c == UInt8(ascii: "_")
    }
}
