import AccordCore
import AsyncHTTPClient
import Crypto
import Foundation
import NIOCore
import NIOHTTP1

/// Sends one event to one notification's receiver (SPEC §11): a webhook's
/// signed JSON, a Slack incoming-webhook message, or a GitHub commit
/// status. `request` is pure (what would be sent); `send` sends it with the
/// connectors' HTTP client (no redirects, bounded) and says what the
/// answer means for the outbox.
public enum NotificationDelivery {
    /// The header that carries a webhook body's HMAC-SHA256 under the secret.
    public static let signatureHeader = "X-Accord-Signature-256"
    /// The context of GitHub commit statuses.
    public static let githubContext = "accord/apply"
    /// Every delivery is bounded by this.
    public static let timeout: Int64 = 10

    /// One event for one receiver.
    public struct Event: Sendable, Hashable {
        public let id: String
        public let event: NotificationEvent
        public let object: String
        public let tenant: String?
        public let revision: String?
        public let message: String
        public let time: Date
        public let detail: JSONValue

        public init(id: String, event: NotificationEvent, object: String, tenant: String?, revision: String?, message: String,
                    time: Date, detail: JSONValue = .object([:])) {
            self.id = id
            self.event = event
            self.object = object
            self.tenant = tenant
            self.revision = revision
            self.message = message
            self.time = time
            self.detail = detail
        }
    }

    /// Where and how: the type, the address from the manifest, the secret file's text.
    public struct Receiver: Sendable, Hashable {
        public let name: String
        public let type: NotificationSpec.NotificationType
        public let address: String?
        public let secret: String
        /// The status page's address (`--external-url`), without a trailing slash; nil: no links.
        public let page: String?

        public init(name: String, type: NotificationSpec.NotificationType, address: String?, secret: String, page: String? = nil) {
            self.name = name
            self.type = type
            self.address = address
            self.secret = secret
            self.page = page
        }
    }

    public struct Request: Sendable, Hashable {
        public let url: String
        public let headers: [(String, String)]
        public let body: [UInt8]

        public init(url: String, headers: [(String, String)], body: [UInt8]) {
            self.url = url
            self.headers = headers
            self.body = body
        }

        public static func == (a: Request, b: Request) -> Bool {
            a.url == b.url && a.body == b.body && a.headers.map { "\($0.0): \($0.1)" } == b.headers.map { "\($0.0): \($0.1)" }
        }

        public func hash(into h: inout Hasher) {
            h.combine(url)
            h.combine(body)
        }
    }

    /// What the receiver's answer means.
    public enum Outcome: Sendable, Equatable {
        case sent
        /// Try again later (no answer, 408, 429, 5xx).
        case retry(String)
        /// The receiver refused for good (another 4xx, a redirect): stop until the manifest changes.
        case refused(String)
        /// Nothing to send (a pass's outcome without a commit).
        case skipped
    }

    public struct Invalid: Error, CustomStringConvertible {
        public let description: String
    }

    /// The request that delivers `event` to `receiver`; nil when there is nothing to send.
    public static func request(_ event: Event, to receiver: Receiver) throws -> Request? {
        let agent = ("User-Agent", "accord/\(AccordVersion.current)")
        switch receiver.type {
        case .webhook:
            guard let address = receiver.address else { throw Invalid(description: "Notification/\(receiver.name) has no address") }
            let body = Array(webhookBody(event, url: link(event, receiver.page)).utf8)
            let mac = HMAC<SHA256>.authenticationCode(for: body, using: SymmetricKey(data: Array(receiver.secret.utf8)))
            return Request(url: address, headers: [
                ("Content-Type", "application/json"), agent, ("X-Accord-Event", event.event.rawValue), ("X-Accord-Delivery", event.id),
                (signatureHeader, "sha256=" + mac.map { String(format: "%02x", $0) }.joined()),
            ], body: body)
        case .slack:
            let url = receiver.secret
            guard url.hasPrefix("https://") || url.hasPrefix("http://") else {
                throw Invalid(description: "Notification/\(receiver.name): the secret file must hold the Slack incoming-webhook URL (https://hooks.slack.com/services/…)")
            }
            return Request(url: url, headers: [("Content-Type", "application/json"), agent],
                           body: Array(JSONValue.object(["text": .string(slackText(event, url: link(event, receiver.page)))]).canonical.utf8))
        case .github:
            guard let address = receiver.address else { throw Invalid(description: "Notification/\(receiver.name) has no address") }
            guard let revision = event.revision, let state = githubState(event.event) else { return nil }
            var fields: [String: JSONValue] = [
                "state": .string(state), "context": .string(githubContext),
                "description": .string(String(event.message.prefix(140))),
            ]
            if let url = link(event, receiver.page) { fields["target_url"] = .string(url) }
            let body = JSONValue.object(fields)
            return Request(url: "\(address)/statuses/\(revision)", headers: [
                ("Content-Type", "application/json"), ("Accept", "application/vnd.github+json"), ("X-GitHub-Api-Version", "2022-11-28"),
                ("Authorization", "Bearer \(receiver.secret)"), agent,
            ], body: Array(body.canonical.utf8))
        }
    }

