import Foundation

/// Standard base64 (RFC 4648, with padding), for signatures written back
/// out of Accord.
public enum Base64 {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    public static func encode(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count + 2) / 3 * 4)
        var i = 0
        while i < bytes.count {
            let b0 = bytes[i], b1 = i + 1 < bytes.count ? bytes[i + 1] : 0, b2 = i + 2 < bytes.count ? bytes[i + 2] : 0
            out.append(alphabet[Int(b0 >> 2)])
            out.append(alphabet[Int((b0 & 0x03) << 4 | b1 >> 4)])
            out.append(i + 1 < bytes.count ? alphabet[Int((b1 & 0x0F) << 2 | b2 >> 6)] : UInt8(ascii: "="))
            out.append(i + 2 < bytes.count ? alphabet[Int(b2 & 0x3F)] : UInt8(ascii: "="))
            i += 3
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Strict decoding: the standard alphabet, padded to a multiple of four
    /// characters, no whitespace; nil for anything else.
    public static func decode(_ text: String) -> [UInt8]? {
        let chars = Array(text.utf8)
        guard chars.count % 4 == 0 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(chars.count / 4 * 3)
        var i = 0
        while i < chars.count {
            var values = [UInt8](repeating: 0, count: 4)
            var padding = 0
            for j in 0..<4 {
                let c = chars[i + j]
                if c == UInt8(ascii: "=") {
                    // Padding only at the very end, at most two.
                    guard i + 4 == chars.count, j >= 2 else { return nil }
                    padding += 1
                    continue
                }
                guard padding == 0, let v = value(c) else { return nil }
                values[j] = v
            }
            out.append(values[0] << 2 | values[1] >> 4)
            if padding < 2 { out.append(values[1] << 4 | values[2] >> 2) }
            if padding < 1 { out.append(values[2] << 6 | values[3]) }
            i += 4
        }
        return out
    }

    private static func value(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"): c - UInt8(ascii: "A")
        case UInt8(ascii: "a")...UInt8(ascii: "z"): c - UInt8(ascii: "a") + 26
        case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0") + 52
        case UInt8(ascii: "+"): 62
        case UInt8(ascii: "/"): 63
        default: nil
        }
    }
}

public enum Hex {
    /// Inlinable, so that it is specialized for the caller's sequence (a
    /// digest's bytes) instead of walking it through protocol witnesses.
    @inlinable
    public static func encode<S: Sequence>(_ bytes: S) -> String where S.Element == UInt8 {
        let count = bytes.underestimatedCount
        guard count > 0 else {
            var out: [UInt8] = []
            for b in bytes {
                out.append(digit(b >> 4))
                out.append(digit(b & 0x0F))
            }
            return String(decoding: out, as: UTF8.self)
        }
        // Written straight into the string's storage: no array, no UTF-8 check.
        var iterator = bytes.makeIterator()
        var written = 0
        let head = String(unsafeUninitializedCapacity: count * 2) { buffer in
            while written < count, let b = iterator.next() {
                buffer[written * 2] = digit(b >> 4)
                buffer[written * 2 + 1] = digit(b & 0x0F)
                written += 1
            }
            return written * 2
        }
        // A sequence longer than it estimated: the rest the slow way.
        var tail: [UInt8] = []
        while let b = iterator.next() {
            tail.append(digit(b >> 4))
            tail.append(digit(b & 0x0F))
        }
        return tail.isEmpty ? head : head + String(decoding: tail, as: UTF8.self)
    }

    @inlinable
    static func digit(_ n: UInt8) -> UInt8 { n < 10 ? 48 + n : 87 + n }
}

/// UTC timestamps as RFC 3339 text (`2026-11-18T09:00:00Z`), computed
/// without Foundation.
public enum Timestamp {
    /// A time to the second, as `rfc3339(epochSeconds:)` writes it.
    public static func rfc3339(_ date: Date) -> String {
        rfc3339(epochSeconds: Int64(date.timeIntervalSince1970))
    }

    public static func rfc3339(epochSeconds: Int64) -> String {
        let days = epochSeconds >= 0 ? epochSeconds / 86_400 : (epochSeconds - 86_399) / 86_400
        let secs = Int(epochSeconds - days * 86_400)
        // Howard Hinnant's civil_from_days.
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yoe + era * 400 + (month <= 2 ? 1 : 0)
        func two(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
        let y = String(year)
        return "\(String(repeating: "0", count: max(0, 4 - y.count)))\(y)-\(two(Int(month)))-\(two(Int(day)))T\(two(secs / 3600)):\(two(secs % 3600 / 60)):\(two(secs % 60))Z"
    }
}
