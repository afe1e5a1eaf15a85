import AccordCore
import Crypto
import Foundation
import NIOHTTP1

/// The `http` contract of SPEC §8, for services Accord cannot reach
/// directly (a vector database, a document store, a graph):
///
/// - `POST {endpoint}/erasures` with `{tenant, subject, resources,
///   requestId}`, answered `202`; then `GET {endpoint}/erasures/{requestId}`
///   until `{"status": "completed", "counts": {…}, "remaining": {…}}` or
///   `failed`. The same request id is sent again after any failure.
/// - `POST {endpoint}/retention` with `{tenant, resource, olderThan,
///   dryRun, requestId}`, then `GET {endpoint}/retention/{requestId}`.
/// - `GET {endpoint}/health`: `{"status": "ok", "resources": […]}`.
///
/// Every request is signed with the shared secret (the credentials file):
/// `X-Accord-Signature-256: sha256=<hex HMAC-SHA256>` of the body, or of
/// the request's whole path (the endpoint's own path included, no query)
/// for a `GET`.
public struct HTTPEraserConnector: StoreConnector {
    let access: StoreAccess
    let base: String
    /// The endpoint's own path (`/accord` of `https://svc/accord`): what a GET's signature covers starts with it.
    let basePath: String
    let key: SymmetricKey
    let resources: [String]

    public init(_ access: StoreAccess) throws {
        self.access = access
        var endpoint = access.spec.endpoint
        while endpoint.hasSuffix("/") { endpoint.removeLast() }
        base = endpoint
        let afterScheme = endpoint.split(separator: "://", maxSplits: 1).last.map(String.init) ?? ""
        basePath = afterScheme.firstIndex(of: "/").map { String(afterScheme[$0...]) } ?? ""
        guard let secret = access.secret, !secret.isEmpty else {
            throw access.failure(.unauthorized, "an http store needs a shared secret to sign its requests (spec.credentials)")
        }
        key = SymmetricKey(data: Array(secret.utf8))
        resources = access.spec.holds.compactMap { if case .resource(let r) = $0 { r } else { nil } }
    }

    public var countsBeforeDeleting: Bool { false }

    public func missingEntries() async throws -> [String] {
        let answer = try await get("/health")
        guard answer.status == 200, case .object(let body)? = try? JSONParser.parse(answer.text),
              case .array(let known)? = body["resources"] else { throw problem(answer, "GET /health") }
        let names = Set(known.compactMap(\.stringValue))
        return resources.filter { !names.contains($0) }
    }

    /// What the service reports remaining for the request (after it ran).
    public func count(_ scope: SubjectScope) async throws -> [String: Int] {
        let status = try await poll("/erasures/" + SigV4.uriEncode(scope.requestID))
        return status.remaining
    }

    public func delete(_ scope: SubjectScope) async throws -> [String: Int]? {
        let body: JSONValue = .object([
            "tenant": .string(scope.tenant), "subject": .string(scope.subject),
            "resources": JSONValue(strings: resources), "requestId": .string(scope.requestID),
        ])
        try await post("/erasures", body)
        return try await poll("/erasures/" + SigV4.uriEncode(scope.requestID)).counts
    }

    public func enforceRetention(tenant: String, entry: StoreSpec.Holding, olderThan cutoff: Date, dryRun: Bool,
                                 requestID: String) async throws -> Int {
        guard case .resource(let resource) = entry else { return 0 }
        let body: JSONValue = .object([
            "tenant": .string(tenant), "resource": .string(resource), "dryRun": .bool(dryRun), "requestId": .string(requestID),
            "olderThan": .string(Timestamp.rfc3339(epochSeconds: Int64(cutoff.timeIntervalSince1970))),
        ])
        try await post("/retention", body)
        return try await poll("/retention/" + SigV4.uriEncode(requestID)).counts[resource] ?? 0
    }

    struct Status {
        var counts: [String: Int] = [:]
        var remaining: [String: Int] = [:]
    }

    /// Asks until the job is completed or failed, within the Store's timeout.
    func poll(_ path: String) async throws -> Status {
        let deadline = ContinuousClock.now.advanced(by: access.timeout)
        while true {
            let answer = try await get(path)
            guard answer.status == 200, case .object(let body)? = try? JSONParser.parse(answer.text) else {
                throw problem(answer, "GET \(path)")
            }
            switch body["status"]?.stringValue {
            case "completed":
                return Status(counts: Self.numbers(body["counts"]), remaining: Self.numbers(body["remaining"]))
            case "failed":
                let why = body["error"]?.stringValue ?? "no reason given"
                throw access.failure(.failed, "the service reports the request failed: \(Text.escapingControls(String(why.prefix(300))))")
            default:
                guard ContinuousClock.now < deadline else {
                    throw access.failure(.timeout, "the request was not completed within \(access.spec.effectiveTimeout.text) (spec.timeout)")
                }
                try await Task.sleep(for: .milliseconds(100))
            }
        }
    }

    static func numbers(_ value: JSONValue?) -> [String: Int] {
        guard case .object(let fields)? = value else { return [:] }
        return fields.compactMapValues { $0.numberValue.map { Int($0) } }
    }

    func post(_ path: String, _ body: JSONValue) async throws {
        let bytes = Array(body.canonical.utf8)
        var headers: HTTPHeaders = ["Content-Type": "application/json"]
        headers.add(name: "X-Accord-Signature-256", value: signature(bytes))
        let answer = try await StoreHTTP.send(access, method: .POST, url: base + path, headers: headers, body: bytes)
        guard answer.status == 202 || answer.status == 200 else { throw problem(answer, "POST \(path)") }
    }

    func get(_ path: String) async throws -> StoreHTTP.Answer {
        var headers: HTTPHeaders = [:]
        headers.add(name: "X-Accord-Signature-256", value: signature(Array((basePath + path).utf8)))
        return try await StoreHTTP.send(access, method: .GET, url: base + path, headers: headers)
    }

    func signature(_ bytes: [UInt8]) -> String {
        "sha256=" + HMAC<SHA256>.authenticationCode(for: bytes, using: key).map { String(format: "%02x", $0) }.joined()
    }

    func problem(_ answer: StoreHTTP.Answer, _ what: String) -> StoreFailure {
        let kind: StoreFailure.Kind = answer.status == 401 || answer.status == 403 ? .unauthorized : .failed
        let detail = String(answer.text.prefix(200)).trimmingCharacters(in: .whitespacesAndNewlines)
        return access.failure(kind, "\(what): HTTP \(answer.status)\(detail.isEmpty ? "" : ": \(Text.escapingControls(detail))")")
    }
}
