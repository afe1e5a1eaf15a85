import AccordCore

/// The state of decoding one document: where fields were written and what
/// was wrong with them. Every helper reports its own problem at the node that
/// causes it and returns `nil`, so decoding goes on and all problems surface.
struct Decoding {
    let file: String
    private(set) var diagnostics: [Diagnostic] = []
    /// Room for a worker's dozen fields; a larger document grows it.
    private(set) var positions = FieldPositions(reservingCapacity: 16)

    init(file: String) { self.file = file }

    func position(_ node: YAMLNode) -> SourcePosition {
        SourcePosition(file: file, line: node.line, column: node.column)
    }

    mutating func error(_ node: YAMLNode, _ path: String, _ message: String) {
        diagnostics.append(Diagnostic(position(node), path.isEmpty ? message : "\(path): \(message)"))
    }

    mutating func record(_ path: String, _ node: YAMLNode) {
        positions.record(path, line: node.line, column: node.column)
    }

    /// The position of field `key` of the mapping at `path`.
    mutating func record(_ path: String, key: String, _ node: YAMLNode) {
        record(path, key: key, line: node.line, column: node.column)
    }

    mutating func record(_ path: String, key: String, line: Int, column: Int) {
        positions.record(path, key: key, line: line, column: column)
    }

    /// `a == b`, deciding by length first: keys of a mapping mostly
    /// differ in length, and then no characters are compared.
    @inline(__always)
    static func same(_ a: String, _ b: String) -> Bool {
        a.utf8.count == b.utf8.count && a == b
    }

    static func join(_ path: String, _ key: String) -> String {
        path.isEmpty ? key : "\(path).\(key)"
    }

    // MARK: Collections

