@testable import AccordController
import AccordCore
import Crypto
import Foundation
import Logging
import Synchronization
import Testing

/// Collects log lines in memory.
final class LogBuffer: LogSink {
    private let lines = Mutex<[String]>([])
    func write(_ line: String) { lines.withLock { $0.append(line) } }
    var all: [String] { lines.withLock { $0 } }
    var text: String { all.joined(separator: "\n") }

    /// The JSON lines whose message is `msg`.
    func lines(msg: String) -> [JSONValue] {
        all.compactMap { try? JSONParser.parse($0) }.filter { $0["msg"] == .string(msg) }
    }
}

@Suite struct SignatureAndLogTests {
    let secret = Array("webhook-shared-secret".utf8)

    @Test func githubSignatures() {
        let body = Array(#"{"ref":"refs/heads/main"}"#.utf8)
        let signature = WebhookSignature.sign(body, secret: secret)
        // Independent computation of GitHub's header value.
        let expected = "sha256=" + HMAC<SHA256>.authenticationCode(for: body, using: SymmetricKey(data: secret))
            .map { String(format: "%02x", $0) }.joined()
        #expect(signature == expected)
        #expect(WebhookSignature.isValid(signature, body: body, secret: secret))
        #expect(WebhookSignature.isValid(signature.uppercased().replacingOccurrences(of: "SHA256=", with: "sha256="), body: body, secret: secret))
        #expect(!WebhookSignature.isValid(nil, body: body, secret: secret))
        #expect(!WebhookSignature.isValid(signature, body: body + [0x20], secret: secret))
        #expect(!WebhookSignature.isValid(signature, body: body, secret: Array("other".utf8)))
        #expect(!WebhookSignature.isValid("sha1=" + signature.dropFirst(7), body: body, secret: secret))
        #expect(!WebhookSignature.isValid(String(signature.dropLast(2)), body: body, secret: secret))
        #expect(!WebhookSignature.isValid(String(signature.dropLast(2)) + "zz", body: body, secret: secret))
    }

    @Test func jsonAndLogfmtLines() throws {
        let buffer = LogBuffer()
        let json = Logger(label: "t") { StructuredLogHandler(label: $0, level: .info, format: .json, sink: buffer, redactor: LogRedactor(secrets: [])) }
        json.info("hello \"world\"", metadata: ["revision": "abc", "n": "2", "count": .number(3), "durationSeconds": .seconds(.milliseconds(1500)),
                                                  "stalled": .stringConvertible(true)])
        json.debug("not shown")
        var logfmt = Logger(label: "t") { StructuredLogHandler(label: $0, level: .info, format: .logfmt, sink: buffer, redactor: LogRedactor(secrets: [])) }
        logfmt[metadataKey: "replica"] = "r1"
        logfmt.warning("two words", metadata: ["path": "a b"])
        _ = (json, logfmt)
        #expect(buffer.all.count == 2)
        let object = try JSONParser.parse(buffer.all[0])
        #expect(object["msg"] == .string("hello \"world\""))
        #expect(object["level"] == .string("info") && object["revision"] == .string("abc") && object["logger"] == .string("t"))
        // Text stays text; counts and durations (seconds) are JSON numbers, flags booleans.
        #expect(object["n"] == .string("2") && object["count"] == .number(3) && object["durationSeconds"] == .number(1.5)
                && object["stalled"] == .bool(true), "\(buffer.all[0])")
        #expect(buffer.all[1].hasPrefix("time="))
        #expect(buffer.all[1].hasSuffix(#"level=warning logger=t msg="two words" path="a b" replica=r1"#))
    }

    @Test func theRedactorScrubsKnownSecrets() {
        let buffer = LogBuffer()
        let logger = Logger(label: "t") {
            StructuredLogHandler(label: $0, level: .info, format: .json, sink: buffer,
                                 redactor: LogRedactor(secrets: ["password-123456", "short"]))
        }
        logger.error("connect failed for postgres://u:password-123456@h/db short")
        #expect(!buffer.text.contains("password-123456"))
        #expect(buffer.text.contains("postgres://u:***@h/db short"), "texts under \(LogRedactor.minimumLength) characters are left alone")
    }
}
