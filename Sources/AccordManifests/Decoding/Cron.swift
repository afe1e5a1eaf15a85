import AccordCore

/// Five-field cron expressions (minute hour day-of-month month day-of-week)
/// and the `@hourly`-style shorthands.
enum Cron {
    private struct Field {
        let name: String
        let range: ClosedRange<Int>
        let names: [String]
    }

    private static let fields: [Field] = [
        Field(name: "minute", range: 0...59, names: []),
        Field(name: "hour", range: 0...23, names: []),
        Field(name: "day of month", range: 1...31, names: []),
        Field(name: "month", range: 1...12, names: ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]),
        Field(name: "day of week", range: 0...7, names: ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"]),
    ]

    static let shorthands = ["@hourly", "@daily", "@midnight", "@weekly", "@monthly", "@yearly", "@annually"]

    /// `nil` when valid, else what is wrong.
    static func problem(_ expression: String) -> String? {
        if expression.hasPrefix("@") {
            return shorthands.contains(expression) ? nil : "unknown shorthand (use \(Text.list(shorthands)))"
        }
        let parts = expression.split(separator: " ", omittingEmptySubsequences: true)
        guard parts.count == 5 else {
            return "must have 5 fields (minute hour day-of-month month day-of-week); found \(parts.count)"
        }
        for (part, field) in zip(parts, fields) {
            for item in part.split(separator: ",", omittingEmptySubsequences: false) {
                if let problem = itemProblem(String(item), field) {
                    return "\(field.name) field \(Decoding.show(String(part), limit: 20)): \(problem)"
                }
            }
        }
        return nil
    }

    private static func itemProblem(_ item: String, _ field: Field) -> String? {
        var base = Substring(item)
        if let slash = item.firstIndex(of: "/") {
            base = item[..<slash]
            guard let step = Int(item[item.index(after: slash)...]), step >= 1, step <= field.range.upperBound else {
                return "step after '/' must be a number from 1 to \(field.range.upperBound)"
            }
        }
        if base == "*" { return nil }
        let bounds = base.split(separator: "-", omittingEmptySubsequences: false)
        guard (1...2).contains(bounds.count) else { return "\(Decoding.show(item, limit: 20)) is not a value, range or step" }
        var values: [Int] = []
        for bound in bounds {
            guard let v = value(String(bound), field) else {
                return "\(Decoding.show(String(bound), limit: 20)) is not in \(field.range.lowerBound)-\(field.range.upperBound)"
            }
            values.append(v)
        }
        if values.count == 2, values[0] > values[1] { return "range \(item) runs backwards" }
        return nil
    }

    private static func value(_ text: String, _ field: Field) -> Int? {
        if let i = field.names.firstIndex(of: text.uppercased()) {
            return field.range.lowerBound == 0 ? i : i + 1
        }
        guard !text.isEmpty, text.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }), let v = Int(text), field.range.contains(v) else { return nil }
        return v
    }
}
