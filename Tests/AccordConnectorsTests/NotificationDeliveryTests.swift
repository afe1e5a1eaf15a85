import AccordConnectors
import AccordCore
import Crypto
import Foundation
import Testing

/// What a notification sends, by type, and what an answer means (values only).
@Suite struct NotificationDeliveryTests {
    static let event = NotificationDelivery.Event(
        id: "42", event: .erasureCompleted, object: "Erasure/acme/req-7", tenant: "acme", revision: String(repeating: "c", count: 40),
        message: "Erasure/acme/req-7 completed: 12 records <erased> & certified", time: Date(timeIntervalSince1970: 1_800_000_000),
        detail: .object(["certificate": .object(["sha256": .string("ab12")])]))

    @Test func aWebhookBodyIsCanonicalJSONSignedWithTheSecret() throws {
        let receiver = NotificationDelivery.Receiver(name: "dpo", type: .webhook, address: "https://hooks.example.com/a?b=c", secret: "k3y")
        let request = try #require(try NotificationDelivery.request(Self.event, to: receiver))
        #expect(request.url == "https://hooks.example.com/a?b=c")
        let body = String(decoding: request.body, as: UTF8.self)
        #expect(body == #"{"detail":{"certificate":{"sha256":"ab12"}},"event":"ErasureCompleted","formatVersion":1,"id":"42","message":"Erasure/acme/req-7 completed: 12 records <erased> & certified","object":"Erasure/acme/req-7","revision":"cccccccccccccccccccccccccccccccccccccccc","tenant":"acme","time":"2027-01-15T08:00:00Z"}"#)
        let headers = Dictionary(request.headers, uniquingKeysWith: { a, _ in a })
        let mac = HMAC<SHA256>.authenticationCode(for: request.body, using: SymmetricKey(data: Array("k3y".utf8)))
        #expect(headers[NotificationDelivery.signatureHeader] == "sha256=" + mac.map { String(format: "%02x", $0) }.joined())
        #expect(headers["X-Accord-Event"] == "ErasureCompleted" && headers["X-Accord-Delivery"] == "42")
        #expect(headers["Content-Type"] == "application/json")
        // Another secret signs differently: a receiver with the wrong key refuses.
        let other = try #require(try NotificationDelivery.request(Self.event, to: .init(name: "dpo", type: .webhook, address: receiver.address, secret: "other")))
        #expect(Dictionary(other.headers, uniquingKeysWith: { a, _ in a })[NotificationDelivery.signatureHeader] != headers[NotificationDelivery.signatureHeader])
    }

