import AccordCore

/// Generated hostile inputs, by family. Each is run by `GeneratedHostileTests`.
extension HostileInput {
    static let aliasBombs: [HostileInput] = [
        HostileInput("laughs 10 wide, 3 deep: 11,110 nodes, under the limit", ["1:1: l0: unknown field"] + Array(repeating: "1:1: missing required field", count: 4) + ["2:1: l1: unknown field", "3:1: l2: unknown field", "4:1: l3: unknown field"]) { Array(laughs(width: 10, depth: 3).utf8) },
        HostileInput("laughs 10 wide, 5 deep: 111,110 nodes", ["5:45: YAML aliases expand to more than 100000 nodes"]) { Array(laughs(width: 10, depth: 5).utf8) },
        HostileInput("laughs 10 wide, 9 deep: a billion nodes", ["5:45: YAML aliases expand to more than 100000 nodes"]) { Array(laughs(width: 10, depth: 9).utf8) },
        HostileInput("laughs 2 wide, 40 deep: 2^40 nodes", ["?:?: YAML aliases expand to more than 100000 nodes"]) { Array(laughs(width: 2, depth: 40).utf8) },
        HostileInput("laughs 1,000 wide, 2 deep", ["2:505: YAML aliases expand to more than 100000 nodes"]) { Array(laughs(width: 1_000, depth: 2).utf8) },
        HostileInput("100,001 aliases of one scalar", ["?:?: YAML aliases expand to more than 100000 nodes"]) {
            Array(("a: &a x\nb: [" + Array(repeating: "*a", count: 100_001).joined(separator: ",") + "]\n").utf8)
        },
        HostileInput("a 1 MiB string aliased five times", ["?:?: YAML aliases expand to more than 4194304 bytes of text"]) {
            Array(("a: &a \"" + String(repeating: "x", count: 1 << 20) + "\"\nb: [*a, *a, *a, *a, *a]\n").utf8)
        },
        HostileInput("a 64 KiB annotation aliased into 100 annotations", ["?:?: YAML aliases expand to more than 4194304 bytes of text"]) {
            let value = String(repeating: "v", count: 65_536)
            let annotations = (1...100).map { "    k\($0): *v\n" }.joined()
            return Array(tenant(metadata: "  annotations:\n    k0: &v \(value)\n" + annotations).utf8)
        },
        HostileInput("a 4 KiB annotation aliased into 100 annotations: 400 KiB, legal", []) {
            let value = String(repeating: "v", count: 4_096)
            let annotations = (1...100).map { "    k\($0): *v\n" }.joined()
            return Array(tenant(metadata: "  annotations:\n    k0: &v \(value)\n" + annotations).utf8)
        },
        HostileInput("a workflow whose rule values alias a 1 MiB string 3,000 times", ["?:?: YAML aliases expand to more than 4194304 bytes of text"]) {
            let rules = Array(repeating: "{field: context.a, operator: eq, value: *big}", count: 3_000).joined(separator: ", ")
            return Array(("apiVersion: accord.dev/v1\nkind: Workflow\nmetadata: {name: wf, tenant: acme}\nspec:\n  trigger: {manual: true}\n  steps:\n"
                + "    - {name: a, worker: w, when: [{field: context.b, operator: eq, value: &big \"\(String(repeating: "x", count: 1 << 20))\"}, \(rules)]}\n").utf8)
        },
    ]

    static let nesting: [HostileInput] = [
        HostileInput("a million nested flow mappings", ["1:?: nesting deeper than 64 levels"]) { Array(String(repeating: "{a: ", count: 1_000_000).utf8) },
        HostileInput("100,000 nested block sequences", ["1:?: nesting deeper than 64 levels"]) { Array((String(repeating: "- ", count: 100_000) + "x\n").utf8) },
        HostileInput("block mappings 200 deep", ["65:?: nesting deeper than 64 levels"]) {
            Array(((0..<200).map { String(repeating: " ", count: $0) + "k:\n" }.joined() + String(repeating: " ", count: 200) + "v\n").utf8)
        },
        HostileInput("flow inside block, 64 levels in all, legal YAML", ["1:1: a: unknown field", "1:1: missing required field", "1:1: missing required field", "1:1: missing required field", "1:1: missing required field"]) {
            Array(("a:\n  b:\n    c: " + String(repeating: "[", count: 61) + String(repeating: "]", count: 61) + "\n").utf8)
        },
        HostileInput("flow inside block, 65 levels in all", ["3:?: nesting deeper than 64 levels"]) {
            Array(("a:\n  b:\n    c: " + String(repeating: "[", count: 62) + String(repeating: "]", count: 62) + "\n").utf8)
        },
    ]

