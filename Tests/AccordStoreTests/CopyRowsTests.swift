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

    /// The word-at-a-time check against a byte-by-byte one, on random text
    /// of every length up to 40 with the escaped bytes at every offset (and
    /// bytes one above and below them), and the escaped output against the
    /// format's rules.
    @Test func theWordAtATimeCheckNeverMissesAByteToEscape() {
        var generator = SystemRandomNumberGenerator()
        let pool: [UInt8] = [0x5C, 0x09, 0x0A, 0x0D, 0x5B, 0x5D, 0x08, 0x0B, 0x0C, 0x0E, 0x20, 0x41, 0x7A, 0xC3, 0xBC, 0x7F]
        for _ in 0..<20_000 {
            let count = Int.random(in: 0...40, using: &generator)
            var bytes = (0..<count).map { _ in UInt8(ascii: "a") + UInt8.random(in: 0..<26, using: &generator) }
            for _ in 0..<Int.random(in: 0...2, using: &generator) where count > 0 {
                bytes[Int.random(in: 0..<count, using: &generator)] = pool.randomElement(using: &generator)!
            }
            let exact = bytes.contains { $0 == 0x5C || $0 == 0x09 || $0 == 0x0A || $0 == 0x0D }
            let quick = bytes.withUnsafeBufferPointer { CopyRows.mayNeedEscape($0) }
            #expect(!exact || quick, "missed an escape in \(bytes)")
            #expect(quick == bytes.contains { $0 == 0x5C || $0 < 0x0E }, "\(bytes)")
        }
        let long = String(repeating: "abcdefgh", count: 5)
        for offset in 0..<long.utf8.count {
            for special in ["\\", "\t", "\n", "\r"] {
                var text = Array(long.utf8)
                text[offset] = special.utf8.first!
                let line = Self.text { $0.text(String(decoding: text, as: UTF8.self)); $0.endRow() }
                #expect(!line.dropLast().contains { $0 == "\t" || $0 == "\n" || $0 == "\r" }, "offset \(offset)")
                #expect(line.contains("\\"), "offset \(offset)")
            }
        }
    }
}
