/// The Redis serialization protocol (RESP2), as much of it as Accord
/// speaks: commands out as arrays of bulk strings, replies in as simple
/// strings, errors, integers, bulk strings and arrays.
public enum RESP {
    public indirect enum Value: Sendable, Equatable {
        case simple(String)
        case error(String)
        case integer(Int)
        case bulk([UInt8]?)
        case array([Value]?)

        public var text: String? {
            switch self {
            case .simple(let s): s
            case .bulk(let b?): String(decoding: b, as: UTF8.self)
            default: nil
            }
        }
    }

    /// A command: `*N`, then each argument as a bulk string.
    public static func command(_ arguments: [String]) -> [UInt8] {
        var out = Array("*\(arguments.count)\r\n".utf8)
        for a in arguments {
            let bytes = Array(a.utf8)
            out += Array("$\(bytes.count)\r\n".utf8)
            out += bytes
            out += [13, 10]
        }
        return out
    }

    public struct Malformed: Error, CustomStringConvertible, Sendable {
        public let description: String
    }

    /// Limits on what a reply may declare, so a hostile server cannot make
    /// Accord allocate without bound.
    static let maxBulk = 512 * 1024 * 1024
    static let maxArray = 1_000_000

    /// The value at `start`, and where the next begins; nil while the
    /// bytes do not hold a whole value yet.
    public static func parse(_ bytes: [UInt8], from start: Int = 0) throws -> (Value, Int)? {
        guard start < bytes.count else { return nil }
        guard let (line, next) = line(bytes, from: start + 1) else { return nil }
        switch bytes[start] {
        case UInt8(ascii: "+"): return (.simple(line), next)
        case UInt8(ascii: "-"): return (.error(line), next)
        case UInt8(ascii: ":"):
            guard let n = Int(line) else { throw Malformed(description: "not an integer reply: \(line.prefix(40))") }
            return (.integer(n), next)
        case UInt8(ascii: "$"):
            guard let n = Int(line), n >= -1, n <= maxBulk else { throw Malformed(description: "bad bulk length \(line.prefix(40))") }
            if n == -1 { return (.bulk(nil), next) }
            guard next + n + 2 <= bytes.count else { return nil }
            guard bytes[next + n] == 13, bytes[next + n + 1] == 10 else { throw Malformed(description: "a bulk string not ended by CRLF") }
            return (.bulk(Array(bytes[next..<(next + n)])), next + n + 2)
        case UInt8(ascii: "*"):
            guard let n = Int(line), n >= -1, n <= maxArray else { throw Malformed(description: "bad array length \(line.prefix(40))") }
            if n == -1 { return (.array(nil), next) }
            var items: [Value] = []
            items.reserveCapacity(n)
            var at = next
            for _ in 0..<n {
                guard let (item, after) = try parse(bytes, from: at) else { return nil }
                items.append(item)
                at = after
            }
            return (.array(items), at)
        default:
            throw Malformed(description: "unknown reply type \(bytes[start])")
        }
    }

    /// The text up to CRLF, and the index after it.
    static func line(_ bytes: [UInt8], from start: Int) -> (String, Int)? {
        var i = start
        while i + 1 < bytes.count {
            if bytes[i] == 13, bytes[i + 1] == 10 { return (String(decoding: bytes[start..<i], as: UTF8.self), i + 2) }
            i += 1
        }
        return nil
    }

    /// A glob (`SCAN MATCH`) that matches `value` literally.
    public static func globEscaped(_ value: String) -> String {
        var out = ""
        for c in value {
            if "*?[]\\^-".contains(c) { out.append("\\") }
            out.append(c)
        }
        return out
    }
}
