import Foundation
import AccordCore

/// Pretty-printed JSON with sorted keys, for `-o json`.
enum JSONOutput {
    static func render(_ value: JSONValue) -> String {
        var out: [UInt8] = []
        write(value, indent: [], to: &out)
        out.append(0x0A)
        return String(decoding: out, as: UTF8.self)
    }

    private static func write(_ value: JSONValue, indent: [UInt8], to out: inout [UInt8]) {
        let inner = indent + Array("  ".utf8)
        switch value {
        case .array(let items) where !items.isEmpty:
            out += Array("[\n".utf8)
            for (i, item) in items.enumerated() {
                out += inner
                write(item, indent: inner, to: &out)
                out += Array((i + 1 < items.count ? ",\n" : "\n").utf8)
            }
            out += indent + Array("]".utf8)
        case .object(let members) where !members.isEmpty:
            out += Array("{\n".utf8)
            let keys = members.keys.sorted()
            for (i, key) in keys.enumerated() {
                out += inner
                JSONValue.writeString(key, to: &out)
                out += Array(": ".utf8)
                write(members[key]!, indent: inner, to: &out)
                out += Array((i + 1 < keys.count ? ",\n" : "\n").utf8)
            }
            out += indent + Array("}".utf8)
        default:
            value.write(to: &out)
        }
    }
}

/// Colour for text output: only on a terminal, never with NO_COLOR set.
struct Palette {
    let enabled: Bool

    static func forStandardOutput() -> Palette {
        let noColor = ProcessEnvironment.value("NO_COLOR").map { !$0.isEmpty } ?? false
        return Palette(enabled: !noColor && isatty(1) == 1)
    }

    func paint(_ text: String, _ action: Action) -> String {
        guard enabled else { return text }
        let code = switch action {
        case .create: "32"
        case .update: "33"
        case .delete, .retain: "31"
        }
        return "\u{1B}[\(code)m\(text)\u{1B}[0m"
    }
}
