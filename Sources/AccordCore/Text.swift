/// Text helpers for messages: user input is quoted with control characters
/// escaped and long values shortened, so a hostile value cannot garble a
/// terminal or flood a log.
public enum Text {
    public static func quoted(_ value: String, limit: Int = 80) -> String {
        var out = "\""
        var count = 0
        for scalar in value.unicodeScalars {
            if count == limit {
                out += "…"
                break
            }
            count += 1
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case "\r": out += "\\r"
            default:
                if isControl(scalar) || scalar.properties.generalCategory == .format {
                    // Controls, and invisible format characters (zero-width joiners
                    // and spaces, byte order marks) that would hide in a message.
                    out += "\\u{\(String(scalar.value, radix: 16, uppercase: true))}"
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }

    /// The text with control characters written as `\u{…}` escapes; nothing else changes.
    public static func escapingControls(_ value: String) -> String {
        guard containsControl(value) else { return value }
        var out = ""
        for scalar in value.unicodeScalars {
            if isControl(scalar) {
                out += "\\u{\(String(scalar.value, radix: 16, uppercase: true))}"
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    /// C0 and C1 controls, DEL, and the bidirectional overrides that can make
    /// text read differently from what it is.
    public static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x00...0x1F, 0x7F...0x9F, 0x202A...0x202E, 0x2066...0x2069: true
        default: false
        }
    }

    public static func containsControl(_ value: String, allowingWhitespace: Bool = false) -> Bool {
        value.unicodeScalars.contains { scalar in
            if allowingWhitespace, scalar == "\n" || scalar == "\t" || scalar == "\r" { return false }
            return isControl(scalar)
        }
    }

    /// `U+0430 CYRILLIC SMALL LETTER A`: a character named so that a look-alike
    /// or an invisible one can be told apart in a message.
    public static func describe(_ scalar: Unicode.Scalar) -> String {
        let hex = String(scalar.value, radix: 16, uppercase: true)
        let code = "U+" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
        return scalar.properties.name.map { "\(code) \($0)" } ?? code
    }

    /// `a, b, c or d`.
    public static func list(_ items: [String], conjunction: String = "or") -> String {
        switch items.count {
        case 0: return ""
        case 1: return items[0]
        default: return items.dropLast().joined(separator: ", ") + " \(conjunction) " + items.last!
        }
    }
}
