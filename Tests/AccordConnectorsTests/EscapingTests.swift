import AccordCore
@testable import AccordConnectors
import Foundation
import Testing

/// Values that reach a store's language are escaped by construction.
@Suite struct EscapingTests {
    static let hostile = ["x' OR 1=1 --", "a\\' OR '1'='1", "`; DROP TABLE events; --", "line\nbreak\u{0}nul", "ünïcødé", "$(rm -rf /)"]

    @Test(arguments: hostile)
    func clickHouseLiteralsStayOneLiteral(_ value: String) {
        let literal = ClickHouseConnector.literal(value)
        #expect(literal.hasPrefix("'") && literal.hasSuffix("'"))
        // Between the quotes, every quote is escaped and no raw control character is left.
        let inner = literal.dropFirst().dropLast()
        var escaped = false
        for c in inner.unicodeScalars {
            if escaped { escaped = false; continue }
            if c == "\\" { escaped = true; continue }
            #expect(c != "'", "an unescaped quote in \(literal)")
            #expect(c.value >= 0x20, "a raw control character in \(literal)")
        }
        #expect(!escaped, "a dangling backslash in \(literal)")
    }

    @Test func clickHouseIdentifiersAreBackquoted() {
        #expect(ClickHouseConnector.identifier("analytics.events") == "`analytics`.`events`")
        #expect(ClickHouseConnector.identifier("we`ird\\") == "`we\\`ird\\\\`")
    }

    @Test func s3KeysAreXMLEscapedAndURIEncoded() {
        #expect(S3Connector.xmlEscaped("a&b<c>\"d'e\u{1}") == "a&amp;b&lt;c&gt;&quot;d&apos;e&#x1;")
        #expect(SigV4.uriEncode("acme/sha256:ab cd+é", keepSlash: true) == "acme/sha256%3Aab%20cd%2B%C3%A9")
        #expect(SigV4.uriEncode("a/b") == "a%2Fb")
    }
}
