import Foundation

/// One failed assertion: where in the instance (a JSON Pointer, "" for the
/// document itself) and what is wrong.
struct SchemaError: Sendable, Equatable, CustomStringConvertible {
    let path: String
    let message: String

    var description: String { "\(path.isEmpty ? "/" : path): \(message)" }
}

/// A validator for the subset of JSON Schema draft 2020-12 that Accord's
/// schemas use: boolean schemas, `$ref` to a JSON Pointer in the same
/// document (`#/$defs/...`), `type`, `enum`, `const`, `minLength`,
/// `maxLength`, `pattern`, `minimum`, `maximum`, `exclusiveMinimum`,
/// `exclusiveMaximum`, `properties`, `required`, `additionalProperties`,
/// `propertyNames`, `minProperties`, `maxProperties`, `items`, `minItems`,
/// `maxItems`, `uniqueItems`, `allOf`, `anyOf`, `oneOf`, `not` and
/// `if`/`then`/`else`. Annotations (`description`, `default`, `format`, ...)
/// are ignored; any other keyword is reported as unsupported rather than
/// silently skipped.
final class JSONSchemaValidator {
    static let supportedKeywords: Set<String> = [
        "$ref", "type", "enum", "const", "minLength", "maxLength", "pattern",
        "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum",
        "properties", "required", "additionalProperties", "propertyNames",
        "minProperties", "maxProperties", "items", "minItems", "maxItems", "uniqueItems",
        "allOf", "anyOf", "oneOf", "not", "if", "then", "else",
    ]
    static let annotationKeywords: Set<String> = [
        "$schema", "$id", "$defs", "$comment", "title", "description", "default",
        "examples", "format", "deprecated", "readOnly", "writeOnly",
    ]

    let root: JSONValue
    private var regexCache: [String: NSRegularExpression] = [:]

    init(schema: JSONValue) {
        root = schema
    }

    /// Every error of `instance`, sorted by path; empty when it is valid.
    func validate(_ instance: JSONValue) -> [SchemaError] {
        check(instance, root, at: "").sorted { ($0.path, $0.message) < ($1.path, $1.message) }
    }

    func isValid(_ instance: JSONValue, _ schema: JSONValue) -> Bool {
        check(instance, schema, at: "").isEmpty
    }

    // MARK: - Keywords

    private func check(_ value: JSONValue, _ schema: JSONValue, at path: String) -> [SchemaError] {
        if case .bool(let allowed) = schema {
            return allowed ? [] : [SchemaError(path: path, message: "is not allowed here")]
        }
        guard let s = schema.object else {
            return [SchemaError(path: path, message: "schema is neither an object nor a boolean")]
        }
        var errors: [SchemaError] = []
        func fail(_ message: String) { errors.append(SchemaError(path: path, message: message)) }

        for keyword in s.keys where !Self.supportedKeywords.contains(keyword)
            && !Self.annotationKeywords.contains(keyword) {
            fail("schema keyword \(keyword) is not supported by this validator")
        }
        if let ref = s["$ref"] {
            if let target = ref.string.flatMap(resolve) {
                errors += check(value, target, at: path)
            } else {
                fail("cannot resolve $ref \(ref)")
            }
        }
        if let type = s["type"] {
            let names = type.array?.compactMap(\.string) ?? type.string.map { [$0] } ?? []
            if !names.contains(where: { Self.has(value, type: $0) }) {
                fail("must be \(names.joined(separator: " or ")); got \(Self.typeName(of: value)) \(value)")
            }
        }
        if let options = s["enum"]?.array, !options.contains(value) {
            fail("must be one of \(options.map(\.description).joined(separator: ", ")); got \(value)")
        }
        if let constant = s["const"], constant != value {
            fail("must be \(constant); got \(value)")
        }
        let more: [SchemaError]
        switch value {
        case .string(let text): more = checkString(text, s, at: path)
        case .int, .double: more = checkNumber(value, s, at: path)
        case .object(let members): more = checkObject(members, s, at: path)
        case .array(let items): more = checkArray(items, s, at: path)
        case .null, .bool: more = []
        }
        return errors + more + checkCombinators(value, s, at: path)
    }

    private func checkString(_ text: String, _ s: [String: JSONValue], at path: String) -> [SchemaError] {
        var errors: [SchemaError] = []
        func fail(_ message: String) { errors.append(SchemaError(path: path, message: message)) }
        let length = text.unicodeScalars.count
        if let min = s["minLength"]?.number, Double(length) < min {
            fail("must be at least \(Int(min)) characters long")
        }
        if let max = s["maxLength"]?.number, Double(length) > max {
            fail("must be at most \(Int(max)) characters long; got \(length)")
        }
        if let pattern = s["pattern"]?.string {
            if let regex = regex(pattern) {
                let range = NSRange(text.startIndex..., in: text)
                if regex.firstMatch(in: text, range: range) == nil {
                    fail("must match \(pattern); got \"\(text)\"")
                }
            } else {
                fail("pattern \(pattern) does not compile")
            }
        }
        return errors
    }

    private func checkNumber(_ value: JSONValue, _ s: [String: JSONValue], at path: String) -> [SchemaError] {
        guard let n = value.number else { return [] }
        let bounds: [(String, String, (Double, Double) -> Bool)] = [
            ("minimum", "≥", (>=)), ("maximum", "≤", (<=)), ("exclusiveMinimum", ">", (>)), ("exclusiveMaximum", "<", (<)),
        ]
        return bounds.compactMap { keyword, symbol, holds in
            guard let bound = s[keyword], let limit = bound.number, !holds(n, limit) else { return nil }
            return SchemaError(path: path, message: "must be \(symbol) \(bound); got \(value)")
        }
    }