    static let sizes: [HostileInput] = [
        HostileInput("a 3.5 MiB display name: legal", []) { Array(tenant(spec: "{displayName: \(String(repeating: "a", count: 3_500_000)), plan: pro, region: eu}").utf8) },
        HostileInput("an error at the end of a 2 MiB line names its column", ["5:?: spec.plan: must be one of starter, pro or enterprise; got \"gold\""]) {
            Array(tenant(spec: "{displayName: \(String(repeating: "a", count: 2 << 20)), plan: gold, region: eu}").utf8)
        },
        HostileInput("columns count characters, not bytes, after 100,000 é", ["5:100029: spec.plan: must be one of"]) {
            Array(tenant(spec: "{displayName: \(String(repeating: "é", count: 100_000)), plan: gold, region: eu}").utf8)
        },
        HostileInput("a 2,000-character label key in block style", ["6:2005: invalid YAML: mapping values are not allowed in this context; a key must end with"]) { Array(tenant(metadata: "  labels:\n    \(String(repeating: "k", count: 2_000)): v\n").utf8) },
        HostileInput("a 300-character label key", ["5:12: metadata.labels.", ]) { Array(tenant(metadata: "  labels: {\(String(repeating: "k", count: 300)): v}\n").utf8) },
        HostileInput("a 300 KB label key", ["5:300012: invalid YAML: did not find expected ',' or '}' (while parsing a flow mapping at line 5, column 11); a key must end with"]) { Array(tenant(metadata: "  labels: {\(String(repeating: "k", count: 300_000)): v}\n").utf8) },
        HostileInput("a label value of 64 characters", ["5:15: metadata.labels.a: is 64 bytes long; at most 63 allowed"]) {
            Array(tenant(metadata: "  labels: {a: \(String(repeating: "v", count: 64))}\n").utf8)
        },
        HostileInput("an annotation value of 64 KiB + 1", ["5:20: metadata.annotations.a: is 65537 bytes long; at most 65536 allowed"]) {
            Array(tenant(metadata: "  annotations: {a: \(String(repeating: "v", count: 65_537))}\n").utf8)
        },
        HostileInput("a name of 100,000 characters", ["4:9: metadata.name: is 100000 characters long; a name has at most 63"]) {
            Array(tenant(name: String(repeating: "a", count: 100_000)).utf8)
        },
        HostileInput("a 3 MiB comment line: legal", []) { Array(("# " + String(repeating: "#", count: 3 << 20) + "\n" + tenant()).utf8) },
    ]

    /// The tenant with `bytes` in place of its display name (line 5, column 15).
    static func badBytes(_ bytes: [UInt8]) -> [UInt8] {
        let text = tenant(spec: "{displayName: @, plan: pro, region: eu}")
        var out = Array(text.utf8)
        let at = out.firstIndex(of: UInt8(ascii: "@"))!
        out.replaceSubrange(at...at, with: bytes)
        return out
    }

