import AccordCore
@testable import AccordStore
import Testing

/// PostgreSQL's COPY text format, built without a database.
@Suite struct CopyRowsTests {
    static func text(_ build: (inout CopyRows) -> Void) -> String {
        var rows = CopyRows()
        build(&rows)
        return String(decoding: rows.bytes, as: UTF8.self)
    }

    @Test func plainTextIsCopiedAsItIs() {
        #expect(Self.text { $0.text("acme-corp"); $0.text("Zürich ✓"); $0.endRow() } == "acme-corp\tZürich ✓\n")
    }

    @Test func backslashTabNewlineAndReturnAreEscaped() {
        let out = Self.text { $0.text("a\\b\tc\nd\re"); $0.text("'; DROP TABLE x; --"); $0.endRow() }
        #expect(out == "a\\\\b\\tc\\nd\\re\t'; DROP TABLE x; --\n")
    }

    @Test func nullsNumbersBooleansAndJSON() {
        let out = Self.text {
            $0.text(nil)
            $0.field(.null, .text)
            $0.field(.number(3), .integer)
            $0.field(.bool(true), .boolean)
            $0.field(.object(["b": .string("x\ty"), "a": .number(1)]), .json)
            $0.endRow()
        }
        #expect(out == "\\N\t\\N\t3\tt\t{\"a\":1,\"b\":\"x\\\\ty\"}\n")
    }
}
