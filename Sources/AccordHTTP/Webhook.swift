import AccordController
import AccordCore
import Foundation
import Hummingbird
import Synchronization

/// `POST /hooks/git`: GitHub's `X-Hub-Signature-256` over the body, checked
/// in constant time. In order:
///
/// - without a configured secret the endpoint answers 404;
/// - a body over 1 MiB answers 413;
/// - a wrong or missing signature answers 401 and nothing happens;
/// - a signed body that is not a JSON object (GitHub's `application/json`,
///   or the `payload` field of `application/x-www-form-urlencoded`) answers
///   400 and nothing happens;
/// - a delivery (`X-GitHub-Delivery`) this process has already accepted
///   answers 200 with `"queued": false` and nothing happens (see
///   `DeliveryLog`); a signed request without a delivery id is accepted;
/// - anything else, `ping` included, rings the controller's doorbell (an
///   immediate fetch) and answers 202.
enum Webhook {
    static let deliveryHeader = "X-GitHub-Delivery"
    /// Longer delivery ids are refused (400): GitHub's are 36-character GUIDs,
    /// and the log of seen ids must stay small.
    static let maxDeliveryID = 128

    static func handle(_ request: Request, _ deps: HTTPServer.Dependencies) async throws -> Response {
        guard let secret = deps.config.webhookSecret else {
            return HTTPServer.json(.notFound, .object(["error": .string("no webhook secret is configured (--webhook-secret-file)")]))
        }
        if let length = request.headers[.contentLength].flatMap({ Int($0) }), length > WebhookSignature.maxBody {
            return tooLarge()
        }
        let body: ByteBuffer
        do {
            body = try await request.body.collect(upTo: WebhookSignature.maxBody)
        } catch let error as HTTPResponseError where error.status == .contentTooLarge {
            return tooLarge()
        }
        let bytes = Array(buffer: body)
        let signature = request.headers[HTTPFields.Element.Name(WebhookSignature.header)!]
        guard WebhookSignature.isValid(signature, body: bytes, secret: secret) else {
            deps.logger.warning("webhook refused: wrong or missing signature", metadata: [
                "signature": "\(signature == nil ? "missing" : "wrong")"])
            return HTTPServer.json(.unauthorized, .object(["error": .string("wrong or missing \(WebhookSignature.header)")]))
        }
        let event = request.headers[HTTPFields.Element.Name("X-GitHub-Event")!] ?? "unknown"
        if let problem = payloadProblem(bytes, contentType: request.headers[.contentType]) {
            deps.logger.warning("webhook refused: the body is not a JSON object", metadata: ["event": "\(event)", "problem": "\(problem)"])
            return HTTPServer.json(.badRequest, .object(["error": .string(problem)]))
        }
        let delivery = request.headers[HTTPFields.Element.Name(deliveryHeader)!]
        if let delivery {
            guard !delivery.isEmpty, delivery.utf8.count <= maxDeliveryID else {
                return HTTPServer.json(.badRequest, .object(["error": .string(
                    "\(deliveryHeader) must be 1 to \(maxDeliveryID) characters long")]))
            }
            guard deps.deliveries.insert(delivery) else {
                deps.logger.info("webhook already delivered: nothing to do", metadata: ["event": "\(event)", "delivery": "\(delivery)"])
                return HTTPServer.json(.ok, .object([
                    "queued": .bool(false), "delivery": .string(delivery),
                    "reason": .string("already delivered"),
                ]))
            }
        }
        deps.doorbell.ring(.webhook)
        let role = await deps.state.current.role
        deps.logger.info("webhook accepted", metadata: [
            "event": "\(event)", "role": "\(role.rawValue)", "delivery": "\(delivery ?? "none")"])
        return HTTPServer.json(.accepted, .object(["queued": .bool(true), "role": .string(role.rawValue)]))
    }

    static func tooLarge() -> Response {
        HTTPServer.json(.contentTooLarge, .object(["error": .string("the body is larger than 1 MiB")]))
    }

    /// Why a signed body is not a webhook payload, or nil when it is one: a
    /// JSON object, sent as the body itself or, with the form content type,
    /// as its `payload` field.
    static func payloadProblem(_ bytes: [UInt8], contentType: String?) -> String? {
        guard let text = String(validating: bytes, as: UTF8.self) else {
            return "the body is not JSON: it is not valid UTF-8"
        }
        var json = text
        let form = contentType?.lowercased().hasPrefix("application/x-www-form-urlencoded") ?? false
        if form {
            guard let payload = formField("payload", in: text) else {
                return "the form body has no payload field holding the event's JSON"
            }
            json = payload
        }
        let what = form ? "the payload field" : "the body"
        let value: JSONValue
        do {
            value = try JSONParser.parse(json)
        } catch {
            return "\(what) is not JSON: \(error)"
        }
        guard case .object = value else {
            return "\(what) is JSON but not an object (a GitHub event is a JSON object)"
        }
        return nil
    }

    /// The percent-decoded value of `name` in a form body, `+` read as a space.
    static func formField(_ name: String, in body: String) -> String? {
        for pair in body.split(separator: "&", omittingEmptySubsequences: true) {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard parts.count == 2, parts[0] == name else { continue }
            return String(parts[1]).replacingOccurrences(of: "+", with: " ").removingPercentEncoding
        }
        return nil
    }
}

/// The GitHub delivery ids (`X-GitHub-Delivery`) this process has accepted,
/// the most recent `capacity` of them: a delivery seen again (GitHub's
/// redelivery keeps the id, and so does a replayed request) is answered
/// without a fetch. The header is not covered by the signature, so this
/// stops repeats, not a sender who changes the id: the most a signed body
/// replayed under a new id can do is trigger a fetch, which changes nothing
/// by itself.
public final class DeliveryLog: Sendable {
    public static let defaultCapacity = 10_000

    private struct State {
        var seen: Set<String> = []
        /// Insertion order, as a ring once full; `oldest` is the next to go.
        var order: [String] = []
        var oldest = 0
    }

    public let capacity: Int
    private let state = Mutex(State())

    public init(capacity: Int = DeliveryLog.defaultCapacity) {
        precondition(capacity > 0)
        self.capacity = capacity
    }

    /// Remembers `id`; false when it is already remembered.
    public func insert(_ id: String) -> Bool {
        state.withLock { s in
            guard !s.seen.contains(id) else { return false }
            s.seen.insert(id)
            if s.order.count < capacity {
                s.order.append(id)
            } else {
                s.seen.remove(s.order[s.oldest])
                s.order[s.oldest] = id
                s.oldest = (s.oldest + 1) % capacity
            }
            return true
        }
    }

    public var count: Int { state.withLock { $0.seen.count } }
}