    static let encodings: [HostileInput] = [
        HostileInput("byte 0xFF", ["5:21: not valid UTF-8 (byte 0xFF at offset 82)"]) { badBytes([0xFF]) },
        HostileInput("byte 0xFE", ["5:21: not valid UTF-8 (byte 0xFE at offset 82)"]) { badBytes([0xFE]) },
        HostileInput("a lone continuation byte", ["5:21: not valid UTF-8 (byte 0x80 at offset 82)"]) { badBytes([0x80]) },
        HostileInput("an overlong '/' (C0 AF)", ["5:21: not valid UTF-8 (byte 0xC0 at offset 82)"]) { badBytes([0xC0, 0xAF]) },
        HostileInput("an overlong three-byte form", ["5:21: not valid UTF-8 (byte 0xE0 at offset 82)"]) { badBytes([0xE0, 0x80, 0xAF]) },
        HostileInput("a UTF-16 surrogate encoded in UTF-8", ["5:21: not valid UTF-8 (byte 0xED at offset 82)"]) { badBytes([0xED, 0xA0, 0x80]) },
        HostileInput("a code point above U+10FFFF", ["5:21: not valid UTF-8 (byte 0xF4 at offset 82)"]) { badBytes([0xF4, 0x90, 0x80, 0x80]) },
        HostileInput("an old five-byte form", ["5:21: not valid UTF-8 (byte 0xF8 at offset 82)"]) { badBytes([0xF8, 0x88, 0x80, 0x80, 0x80]) },
        HostileInput("a lead byte followed by ASCII", ["5:21: not valid UTF-8 (byte 0xC3 at offset 82)"]) { badBytes([0xC3, UInt8(ascii: "x")]) },
        HostileInput("Latin-1 é after valid text", ["5:24: not valid UTF-8 (byte 0xE9 at offset 85)"]) { badBytes(Array("caf".utf8) + [0xE9]) },
        HostileInput("a sequence cut off by the end of the file", ["1:7: not valid UTF-8 (byte 0xE2 at offset 6)"]) { Array("name: ".utf8) + [0xE2, 0x82] },
        HostileInput("a UTF-16 file with its byte order mark", ["1:1: not valid UTF-8 (byte 0xFF at offset 0)"]) { [0xFF, 0xFE] + Array("a: 1\n".utf8).flatMap { [$0, 0] } },
        HostileInput("a raw NUL byte", ["5:22: non-printable character U+0000 is not allowed in YAML"]) { badBytes([UInt8(ascii: "A"), 0, UInt8(ascii: "B")]) },
        HostileInput("a raw escape byte", ["5:22: non-printable character U+001B is not allowed in YAML"]) { badBytes([UInt8(ascii: "A"), 0x1B, UInt8(ascii: "B")]) },
        HostileInput("a raw DEL byte", ["5:22: non-printable character U+007F is not allowed in YAML"]) { badBytes([UInt8(ascii: "A"), 0x7F]) },
        HostileInput("a raw C1 control (U+0090)", ["5:22: non-printable character U+0090 is not allowed in YAML"]) { badBytes([UInt8(ascii: "A"), 0xC2, 0x90, UInt8(ascii: "B")]) },
        HostileInput("a raw U+FFFF", ["5:22: non-printable character U+FFFF is not allowed in YAML"]) { badBytes([UInt8(ascii: "A"), 0xEF, 0xBF, 0xBF]) },
        HostileInput("a raw NEL (U+0085), a YAML line break: legal", []) { badBytes([UInt8(ascii: "A"), 0xC2, 0x85, UInt8(ascii: "B")]) },
        HostileInput("a UTF-8 byte order mark: read as text", []) { [0xEF, 0xBB, 0xBF] + Array(tenant().utf8) },
        HostileInput("columns after a byte order mark are counted without it", ["4:9: metadata.name: \"Acme\" is not a DNS-1123 label"]) {
            [0xEF, 0xBB, 0xBF] + Array(tenant(name: "Acme").utf8)
        },
        HostileInput("two byte order marks: legal", []) { [0xEF, 0xBB, 0xBF, 0xEF, 0xBB, 0xBF] + Array(tenant().utf8) },
        HostileInput("a tab between key and value: legal", []) { Array(tenant(spec: "{displayName:\tAcme, plan:\tpro, region: eu}").utf8) },
        HostileInput("a form feed in indentation", ["2:1: non-printable character U+000C is not allowed in YAML"]) { Array("apiVersion: accord.dev/v1\n\u{0C}kind: Tenant\n".utf8) },
    ]

    static let all = aliasBombs + nesting + sizes + encodings
}
