import AccordCore

/// A YAML node with the place it was written. Aliases are already expanded
/// (sharing storage), within the limits of `ManifestLimits`.
public struct YAMLNode: Sendable {
    public struct Pair: Sendable {
        public let key: YAMLNode
        public let value: YAMLNode
    }

    public enum Content: Sendable {
        case scalar(String, quoted: Bool, tag: String?)
        case sequence([YAMLNode])
        case mapping([Pair])
    }

    public let content: Content
    /// 1-based line and column (Unicode scalars).
    public let line: Int
    public let column: Int
    /// Nodes this one stands for once aliases are expanded, itself included.
    let weight: Int
    /// Collection levels below and including this node (0 for a scalar).
    let height: Int
    /// Bytes of scalar text this node stands for once aliases are expanded.
    let textBytes: Int

    init(_ content: Content, line: Int, column: Int, weight: Int, height: Int, textBytes: Int = 0) {
        self.content = content
        self.line = line
        self.column = column
        self.weight = weight
        self.height = height
        self.textBytes = textBytes
    }

    /// Human name of the node's type, for error messages.
    public var typeName: String {
        switch content {
        case .sequence: "a list"
        case .mapping: "a mapping"
        case .scalar:
            switch scalar {
            case .string: "a string"
            case .integer: "an integer"
            case .number: "a number"
            case .bool: "a boolean"
            case .null, nil: "null"
            }
        }
    }

    /// The scalar under YAML 1.2 core typing; `nil` for collections and
    /// for tags Accord does not support.
    public var scalar: Scalar? {
        guard case .scalar(let text, let quoted, let tag) = content else { return nil }
        return ScalarResolver.resolve(text, quoted: quoted, tag: tag)
    }

    /// The text of a scalar of any type, as written.
    public var scalarText: String? {
        guard case .scalar(let text, _, _) = content else { return nil }
        return text
    }

    public var isNull: Bool { scalar == .null }
}

/// YAML 1.2 core schema: `true`/`false`, `null`/`~`/empty, decimal, octal
/// (`0o`) and hex (`0x`) integers, floats with `.inf`/`.nan`; quoted text is
/// always a string.
enum ScalarResolver {
    static func resolve(_ text: String, quoted: Bool, tag: String?) -> Scalar? {
        guard let tag else { return quoted ? .string(text) : plain(text) }
        switch tag {
        case "!", "tag:yaml.org,2002:str":
            return .string(text)
        case "tag:yaml.org,2002:null":
            return plain(text) == .null ? .null : nil
        case "tag:yaml.org,2002:bool":
            if case .bool(let b) = plain(text) { return .bool(b) }
            return nil
        case "tag:yaml.org,2002:int":
            if case .integer(let i) = plain(text) { return .integer(i) }
            return nil
        case "tag:yaml.org,2002:float":
            switch plain(text) {
            case .integer(let i): return .number(Double(i))
            case .number(let d): return .number(d)
            default: return nil
            }
        default:
            return nil
        }
    }

    static func plain(_ text: String) -> Scalar {
        // Every null, boolean and number starts with one of these bytes; any
        // other first byte makes a string (most scalars: names, keys, text).
        guard let first = text.utf8.first else { return .null }
        switch first {
        case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "~"),
             UInt8(ascii: "n"), UInt8(ascii: "N"), UInt8(ascii: "t"), UInt8(ascii: "T"), UInt8(ascii: "f"), UInt8(ascii: "F"):
            break
        default:
            return .string(text)
        }
        if let word = word(text, first: first) { return word }
        // No number starts with a letter or "~" (hex and octal start with
        // "0"): past the words above, such text is a string (`t-00001`).
        if first >= UInt8(ascii: "A") || first == UInt8(ascii: "~") { return .string(text) }
        let utf8 = Array(text.utf8)
        if utf8.count > 2, utf8[0] == UInt8(ascii: "0") {
            let digits = String(decoding: utf8[2...], as: UTF8.self)
            if utf8[1] == UInt8(ascii: "x"), let v = Int(digits, radix: 16) { return .integer(v) }
            if utf8[1] == UInt8(ascii: "o"), let v = Int(digits, radix: 8) { return .integer(v) }
        }
        if isDecimalInteger(utf8) {
            if let v = Int(text) { return .integer(v) }
            if let d = Double(text) { return .number(d) }
        }
        if isFloat(utf8), let d = Double(text) { return .number(d) }
        return .string(text)
    }

    /// The core schema's words: at most five bytes, and only those of the
    /// family the first byte names are compared (a number such as `3` or
    /// `0.8` is compared with none).
    private static func word(_ text: String, first: UInt8) -> Scalar? {
        // Each family's words have one length: text of another is compared with none.
        let count = text.utf8.count
        guard count <= 5 else { return nil }
        switch first {
        case UInt8(ascii: "~"):
            return count == 1 ? .null : nil
        case UInt8(ascii: "n"), UInt8(ascii: "N"):
            guard count == 4 else { return nil }
            switch text { case "null", "Null", "NULL": return .null; default: return nil }
        case UInt8(ascii: "t"), UInt8(ascii: "T"):
            guard count == 4 else { return nil }
            switch text { case "true", "True", "TRUE": return .bool(true); default: return nil }
        case UInt8(ascii: "f"), UInt8(ascii: "F"):
            guard count == 5 else { return nil }
            switch text { case "false", "False", "FALSE": return .bool(false); default: return nil }
        case UInt8(ascii: "."):
            guard count == 4 else { return nil }
            switch text {
            case ".inf", ".Inf", ".INF": return .number(.infinity)
            case ".nan", ".NaN", ".NAN": return .number(.nan)
            default: return nil
            }
        case UInt8(ascii: "+"):
            guard count == 5 else { return nil }
            switch text { case "+.inf", "+.Inf", "+.INF": return .number(.infinity); default: return nil }
        case UInt8(ascii: "-"):
            guard count == 5 else { return nil }
            switch text { case "-.inf", "-.Inf", "-.INF": return .number(-.infinity); default: return nil }
        default:
            return nil
        }
    }

    private static func isDigit(_ c: UInt8) -> Bool { c >= 48 && c <= 57 }

    private static func isDecimalInteger(_ s: [UInt8]) -> Bool {
        var i = 0
        if i < s.count, s[i] == UInt8(ascii: "-") || s[i] == UInt8(ascii: "+") { i += 1 }
        return i < s.count && s[i...].allSatisfy(isDigit)
    }

    /// `[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?`
    private static func isFloat(_ s: [UInt8]) -> Bool {
        var i = 0
        func digits() -> Int {
            let start = i
            while i < s.count, isDigit(s[i]) { i += 1 }
            return i - start
        }
        if i < s.count, s[i] == UInt8(ascii: "-") || s[i] == UInt8(ascii: "+") { i += 1 }
        let whole = digits()
        var fraction = 0
        if i < s.count, s[i] == UInt8(ascii: ".") {
            i += 1
            fraction = digits()
        }
        guard whole > 0 || fraction > 0 else { return false }
        if i < s.count, s[i] == UInt8(ascii: "e") || s[i] == UInt8(ascii: "E") {
            i += 1
            if i < s.count, s[i] == UInt8(ascii: "-") || s[i] == UInt8(ascii: "+") { i += 1 }
            guard digits() > 0 else { return false }
        }
        return i == s.count
    }
}