    private func checkObject(_ members: [String: JSONValue], _ s: [String: JSONValue], at path: String) -> [SchemaError] {
        var errors: [SchemaError] = []
        func fail(_ message: String) { errors.append(SchemaError(path: path, message: message)) }
        for case .string(let name) in s["required"]?.array ?? [] where members[name] == nil {
            fail("missing required property \"\(name)\"")
        }
        if let min = s["minProperties"]?.number, Double(members.count) < min {
            fail("must have at least \(Int(min)) properties; got \(members.count)")
        }
        if let max = s["maxProperties"]?.number, Double(members.count) > max {
            fail("must have at most \(Int(max)) properties; got \(members.count): \(members.keys.sorted())")
        }
        let properties = s["properties"]?.object ?? [:]
        for (name, member) in members {
            let memberPath = path + "/" + Self.escape(name)
            if let propertyNames = s["propertyNames"] {
                for e in check(.string(name), propertyNames, at: memberPath) {
                    errors.append(SchemaError(path: e.path, message: "key \(e.message)"))
                }
            }
            if let sub = properties[name] {
                errors += check(member, sub, at: memberPath)
            } else if s["additionalProperties"] == .bool(false) {
                let known = properties.keys.sorted().joined(separator: ", ")
                errors.append(SchemaError(path: memberPath, message: "unknown property (allowed: \(known))"))
            } else if let additional = s["additionalProperties"] {
                errors += check(member, additional, at: memberPath)
            }
        }
        return errors
    }

    private func checkArray(_ items: [JSONValue], _ s: [String: JSONValue], at path: String) -> [SchemaError] {
        var errors: [SchemaError] = []
        func fail(_ message: String) { errors.append(SchemaError(path: path, message: message)) }
        if let min = s["minItems"]?.number, Double(items.count) < min {
            fail("must have at least \(Int(min)) items; got \(items.count)")
        }
        if let max = s["maxItems"]?.number, Double(items.count) > max {
            fail("must have at most \(Int(max)) items; got \(items.count)")
        }
        if s["uniqueItems"] == .bool(true) {
            for (i, item) in items.enumerated() where items[..<i].contains(item) {
                fail("item \(i) (\(item)) is a duplicate")
            }
        }
        for (index, item) in items.enumerated() {
            if let itemSchema = s["items"] { errors += check(item, itemSchema, at: "\(path)/\(index)") }
        }
        return errors
    }

    private func checkCombinators(_ value: JSONValue, _ s: [String: JSONValue], at path: String) -> [SchemaError] {
        var errors: [SchemaError] = []
        func fail(_ message: String) { errors.append(SchemaError(path: path, message: message)) }
        for sub in s["allOf"]?.array ?? [] {
            errors += check(value, sub, at: path)
        }
        if let options = s["anyOf"]?.array {
            let results = options.map { check(value, $0, at: path) }
            if !results.contains(where: \.isEmpty) {
                fail("must match at least one of \(options.count) alternatives")
                errors += results.flatMap { $0 }
            }
        }
        if let options = s["oneOf"]?.array {
            let matching = options.filter { isValid(value, $0) }.count
            if matching != 1 { fail("must match exactly one of \(options.count) alternatives; matches \(matching)") }
        }
        if let forbidden = s["not"], isValid(value, forbidden) {
            fail("must not match \(forbidden)")
        }
        if let condition = s["if"] {
            let branch = isValid(value, condition) ? s["then"] : s["else"]
            if let branch { errors += check(value, branch, at: path) }
        }
        return errors
    }

    // MARK: - Helpers

    /// Resolves `#` or `#/a/b` against the root schema.
    private func resolve(_ ref: String) -> JSONValue? {
        guard ref.hasPrefix("#") else { return nil }
        var node = root
        for token in ref.dropFirst().split(separator: "/", omittingEmptySubsequences: true) {
            let key = token.replacingOccurrences(of: "~1", with: "/").replacingOccurrences(of: "~0", with: "~")
            if let next = node[key] {
                node = next
            } else if let index = Int(key), let array = node.array, array.indices.contains(index) {
                node = array[index]
            } else {
                return nil
            }
        }
        return node
    }

    /// Compiles an ECMA-262 pattern with ICU. The one difference that matters
    /// here: ICU's `$` also matches before a final newline, ECMA's does not,
    /// so an unescaped `$` outside a character class becomes `\z`.
    private func regex(_ pattern: String) -> NSRegularExpression? {
        if let cached = regexCache[pattern] { return cached }
        var icu = "", escaped = false, inClass = false
        for c in pattern {
            if escaped { escaped = false; icu.append(c); continue }
            switch c {
            case "\\": escaped = true; icu.append(c)
            case "[": inClass = true; icu.append(c)
            case "]": inClass = false; icu.append(c)
            case "$" where !inClass: icu += "\\z"
            default: icu.append(c)
            }
        }
        let compiled = try? NSRegularExpression(pattern: icu)
        regexCache[pattern] = compiled
        return compiled
    }

    static func has(_ value: JSONValue, type: String) -> Bool {
        switch (type, value) {
        case ("null", .null), ("boolean", .bool), ("string", .string),
             ("array", .array), ("object", .object), ("number", .int), ("number", .double),
             ("integer", .int):
            true
        case ("integer", .double(let d)):
            d.isFinite && d.rounded() == d
        default:
            false
        }
    }

    static func typeName(of value: JSONValue) -> String {
        switch value {
        case .null: "null"
        case .bool: "boolean"
        case .int: "integer"
        case .double: "number"
        case .string: "string"
        case .array: "array"
        case .object: "object"
        }
    }

    /// RFC 6901 escaping of one reference token.
    static func escape(_ key: String) -> String {
        key.replacingOccurrences(of: "~", with: "~0").replacingOccurrences(of: "/", with: "~1")
    }
}
