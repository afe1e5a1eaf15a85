import AccordCore
@testable import AccordManifests
import Testing

@Suite struct YAMLReaderTests {
    func read(_ text: String) -> YAMLReader.Result { YAMLReader.read(Array(text.utf8), file: "f.yaml") }

    @Test func typesScalarsByYAML12CoreSchema() {
        let doc = read("a: 1\nb: \"1\"\nc: 1.5\nd: true\ne: yes\nf: ~\ng: 2026-11-18T09:00:00Z\nh: 0x1F\ni: .inf\n").documents[0]
        #expect(doc.child("a")?.scalar == .integer(1))
        #expect(doc.child("b")?.scalar == .string("1"))
        #expect(doc.child("c")?.scalar == .number(1.5))
        #expect(doc.child("d")?.scalar == .bool(true))
        #expect(doc.child("e")?.scalar == .string("yes"), "YAML 1.2: yes is a string")
        #expect(doc.child("f")?.scalar == .null)
        #expect(doc.child("g")?.scalar == .string("2026-11-18T09:00:00Z"), "timestamps stay text")
        #expect(doc.child("h")?.scalar == .integer(31))
        #expect(doc.child("i")?.scalar == .number(.infinity))
    }

    /// Plain text that starts like a word of the core schema but is not
    /// one stays a string; the words themselves, in their three spellings,
    /// do not.
    @Test func plainWordsAndNamesStartingWithTheirLetters() {
        for text in ["t-00001", "nan", "NaN", "nULL", "trUe", "False2", "~x", "n", "T", "f1", "NULLS", "Infinity", "inf"] {
            #expect(ScalarResolver.plain(text) == .string(text), "\(text)")
        }
        for (text, value) in [("~", Scalar.null), ("null", .null), ("Null", .null), ("NULL", .null), ("true", .bool(true)), ("True", .bool(true)),
                              ("TRUE", .bool(true)), ("false", .bool(false)), ("False", .bool(false)), ("FALSE", .bool(false)),
                              ("0x1f", .integer(31)), ("0o17", .integer(15)), ("-.inf", .number(-.infinity)), ("+12", .integer(12)), (".5", .number(0.5)),
                              (".Inf", .number(.infinity)), ("+.INF", .number(.infinity)), ("3", .integer(3)), ("0.8", .number(0.8)),
                              ("-3", .integer(-3)), ("", .null), ("-", .string("-")), ("+.in", .string("+.in")), (".", .string(".")),
                              ("~~", .string("~~")), ("nulls", .string("nulls"))] {
            #expect(ScalarResolver.plain(text) == value, "\(text)")
        }
        for text in [".nan", ".NaN", ".NAN"] {
            guard case .number(let d) = ScalarResolver.plain(text) else { Issue.record("\(text) is not a number"); continue }
            #expect(d.isNaN, "\(text)")
        }
    }

    @Test func readsEveryDocumentAndSkipsEmptyOnes() {
        let result = read("---\na: 1\n---\n---\n# only a comment\n---\nb: 2\n")
        #expect(result.diagnostics.isEmpty)
        #expect(result.documents.count == 2)
        #expect(result.documents[1].line == 7)
    }

    @Test func marksAreOneBasedInUnicodeScalars() {
        let doc = read("é: x\nkey:   value\n").documents[0]
        #expect(doc.child("é")?.column == 4)
        #expect(doc.child("key")?.line == 2)
        #expect(doc.child("key")?.column == 8)
    }

    @Test func nestingUpToTheLimitIsRead() {
        let text = String(repeating: "[", count: 64) + String(repeating: "]", count: 64)
        #expect(read(text).diagnostics.isEmpty)
    }

    @Test func nestingPastTheLimitIsAnErrorAtTheDeepNode() {
        let text = String(repeating: "[", count: 65) + String(repeating: "]", count: 65)
        #expect(read(text).diagnostics.map(\.description) == ["f.yaml:1:65: nesting deeper than 64 levels"])
    }

    @Test func millionDeepNestingIsRefusedWithoutRecursion() {
        let text = String(repeating: "[", count: 1_000_000)
        let result = read(text)
        #expect(result.diagnostics.count == 1)
        #expect(result.diagnostics[0].message.contains("nesting deeper than 64"))
    }

    @Test func billionLaughsIsRefusedAtTheAliasThatCrossesTheLimit() {
        var text = "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
        var previous = "a"
        for name in ["b", "c", "d", "e", "f", "g", "h", "i"] {
            text += "\(name): &\(name) [" + Array(repeating: "*\(previous)", count: 10).joined(separator: ", ") + "]\n"
            previous = name
        }
        let result = read(text)
        #expect(result.documents.isEmpty)
        #expect(result.diagnostics.count == 1)
        #expect(result.diagnostics[0].message == "YAML aliases expand to more than 100000 nodes")
        #expect(result.diagnostics[0].position.line == 5, "e is the first anchor whose expansion passes 100,000 nodes")
    }

    @Test func aliasesThatStayDeepEnoughAreExpanded() {
        let doc = read("base: &b {x: 1}\ncopy: *b\n").documents[0]
        #expect(doc.child("copy")?.child("x")?.scalar == .integer(1))
        #expect(doc.child("copy")?.line == 2)
    }

    @Test func aliasThatMakesNestingTooDeepIsRefused() {
        let deep = String(repeating: "[", count: 40) + String(repeating: "]", count: 40)
        let text = "a: &a \(deep)\nb: " + String(repeating: "[", count: 30) + "*a" + String(repeating: "]", count: 30) + "\n"
        let result = read(text)
        #expect(result.diagnostics.first?.message.hasPrefix("nesting deeper than 64 levels (through alias *\"a\")") == true)
    }

    @Test func undefinedAliasIsAnError() {
        #expect(read("a: *nope\n").diagnostics.map(\.description) == ["f.yaml:1:4: unknown alias *\"nope\""])
    }

    @Test func invalidUTF8IsReportedWhereItStands() {
        var bytes = Array("ok: 1\nname: ab".utf8)
        bytes.append(0xFF)
        let result = YAMLReader.read(bytes, file: "f.yaml")
        #expect(result.diagnostics.map(\.description) == ["f.yaml:2:9: not valid UTF-8 (byte 0xFF at offset 14)"])
    }

    @Test func overlongAndSurrogateEncodingsAreNotUTF8() {
        #expect(UTF8Check.firstInvalidByte(in: [0x41, 0xC0, 0x80]) == 1)
        #expect(UTF8Check.firstInvalidByte(in: [0xED, 0xA0, 0x80]) == 0)
        #expect(UTF8Check.firstInvalidByte(in: [0xF4, 0x90, 0x80, 0x80]) == 0)
        #expect(UTF8Check.firstInvalidByte(in: Array("héllo ✓ 𝄞".utf8)) == nil)
    }

    @Test func syntaxErrorsNameLineAndColumn() {
        let result = read("a: 1\n b: 2\n")
        #expect(result.diagnostics.count == 1)
        #expect(result.diagnostics[0].position.line == 2)
        #expect(result.diagnostics[0].message.hasPrefix("invalid YAML: "))
    }

    @Test func nulByteIsRefused() {
        let result = YAMLReader.read(Array("a: b\u{0}c\n".utf8), file: "f.yaml")
        #expect(result.diagnostics.count == 1)
        #expect(result.diagnostics[0].position.line == 1)
    }
}
