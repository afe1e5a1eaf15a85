import AccordController
import AccordCore
import Foundation
import Hummingbird

/// `POST /hooks/git`: GitHub's `X-Hub-Signature-256` over the body, checked
/// in constant time. A good signature rings the controller's doorbell (an
/// immediate fetch) and answers 202; a wrong or missing one answers 401 and
/// nothing happens; a body over 1 MiB answers 413; without a configured
/// secret the endpoint answers 404.
enum Webhook {
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
        let signature = request.headers[HTTPFields.Element.Name(WebhookSignature.header)!]
        guard WebhookSignature.isValid(signature, body: Array(buffer: body), secret: secret) else {
            deps.logger.warning("webhook refused: wrong or missing signature", metadata: [
                "signature": "\(signature == nil ? "missing" : "wrong")"])
            return HTTPServer.json(.unauthorized, .object(["error": .string("wrong or missing \(WebhookSignature.header)")]))
        }
        let event = request.headers[HTTPFields.Element.Name("X-GitHub-Event")!] ?? "unknown"
        deps.doorbell.ring(.webhook)
        let role = await deps.state.current.role
        deps.logger.info("webhook accepted", metadata: ["event": "\(event)", "role": "\(role.rawValue)"])
        return HTTPServer.json(.accepted, .object(["queued": .bool(true), "role": .string(role.rawValue)]))
    }

    static func tooLarge() -> Response {
        HTTPServer.json(.contentTooLarge, .object(["error": .string("the body is larger than 1 MiB")]))
    }
}
