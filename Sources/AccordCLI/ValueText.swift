import AccordCore

/// Values as a plan shows them to people: scalars and lists of scalars on
/// one line, objects and lists of objects as indented YAML-like blocks,
/// and long opaque strings (signatures, digests, hashes) shortened with
/// their length. `-o json` keeps every value whole.
enum ValueText {
    /// The value on one line, or nil when it holds an object.
    static func inline(_ value: JSONValue) -> String? {
        switch value {
        case .object: return nil
        case .array(let items):
            var parts: [String] = []
            for item in items {
                guard let part = inline(item), !isContainer(item) || part == "[]" else { return nil }
                parts.append(part)
            }
            return "[" + parts.joined(separator: ", ") + "]"
        case .string(let s): return opaque(s) ?? value.display
        default: return value.display
        }
    }

    static func isContainer(_ value: JSONValue) -> Bool {
        switch value {
        case .object, .array: true
        default: false
        }
    }

    /// A YAML-like block: `key: value` lines (`name`, `version` or `store`
    /// first), `- ` for list items, each level two spaces deeper.
    static func block(_ value: JSONValue, indent: Int) -> [String] {
        let pad = String(repeating: " ", count: indent)
        switch value {
        case .object(let members):
            // An element's identity first (as manifests write it), then the rest sorted.
            let first = ["name", "version", "store"].filter { members[$0] != nil }
            return (first + members.keys.sorted().filter { !first.contains($0) }).flatMap { key -> [String] in
                let member = members[key]!
                if let line = inline(member) { return ["\(pad)\(key): \(line)"] }
                return ["\(pad)\(key):"] + block(member, indent: indent + 2)
            }
        case .array(let items):
            return items.flatMap { item -> [String] in
                if let line = inline(item) { return ["\(pad)- \(line)"] }
                let lines = block(item, indent: indent + 2)
                guard let first = lines.first else { return ["\(pad)- {}"] }
                return ["\(pad)- " + first.dropFirst(indent + 2)] + lines.dropFirst()
            }
        default:
            return [pad + (inline(value) ?? value.canonical)]
        }
    }

    /// `sha256:981dafa78ad8… (71 chars)` for a string of 40 or more
    /// characters from the hex or base64 alphabets (after an optional
    /// `sha256:`-style prefix); nil for anything else (text, URLs).
    static func opaque(_ s: String) -> String? {
        guard s.count >= 40 else { return nil }
        var body = Substring(s)
        var prefix = ""
        if let colon = s.firstIndex(of: ":"), s[..<colon].allSatisfy({ $0.isLetter || $0.isNumber }), s.distance(from: s.startIndex, to: colon) <= 10 {
            prefix = String(s[...colon])
            body = s[s.index(after: colon)...]
        }
        let alphabet = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=_-")
        guard body.count >= 32, body.allSatisfy({ alphabet.contains($0) }) else { return nil }
        return "\(prefix)\(body.prefix(12))… (\(s.count) chars)"
    }
}
