@testable import AccordConnectors
import Testing

/// The RESP codec with values, including what a hostile server could send.
@Suite struct RESPTests {
    @Test func commandsAreArraysOfBulkStrings() {
        #expect(String(decoding: RESP.command(["SCAN", "0", "MATCH", "a:*"]), as: UTF8.self)
                == "*4\r\n$4\r\nSCAN\r\n$1\r\n0\r\n$5\r\nMATCH\r\n$3\r\na:*\r\n")
        // Byte lengths, not characters: a value with multi-byte characters and CRLF inside stays one argument.
        #expect(String(decoding: RESP.command(["é\r\n"]), as: UTF8.self) == "*1\r\n$4\r\né\r\n\r\n")
    }

    @Test func repliesParseWhenWhole() throws {
        let bytes = Array("*2\r\n$1\r\n0\r\n*2\r\n$3\r\nk:1\r\n$-1\r\n+OK\r\n".utf8)
        let (value, next) = try #require(try RESP.parse(bytes))
        #expect(value == .array([.bulk(Array("0".utf8)), .array([.bulk(Array("k:1".utf8)), .bulk(nil)])]))
        #expect(try RESP.parse(bytes, from: next)?.0 == .simple("OK"))
        // Every prefix of a reply is incomplete, never an error.
        for cut in 0..<(next - 1) { #expect(try RESP.parse(Array(bytes[0..<cut])) == nil, "cut at \(cut)") }
        #expect(try RESP.parse(Array(":42\r\n".utf8))?.0 == .integer(42))
        #expect(try RESP.parse(Array("-WRONGPASS invalid\r\n".utf8))?.0 == .error("WRONGPASS invalid"))
    }

    @Test func malformedRepliesAreErrorsNotCrashes() {
        for text in ["?x\r\n", ":nope\r\n", "$-5\r\n", "$999999999999\r\n", "*2000000\r\n", "$3\r\nabcXY"] {
            #expect(throws: RESP.Malformed.self, "\(text.debugDescription)") { try RESP.parse(Array(text.utf8)) }
        }
    }

    @Test func globEscapingMatchesOnlyTheValue() {
        #expect(RESP.globEscaped("sha256:ab*?[x]\\") == "sha256:ab\\*\\?\\[x\\]\\\\")
        #expect(Placeholders.fill("s:{tenant}:{subject}:*", tenant: "a*", subject: "b?", escape: RESP.globEscaped) == "s:a\\*:b\\?:*")
        #expect(Placeholders.tenantPart("{tenant}/{subject}/", tenant: "acme") == "acme/")
    }
}
