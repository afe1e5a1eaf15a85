import AccordCore
import AccordManifests
import Testing

/// A generated hostile input: bytes too large, too binary or too repetitive
/// to commit, and the errors it must give. `expected` holds
/// `LINE:COL: message` prefixes, one per diagnostic, in order; an empty list
/// means the input is legal and must be read.
struct HostileInput: Sendable, CustomTestStringConvertible {
    let name: String
    let expected: [String]
    let make: @Sendable () -> [UInt8]

    init(_ name: String, _ expected: [String], _ make: @escaping @Sendable () -> [UInt8]) {
        self.name = name
        self.expected = expected
        self.make = make
    }

    init(_ name: String, _ expected: [String], text: @escaping @Sendable () -> String) {
        self.init(name, expected) { Array(text().utf8) }
    }

    var testDescription: String { name }

    static let file = "hostile.yaml"

    /// A Tenant whose lines 1–5 are fixed; `spec` and extra metadata lines vary.
    static func tenant(name: String = "acme", metadata: String = "", spec: String = "{displayName: Acme, plan: pro, region: eu}") -> String {
        "apiVersion: accord.dev/v1\nkind: Tenant\nmetadata:\n  name: \(name)\n\(metadata)spec: \(spec)\n"
    }

    /// The billion laughs: `depth` anchors, each a list of `width` aliases of the one before.
    static func laughs(width: Int, depth: Int) -> String {
        var text = "l0: &l0 [" + Array(repeating: "lol", count: width).joined(separator: ", ") + "]\n"
        for level in 1...depth {
            text += "l\(level): &l\(level) [" + Array(repeating: "*l\(level - 1)", count: width).joined(separator: ", ") + "]\n"
        }
        return text
    }
}