    /// Where on the status page an event is seen: a pass's outcome in the
    /// history, the source on the overview, an object on its own page.
    public static func link(_ e: Event, _ page: String?) -> String? {
        guard let page else { return nil }
        if e.object == "Revision" { return page + "/history" }
        if e.object.hasPrefix("Source/") { return page + "/" }
        return page + PagePath.object(parts: e.object.split(separator: "/", omittingEmptySubsequences: false).map(String.init))
    }

    /// `{formatVersion: 1, event, object, tenant, revision, message, time, id}`
    /// as canonical JSON, with `detail` when the event has one and `url`
    /// (the object on the status page) when the controller knows its address.
    public static func webhookBody(_ e: Event, url: String? = nil) -> String {
        var fields: [String: JSONValue] = [
            "formatVersion": .number(1), "event": .string(e.event.rawValue), "object": .string(e.object), "tenant": JSONValue(e.tenant),
            "revision": JSONValue(e.revision), "message": .string(e.message),
            "time": .string(Timestamp.rfc3339(e.time)), "id": .string(e.id),
        ]
        if case .object(let detail) = e.detail, !detail.isEmpty { fields["detail"] = e.detail }
        if let url { fields["url"] = .string(url) }
        return JSONValue.object(fields).canonical
    }

    /// One line of Slack mrkdwn, with `&`, `<` and `>` escaped as Slack asks.
    public static func slackText(_ e: Event, url: String? = nil) -> String {
        func escaped(_ s: String) -> String {
            s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
        }
        let at = e.revision.map { " at `\($0.prefix(12))`" } ?? ""
        let link = url.map { " <\(escaped($0))|details>" } ?? ""
        return "*\(e.event.rawValue)* `\(escaped(e.object))`\(at): \(escaped(e.message))\(link)"
    }

    /// A commit status's state for a pass's outcome.
    public static func githubState(_ event: NotificationEvent) -> String? {
        switch event {
        case .applyStarted: "pending"
        case .applySucceeded: "success"
        case .applyFailed: "failure"
        default: nil
        }
    }

    /// What an HTTP status means for the outbox.
    public static func outcome(status: Int, body: String) -> Outcome {
        let excerpt = Text.escapingControls(String(body.prefix(200)))
        let said = excerpt.isEmpty ? "" : ": \(excerpt)"
        switch status {
        case 200..<300: return .sent
        case 408, 429, 500..<600: return .retry("HTTP \(status)\(said)")
        case 300..<400: return .refused("HTTP \(status): the receiver redirects, and deliveries do not follow redirects; set the address it redirects to")
        default: return .refused("HTTP \(status)\(said)")
        }
    }

    /// Sends the request; a connection that fails or an answer that does not come in time is a retry.
    public static func send(_ request: Request) async -> Outcome {
        var r = HTTPClientRequest(url: request.url)
        r.method = .POST
        for (name, value) in request.headers { r.headers.add(name: name, value: value) }
        r.body = .bytes(ByteBuffer(bytes: request.body))
        do {
            let response = try await StoreHTTP.client.execute(r, timeout: .seconds(timeout))
            let body = try await response.body.collect(upTo: 64 * 1024)
            return outcome(status: Int(response.status.code), body: String(decoding: body.readableBytesView, as: UTF8.self))
        } catch let error as HTTPClientError where [.deadlineExceeded, .readTimeout, .connectTimeout, .writeTimeout].contains(error) {
            return .retry("no answer within \(timeout)s")
        } catch {
            return .retry("cannot deliver: \(String(describing: error))")
        }
    }
}