    @Test func slackGetsOneEscapedLineAtTheURLTheSecretHolds() throws {
        let receiver = NotificationDelivery.Receiver(name: "s", type: .slack, address: nil, secret: "https://hooks.slack.com/services/T/B/X")
        let request = try #require(try NotificationDelivery.request(Self.event, to: receiver))
        #expect(request.url == "https://hooks.slack.com/services/T/B/X")
        #expect(String(decoding: request.body, as: UTF8.self)
            == #"{"text":"*ErasureCompleted* `Erasure/acme/req-7` at `cccccccccccc`: Erasure/acme/req-7 completed: 12 records &lt;erased&gt; &amp; certified"}"#)
        #expect(throws: NotificationDelivery.Invalid.self) {
            try NotificationDelivery.request(Self.event, to: .init(name: "s", type: .slack, address: nil, secret: "not a url"))
        }
    }

    @Test func githubGetsACommitStatusOnlyForAPassOutcome() throws {
        let receiver = NotificationDelivery.Receiver(name: "gh", type: .github, address: "https://api.github.com/repos/o/r", secret: "ghp_token")
        let sha = String(repeating: "d", count: 40)
        for (event, state) in [(NotificationEvent.applyStarted, "pending"), (.applySucceeded, "success"), (.applyFailed, "failure")] {
            let e = NotificationDelivery.Event(id: "1", event: event, object: "Revision", tenant: nil, revision: sha,
                                               message: String(repeating: "m", count: 200), time: Date())
            let request = try #require(try NotificationDelivery.request(e, to: receiver))
            #expect(request.url == "https://api.github.com/repos/o/r/statuses/\(sha)")
            let headers = Dictionary(request.headers, uniquingKeysWith: { a, _ in a })
            #expect(headers["Authorization"] == "Bearer ghp_token" && headers["Accept"] == "application/vnd.github+json")
            #expect(headers["User-Agent"]?.hasPrefix("accord/") == true)
            #expect(String(decoding: request.body, as: UTF8.self)
                == #"{"context":"accord/apply","description":""# + String(repeating: "m", count: 140) + #"","state":""# + state + #""}"#)
        }
        // Anything else has no commit status.
        #expect(try NotificationDelivery.request(Self.event, to: receiver) == nil)
    }

    @Test func withTheStatusPagesAddressEachDeliveryLinksToIt() throws {
        let page = "https://accord.example.com"
        let hook = try #require(try NotificationDelivery.request(Self.event, to: .init(name: "d", type: .webhook, address: "https://h.example.com",
                                                                                     secret: "k", page: page)))
        #expect(try JSONParser.parse(String(decoding: hook.body, as: UTF8.self))["url"]
            == .string("https://accord.example.com/objects/Erasure/acme/req-7"))
        let slack = try #require(try NotificationDelivery.request(Self.event, to: .init(name: "s", type: .slack, address: nil,
                                                                                      secret: "https://hooks.slack.com/x", page: page)))
        #expect(String(decoding: slack.body, as: UTF8.self).hasSuffix(#" <https://accord.example.com/objects/Erasure/acme/req-7|details>"}"#))
        let outcome = NotificationDelivery.Event(id: "1", event: .applySucceeded, object: "Revision", tenant: nil, revision: "abc", message: "ok",
                                                 time: Date())
        let status = try #require(try NotificationDelivery.request(outcome, to: .init(name: "g", type: .github, address: "https://api.github.com/repos/o/r",
                                                                                    secret: "t", page: page)))
        #expect(try JSONParser.parse(String(decoding: status.body, as: UTF8.self))["target_url"] == .string("https://accord.example.com/history"))
        // A name that is not a plain label is encoded in the link.
        let odd = NotificationDelivery.Event(id: "2", event: .objectStalled, object: "Worker/t/a b", tenant: "t", revision: nil, message: "", time: Date())
        #expect(NotificationDelivery.link(odd, page) == "https://accord.example.com/objects/Worker/t/a%20b")
        #expect(NotificationDelivery.link(odd, nil) == nil)
    }

    @Test func answersAreSentRetriedOrRefused() {
        #expect(NotificationDelivery.outcome(status: 200, body: "") == .sent)
        #expect(NotificationDelivery.outcome(status: 204, body: "") == .sent)
        #expect(NotificationDelivery.outcome(status: 429, body: "slow down") == .retry("HTTP 429: slow down"))
        #expect(NotificationDelivery.outcome(status: 408, body: "") == .retry("HTTP 408"))
        #expect(NotificationDelivery.outcome(status: 503, body: "down\u{1b}[31m") == .retry("HTTP 503: down\\u{1B}[31m"))
        #expect(NotificationDelivery.outcome(status: 401, body: "bad credentials") == .refused("HTTP 401: bad credentials"))
        #expect(NotificationDelivery.outcome(status: 404, body: "") == .refused("HTTP 404"))
        if case .refused(let why) = NotificationDelivery.outcome(status: 301, body: "") { #expect(why.contains("redirect")) } else { Issue.record("a redirect is refused") }
    }

    @Test func aReceiverThatCannotBeReachedIsARetry() async throws {
        // Port 1 on loopback: nothing listens there.
        let request = NotificationDelivery.Request(url: "http://127.0.0.1:1/x", headers: [], body: [])
        guard case .retry(let why) = await NotificationDelivery.send(request) else { Issue.record("expected a retry"); return }
        #expect(why.hasPrefix("cannot deliver"))
    }
}