    /// The fields of a mapping. Reports a node that is not a mapping, keys
    /// that are not strings, duplicate keys, unknown fields and missing
    /// required fields.
    mutating func fields(
        _ node: YAMLNode, _ path: String, allowed: [String], required: [String] = [], owner: String
    ) -> Fields? {
        guard let pairs = mappingPairs(node, path) else { return nil }
        var result = Fields()
        result.entries.reserveCapacity(pairs.count)
        // Keys seen so far, for duplicates: a list for the usual small
        // mapping, a dictionary for a large one (a hostile file's).
        var seen = KeyNodes(count: pairs.count)
        for pair in pairs {
            guard let key = mappingKey(pair.key, path) else { continue }
            if let first = seen[key] {
                error(pair.key, Self.join(path, key), "duplicate key; first written at line \(first.line), column \(first.column)")
                continue
            }
            seen.insert(key, at: pair.key)
            guard allowed.contains(where: { Self.same($0, key) }) else {
                if key == "<<" {
                    error(pair.key, Self.join(path, key), "merge keys (<<) are not part of YAML 1.2 and are not supported; write the fields out")
                    continue
                }
                error(pair.key, Self.join(path, Self.show(key, limit: 40).dropQuotesIfPlain()),
                      "unknown field; \(owner) has \(Text.list(allowed.map { "\"\($0)\"" }, conjunction: "and"))")
                continue
            }
            result.entries.append((key, pair.value))
            record(path, key: key, pair.value)
        }
        for key in required where seen[key] == nil {
            error(node, path, "missing required field \"\(key)\"")
        }
        return result
    }

    /// A mapping's allowed fields, by key: a handful at most, so a list.
    struct Fields {
        fileprivate(set) var entries: [(key: String, node: YAMLNode)] = []

        subscript(key: String) -> YAMLNode? {
            for e in entries where Decoding.same(e.key, key) { return e.node }
            return nil
        }

        var count: Int { entries.count }
        var first: (key: String, node: YAMLNode)? { entries.first }
    }

    /// Where each key of a mapping was first written.
    private struct KeyNodes {
        struct Place { let line: Int, column: Int }
        var list: [(key: String, place: Place)] = []
        var dictionary: [String: Place]?

        /// For the keys of a mapping of `count` pairs.
        init(count: Int) {
            if count > 16 { dictionary = Dictionary(minimumCapacity: count) } else { list.reserveCapacity(count) }
        }

        subscript(key: String) -> Place? {
            if let dictionary { return dictionary[key] }
            for e in list where Decoding.same(e.key, key) { return e.place }
            return nil
        }

        mutating func insert(_ key: String, at node: YAMLNode) {
            let place = Place(line: node.line, column: node.column)
            if dictionary != nil { dictionary![key] = place } else { list.append((key, place)) }
        }
    }

    mutating func mappingPairs(_ node: YAMLNode, _ path: String) -> [YAMLNode.Pair]? {
        guard case .mapping(let pairs) = node.content else {
            error(node, path, "must be a mapping; got \(describe(node))")
            return nil
        }
        return pairs
    }

    mutating func mappingKey(_ node: YAMLNode, _ path: String) -> String? {
        guard case .string(let key)? = node.scalar else {
            error(node, path, "keys must be strings; got \(describe(node))")
            return nil
        }
        return key
    }

    /// A mapping of string keys to values, with duplicate keys reported.
    mutating func stringKeyed(_ node: YAMLNode, _ path: String) -> [(key: String, keyNode: YAMLNode, value: YAMLNode)]? {
        guard let pairs = mappingPairs(node, path) else { return nil }
        var seen: [String: YAMLNode] = [:]
        var out: [(key: String, keyNode: YAMLNode, value: YAMLNode)] = []
        for pair in pairs {
            guard let key = mappingKey(pair.key, path) else { continue }
            if let first = seen[key] {
                error(pair.key, Self.join(path, key), "duplicate key; first written at line \(first.line), column \(first.column)")
                continue
            }
            seen[key] = pair.key
            record(path, key: key, pair.value)
            out.append((key, pair.key, pair.value))
        }
        return out
    }

    mutating func list(_ node: YAMLNode, _ path: String, nonEmpty: Bool = false) -> [YAMLNode]? {
        guard case .sequence(let items) = node.content else {
            error(node, path, "must be a list; got \(describe(node))")
            return nil
        }
        if nonEmpty && items.isEmpty {
            error(node, path, "must not be empty")
            return nil
        }
        for (i, item) in items.enumerated() { positions.record(path, index: i, line: item.line, column: item.column) }
        return items
    }

    // MARK: Scalars

    mutating func string(_ node: YAMLNode, _ path: String, nonEmpty: Bool = true) -> String? {
        switch node.scalar {
        case .string(let s)?:
            if nonEmpty && s.isBlank {
                error(node, path, "must not be empty")
                return nil
            }
            return s
        case .integer?, .number?:
            let text = node.scalarText ?? ""
            error(node, path, "must be a string; got \(describe(node)) (quote it: \"\(text)\")")
            return nil
        default:
            error(node, path, "must be a string; got \(describe(node))")
            return nil
        }
    }

    /// A string that must match `check`; `rule` says what was expected.
    mutating func string(_ node: YAMLNode, _ path: String, matching check: (String) -> Bool, rule: String) -> String? {
        guard let s = string(node, path) else { return nil }
        guard check(s) else {
            error(node, path, "\(Self.show(s)) is not \(rule)")
            return nil
        }
        return s
    }

    mutating func bool(_ node: YAMLNode, _ path: String) -> Bool? {
        guard case .bool(let b)? = node.scalar else {
            error(node, path, "must be true or false; got \(describe(node))")
            return nil
        }
        return b
    }

    mutating func integer(_ node: YAMLNode, _ path: String, in range: ClosedRange<Int>) -> Int? {
        guard case .integer(let i)? = node.scalar else {
            error(node, path, "must be an integer; got \(describe(node))")
            return nil
        }
        guard range.contains(i) else {
            error(node, path, "must be between \(range.lowerBound) and \(range.upperBound); got \(i)")
            return nil
        }
        return i
    }

    mutating func number(_ node: YAMLNode, _ path: String, in range: ClosedRange<Double>? = nil) -> Double? {
        guard let value = node.scalar?.numericValue, value.isFinite else {
            error(node, path, "must be a number; got \(describe(node))")
            return nil
        }
        if let range, !range.contains(value) {
            error(node, path, "must be between \(Self.format(range.lowerBound)) and \(Self.format(range.upperBound)); got \(Self.format(value))")
            return nil
        }
        return value
    }

    mutating func oneOf<E: RawRepresentable & CaseIterable>(_ node: YAMLNode, _ path: String, _: E.Type) -> E? where E.RawValue == String {
        guard let s = string(node, path) else { return nil }
        guard let value = E(rawValue: s) else {
            error(node, path, "must be one of \(Text.list(E.allCases.map(\.rawValue))); got \(Self.show(s))")
            return nil
        }
        return value
    }

    mutating func duration(_ node: YAMLNode, _ path: String) -> DurationValue? {
        guard let s = string(node, path) else { return nil }
        guard let seconds = Patterns.durationSeconds(s) else {
            error(node, path, "\(Decoding.show(s)) is not a duration (like 30m, 4h, 2d or 1d12h; units s, m, h, d)")
            return nil
        }
        return DurationValue(seconds: seconds, text: s)
    }

    /// A list of distinct lowercase tokens (`capabilities`, `consent`).
    mutating func tokenList(_ node: YAMLNode, _ path: String) -> [String]? {
        guard let items = list(node, path) else { return nil }
        var out: [String] = []
        var ok = true
        for (i, item) in items.enumerated() {
            // The usual item, accepted without making its path (only a message needs it).
            if case .string(let s)? = item.scalar, Patterns.isToken(s), !out.contains(s) {
                out.append(s)
                continue
            }
            let itemPath = "\(path)[\(i)]"
            guard let s = string(item, itemPath, matching: Patterns.isToken,
                                 rule: "a lowercase token (letters, digits and '-')") else { ok = false; continue }
            if out.contains(s) {
                error(item, itemPath, "\(Decoding.show(s)) is listed twice")
                ok = false
                continue
            }
            out.append(s)
        }
        return ok ? out : nil
    }

    func describe(_ node: YAMLNode) -> String {
        switch node.scalar {
        case .string(let s)?: "string \(Self.show(s, limit: 40))"
        case .integer(let i)?: "integer \(i)"
        case .number(let d)?: "number \(Self.format(d))"
        case .bool(let b)?: "boolean \(b)"
        case .null?: "null"
        case nil:
            if case .scalar(let text, _, let tag) = node.content {
                if let tag, tag.hasPrefix(Self.coreTagPrefix), ["str", "int", "float", "bool", "null"].contains(tag.dropFirst(Self.coreTagPrefix.count)) {
                    "\(Decoding.show(text, limit: 40)) tagged !!\(tag.dropFirst(Self.coreTagPrefix.count)), which it is not"
                } else {
                    "a value with unsupported tag \(Decoding.show(tag ?? "", limit: 40))"
                }
            } else { node.typeName }
        }
    }

    static let coreTagPrefix = "tag:yaml.org,2002:"

    /// A value from a manifest as a message shows it: quoted and escaped,
    /// or withheld when it looks like an e-mail address (personal data is
    /// never echoed into terminals, logs or pull-request comments).
    static func show(_ value: String, limit: Int = 80) -> String {
        Patterns.containsEmailAddress(value) ? "<a value that looks like an e-mail address>" : Text.quoted(value, limit: limit)
    }

    static func format(_ d: Double) -> String { JSONValue.describe(d) }
}

extension String {
    /// Nothing but Unicode whitespace, or nothing at all. ASCII is
    /// decided without the Unicode property tables (the usual case).
    var isBlank: Bool {
        for scalar in unicodeScalars {
            let blank = scalar.isASCII ? scalar == " " || (0x09...0x0D).contains(scalar.value) : scalar.properties.isWhitespace
            if !blank { return false }
        }
        return true
    }

    /// `"name"` → `name` when the quoted form adds nothing but the quotes.
    func dropQuotesIfPlain() -> String {
        let inner = dropFirst().dropLast()
        return inner.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" }) && !inner.isEmpty ? String(inner) : self
    }
}
