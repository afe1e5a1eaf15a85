import Foundation
import Yams

/// Why a YAML file could not be turned into JSON values.
struct YAMLLoadError: Error, CustomStringConvertible {
    let description: String
}

/// Turns YAML text into JSON values the way Accord (and an editor's YAML
/// language server) reads it: YAML 1.2 core scalars, every quoted scalar a
/// string, timestamps left as strings. Empty documents are dropped.
///
/// Yams' own `load_all` resolves YAML 1.1 types (`yes`, timestamps → Date),
/// so documents are only composed, with a resolver that gives every untagged
/// plain scalar a private tag, and their scalars are typed here. (Documents
/// are read with `Parser.nextRoot()` because the sequence `compose_all`
/// returns ends silently on a syntax error.)
enum YAMLDocuments {
    /// Accord's nesting limit. Beyond it Accord reports an error, so loading fails here too.
    static let maxDepth = 64
    /// A ceiling on nodes produced once aliases are expanded, so that an
    /// alias bomb fails fast instead of exhausting memory. Looser than
    /// Accord's own alias limit, which this does not try to reproduce.
    static let maxNodes = 1_000_000

    private static let plainTag = Tag.Name(rawValue: "tag:accord.dev,2026:plain")
    private static let plainResolver: Resolver = {
        do {
            return try Resolver.basic.appending(plainTag, "^")
        } catch {
            fatalError("invalid resolver pattern: \(error)")
        }
    }()

    static func load(_ text: String) throws -> [JSONValue] {
        var budget = maxNodes
        var documents: [JSONValue] = []
        let parser = try Parser(yaml: text, resolver: plainResolver)
        while let node = try parser.nextRoot() {
            let value = try convert(node, depth: 0, budget: &budget)
            if value != .null { documents.append(value) }
        }
        return documents
    }

    private static func convert(_ node: Node, depth: Int, budget: inout Int) throws -> JSONValue {
        budget -= 1
        guard budget >= 0 else {
            throw YAMLLoadError(description: "more than \(maxNodes) nodes once aliases are expanded")
        }
        switch node {
        case .scalar(let scalar):
            return try typed(scalar)
        case .sequence(let sequence):
            guard depth < maxDepth else { throw tooDeep(node) }
            return .array(try sequence.map { try convert($0, depth: depth + 1, budget: &budget) })
        case .mapping(let mapping):
            guard depth < maxDepth else { throw tooDeep(node) }
            var members: [String: JSONValue] = [:]
            for (key, value) in mapping {
                guard case .scalar(let keyScalar) = key else {
                    throw YAMLLoadError(description: "\(place(key)): a mapping key must be a scalar")
                }
                guard members[keyScalar.string] == nil else {
                    throw YAMLLoadError(description: "\(place(key)): duplicate key \"\(keyScalar.string)\"")
                }
                members[keyScalar.string] = try convert(value, depth: depth + 1, budget: &budget)
            }
            return .object(members)
        case .alias:
            throw YAMLLoadError(description: "\(place(node)): unresolved alias")
        }
    }

    private static func typed(_ scalar: Node.Scalar) throws -> JSONValue {
        let text = scalar.string
        let tag = Tag.Name(rawValue: scalar.tag.description)
        switch tag {
        case .implicit, plainTag:
            return plain(text)
        case .str, .nonSpecific:
            return .string(text)
        case .null, .bool, .int, .float:
            let value = plain(text)
            if value.string == nil { return value }
            throw YAMLLoadError(description: "\(place(.scalar(scalar))): \"\(text)\" is not a valid \(tag.rawValue)")
        default:
            throw YAMLLoadError(description: "\(place(.scalar(scalar))): unsupported tag \(tag.rawValue)")
        }
    }

    /// YAML 1.2 core schema resolution of an untagged plain scalar.
    static func plain(_ text: String) -> JSONValue {
        switch text {
        case "", "~", "null", "Null", "NULL": return .null
        case "true", "True", "TRUE": return .bool(true)
        case "false", "False", "FALSE": return .bool(false)
        case ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF": return .double(.infinity)
        case "-.inf", "-.Inf", "-.INF": return .double(-.infinity)
        case ".nan", ".NaN", ".NAN": return .double(.nan)
        default: break
        }
        let chars = Array(text.utf8)
        let unsigned = chars.first == UInt8(ascii: "-") || chars.first == UInt8(ascii: "+") ? chars.dropFirst() : chars[...]
        if !unsigned.isEmpty, unsigned.allSatisfy(isDigit) {
            if let i = Int(text) { return .int(i) }
            if let d = Double(text) { return .double(d) }
        }
        if chars.count > 2, chars[0] == UInt8(ascii: "0"), chars[2] != UInt8(ascii: "+"), chars[2] != UInt8(ascii: "-") {
            let digits = String(decoding: chars[2...], as: UTF8.self)
            if chars[1] == UInt8(ascii: "x"), let i = Int(digits, radix: 16) { return .int(i) }
            if chars[1] == UInt8(ascii: "o"), let i = Int(digits, radix: 8) { return .int(i) }
        }
        if isFloat(unsigned), let d = Double(text) { return .double(d) }
        return .string(text)
    }

    private static func isDigit(_ c: UInt8) -> Bool { c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9") }

    /// `(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?`
    private static func isFloat(_ s: ArraySlice<UInt8>) -> Bool {
        var rest = s[...]
        func digits() -> Int {
            let n = rest.prefix(while: isDigit).count
            rest = rest.dropFirst(n)
            return n
        }
        let whole = digits()
        var fraction = 0
        if rest.first == UInt8(ascii: ".") {
            rest = rest.dropFirst()
            fraction = digits()
            if whole == 0 && fraction == 0 { return false }
        } else if whole == 0 {
            return false
        }
        if rest.first == UInt8(ascii: "e") || rest.first == UInt8(ascii: "E") {
            rest = rest.dropFirst()
            if rest.first == UInt8(ascii: "-") || rest.first == UInt8(ascii: "+") { rest = rest.dropFirst() }
            if digits() == 0 { return false }
        }
        return rest.isEmpty
    }

    private static func tooDeep(_ node: Node) -> YAMLLoadError {
        YAMLLoadError(description: "\(place(node)): collections nested deeper than \(maxDepth)")
    }

    private static func place(_ node: Node) -> String {
        node.mark.map { "\($0.line):\($0.column)" } ?? "?"
    }
}
