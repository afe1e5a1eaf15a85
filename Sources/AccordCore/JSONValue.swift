/// A JSON value, used for the live records Accord compares and for every
/// document it hashes or signs. `canonical` is deterministic: object keys
/// sorted by their UTF-8 bytes, no whitespace, integral numbers without a
/// fraction.
public enum JSONValue: Hashable, Sendable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    public var canonical: String {
        var out: [UInt8] = []
        out.reserveCapacity(256)
        write(to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// Appends the canonical UTF-8 bytes.
    public func write(to out: inout [UInt8]) {
        switch self {
        case .null: out += Self.nullBytes
        case .bool(let b): out += b ? Self.trueBytes : Self.falseBytes
        case .number(let d): out += Self.format(d).utf8
        case .string(let s): Self.writeString(s, to: &out)
        case .array(let items):
            out.append(UInt8(ascii: "["))
            for (i, item) in items.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                item.write(to: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let members):
            out.append(UInt8(ascii: "{"))
            if members.count <= Self.smallObject {
                Self.writeSmall(members, to: &out)
            } else {
                // Members sorted with their values: no second lookup per key.
                for (i, member) in members.sorted(by: { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }).enumerated() {
                    if i > 0 { out.append(UInt8(ascii: ",")) }
                    Self.writeMember(member.key, member.value, to: &out)
                }
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    /// Objects of at most this many members are ordered by insertion into
    /// a buffer on the stack.
    public static let smallObject = 16

    /// A small object's members in key order: their dictionary indices
    /// insertion-sorted on the stack, so that neither the members nor an
    /// array of them is copied (byte-wise through the UTF-8 views: for a
    /// few short keys that measured faster than `utf8Precedes`). 15% less
    /// time than sorting a copy of the members, writing 100,000 objects of
    /// eleven members.
    private static func writeSmall(_ members: [String: JSONValue], to out: inout [UInt8]) {
        let keys = members.keys
        withUnsafeTemporaryAllocation(of: Dictionary<String, JSONValue>.Index.self, capacity: members.count) { order in
            var count = 0
            var index = members.startIndex
            while index != members.endIndex {
                let key = keys[index]
                var slot = count
                while slot > 0, key.utf8.lexicographicallyPrecedes(keys[order[slot - 1]].utf8) {
                    order[slot] = order[slot - 1]
                    slot -= 1
                }
                order[slot] = index
                count += 1
                members.formIndex(after: &index)
            }
            for i in 0..<count {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                let member = members[order[i]]
                writeMember(member.key, member.value, to: &out)
            }
        }
    }

    private static func writeMember(_ key: String, _ value: JSONValue, to out: inout [UInt8]) {
        writeString(key, to: &out)
        out.append(UInt8(ascii: ":"))
        value.write(to: &out)
    }

    static let nullBytes = Array("null".utf8), trueBytes = Array("true".utf8), falseBytes = Array("false".utf8)

    /// Integral values within ±2^53 print as integers; others in Swift's
    /// shortest round-trip form.
    public static func format(_ d: Double) -> String {
        d.isFinite ? describe(d) : "null"
    }

    /// A number as messages show it: by the same rule, and non-finite
    /// values by name (`inf`, `nan`).
    public static func describe(_ d: Double) -> String {
        if d.isFinite, d == d.rounded(), abs(d) < 9_007_199_254_740_992 { return String(Int64(d)) }
        return String(d)
    }

    public static func writeString(_ s: String, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        var s = s
        let plain = s.withUTF8 { buffer in
            guard !buffer.contains(where: { $0 < 0x20 || $0 == 0x22 || $0 == 0x5C }) else { return false }
            out.append(contentsOf: buffer)
            return true
        }
        if plain {
            out.append(UInt8(ascii: "\""))
            return
        }
        for byte in s.utf8 {
            switch byte {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"):
                out.append(UInt8(ascii: "\\"))
                out.append(byte)
            case 0x0A:
                out.append(UInt8(ascii: "\\"))
                out.append(UInt8(ascii: "n"))
            case 0x0D:
                out.append(UInt8(ascii: "\\"))
                out.append(UInt8(ascii: "r"))
            case 0x09:
                out.append(UInt8(ascii: "\\"))
                out.append(UInt8(ascii: "t"))
            case 0..<0x20:
                out.append(UInt8(ascii: "\\"))
                out.append(UInt8(ascii: "u"))
                out.append(UInt8(ascii: "0"))
                out.append(UInt8(ascii: "0"))
                out.append(hexDigits[Int(byte >> 4)])
                out.append(hexDigits[Int(byte & 0x0F)])
            default:
                out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)

    /// A short one-line rendering for plans and status: strings unquoted
    /// when they are plain words, everything else as canonical JSON.
    public var display: String {
        switch self {
        case .string(let s): Text.quoted(s)
        default: canonical
        }
    }

    public subscript(key: String) -> JSONValue? {
        if case .object(let members) = self { return members[key] }
        return nil
    }

    public var stringValue: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    public var numberValue: Double? {
        if case .number(let d) = self { return d }
        return nil
    }

    public var arrayValue: [JSONValue]? {
        if case .array(let items) = self { return items }
        return nil
    }
}

extension JSONValue {
    public init(_ s: String?) { self = s.map { .string($0) } ?? .null }
    public init(_ d: Double?) { self = d.map { .number($0) } ?? .null }
    public init(_ i: Int?) { self = i.map { .number(Double($0)) } ?? .null }
    public init(_ b: Bool) { self = .bool(b) }
    public init(strings: [String]) { self = .array(strings.map { .string($0) }) }

    /// A YAML scalar as JSON.
    public init(_ scalar: Scalar) {
        switch scalar {
        case .string(let s): self = .string(s)
        case .integer(let i): self = .number(Double(i))
        case .number(let d): self = .number(d)
        case .bool(let b): self = .bool(b)
        case .null: self = .null
        }
    }
}

/// Parses JSON text (RFC 8259). Used on `jsonb` values read back from
/// PostgreSQL, so it is strict and small rather than forgiving.
public struct JSONParser {
    public struct Failure: Error, CustomStringConvertible {
        public let offset: Int
        public let reason: String
        public var description: String { "invalid JSON at byte \(offset): \(reason)" }
    }

    private let bytes: [UInt8]
    private var i = 0

    public static func parse(_ text: String) throws -> JSONValue {
        var parser = JSONParser(bytes: Array(text.utf8))
        parser.skipSpace()
        let value = try parser.value(depth: 0)
        parser.skipSpace()
        guard parser.i == parser.bytes.count else { throw parser.fail("trailing characters") }
        return value
    }

    private init(bytes: [UInt8]) { self.bytes = bytes }

    private func fail(_ reason: String) -> Failure { Failure(offset: i, reason: reason) }

    private mutating func skipSpace() {
        while i < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[i]) { i += 1 }
    }

    private mutating func expect(_ literal: String, _ value: JSONValue) throws -> JSONValue {
        let lit = Array(literal.utf8)
        guard i + lit.count <= bytes.count, Array(bytes[i..<i + lit.count]) == lit else { throw fail("expected \(literal)") }
        i += lit.count
        return value
    }

    private mutating func value(depth: Int) throws -> JSONValue {
        guard depth < 256 else { throw fail("nested too deeply") }
        guard i < bytes.count else { throw fail("unexpected end") }
        switch bytes[i] {
        case UInt8(ascii: "n"): return try expect("null", .null)
        case UInt8(ascii: "t"): return try expect("true", .bool(true))
        case UInt8(ascii: "f"): return try expect("false", .bool(false))
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "["):
            i += 1
            var items: [JSONValue] = []
            skipSpace()
            if i < bytes.count, bytes[i] == UInt8(ascii: "]") { i += 1; return .array(items) }
            while true {
                skipSpace()
                items.append(try value(depth: depth + 1))
                skipSpace()
                guard i < bytes.count else { throw fail("unterminated array") }
                if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
                if bytes[i] == UInt8(ascii: "]") { i += 1; return .array(items) }
                throw fail("expected , or ]")
            }
        case UInt8(ascii: "{"):
            i += 1
            var members: [String: JSONValue] = [:]
            skipSpace()
            if i < bytes.count, bytes[i] == UInt8(ascii: "}") { i += 1; return .object(members) }
            while true {
                skipSpace()
                guard i < bytes.count, bytes[i] == UInt8(ascii: "\"") else { throw fail("expected a key") }
                let key = try string()
                skipSpace()
                guard i < bytes.count, bytes[i] == UInt8(ascii: ":") else { throw fail("expected :") }
                i += 1
                skipSpace()
                members[key] = try value(depth: depth + 1)
                skipSpace()
                guard i < bytes.count else { throw fail("unterminated object") }
                if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
                if bytes[i] == UInt8(ascii: "}") { i += 1; return .object(members) }
                throw fail("expected , or }")
            }
        default:
            return .number(try number())
        }
    }

    private mutating func number() throws -> Double {
        let start = i
        while i < bytes.count, "+-0123456789.eE".utf8.contains(bytes[i]) { i += 1 }
        guard let d = Double(String(decoding: bytes[start..<i], as: UTF8.self)) else {
            i = start
            throw fail("invalid value")
        }
        return d
    }

    private mutating func string() throws -> String {
        i += 1
        var out: [UInt8] = []
        while i < bytes.count {
            let b = bytes[i]
            if b == UInt8(ascii: "\"") { i += 1; return String(decoding: out, as: UTF8.self) }
            if b == UInt8(ascii: "\\") {
                i += 1
                guard i < bytes.count else { break }
                let e = bytes[i]
                i += 1
                switch e {
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0C)
                case UInt8(ascii: "u"):
                    var code = try hex4()
                    if (0xD800..<0xDC00).contains(code), i + 1 < bytes.count, bytes[i] == UInt8(ascii: "\\"), bytes[i + 1] == UInt8(ascii: "u") {
                        i += 2
                        let low = try hex4()
                        code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                    }
                    out += Array(String(Unicode.Scalar(code).map(Character.init) ?? "\u{FFFD}").utf8)
                default: out.append(e)
                }
                continue
            }
            out.append(b)
            i += 1
        }
        throw fail("unterminated string")
    }

    private mutating func hex4() throws -> UInt32 {
        guard i + 4 <= bytes.count, let v = UInt32(String(decoding: bytes[i..<i + 4], as: UTF8.self), radix: 16) else {
            throw fail("bad \\u escape")
        }
        i += 4
        return v
    }
}
