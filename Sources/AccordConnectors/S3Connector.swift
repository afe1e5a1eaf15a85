import AccordCore
import Crypto
import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import NIOHTTP1

/// S3 over its REST API with Signature Version 4 and path-style addressing
/// (SPEC §8), so it works unchanged against AWS, MinIO and other
/// S3-compatible servers: a subject's objects are listed under the prefix
/// (`ListObjectsV2`, with `{tenant}` and `{subject}` filled in), deleted
/// with `DeleteObjects` 1,000 keys at a time, and listed again to verify.
/// Retention deletes a tenant's objects last modified before the cutoff.
public struct S3Connector: StoreConnector {
    let access: StoreAccess
    let base: String
    let host: String
    let signer: SigV4
    let entries: [(bucket: String, prefix: String)]

    /// Keys per `DeleteObjects` request (S3's limit).
    static let deleteBatch = 1_000

    public init(_ access: StoreAccess) throws {
        self.access = access
        var endpoint = access.spec.endpoint
        while endpoint.hasSuffix("/") { endpoint.removeLast() }
        base = endpoint
        host = String(endpoint.split(separator: "://", maxSplits: 1).last ?? "")
        guard let secret = access.secret, let colon = secret.firstIndex(of: ":") else {
            throw access.failure(.unauthorized, "an s3 store needs credentials ACCESS_KEY_ID:SECRET_ACCESS_KEY (spec.credentials)")
        }
        signer = SigV4(accessKey: String(secret[..<colon]), secretKey: String(secret[secret.index(after: colon)...]),
                       region: access.spec.s3Region ?? StoreSpec.defaultS3Region)
        entries = access.spec.holds.compactMap { if case .objects(let b, let p) = $0 { (b, p) } else { nil } }
    }

    public var countsBeforeDeleting: Bool { true }

    public func missingEntries() async throws -> [String] {
        var missing: [String] = []
        for e in entries {
            let answer = try await request("HEAD", bucket: e.bucket)
            switch answer.status {
            case 200: continue
            case 404: missing.append(e.bucket)
            default: throw problem(answer, "HeadBucket \(e.bucket)")
            }
        }
        return missing
    }

    public func count(_ scope: SubjectScope) async throws -> [String: Int] {
        var out: [String: Int] = [:]
        for e in entries {
            var n = 0
            try await list(e.bucket, prefix: Placeholders.fill(e.prefix, tenant: scope.tenant, subject: scope.subject)) { n += $0.count }
            out[e.bucket] = n
        }
        return out
    }

    public func delete(_ scope: SubjectScope) async throws -> [String: Int]? {
        for e in entries {
            try await list(e.bucket, prefix: Placeholders.fill(e.prefix, tenant: scope.tenant, subject: scope.subject)) { page in
                try await deleteObjects(e.bucket, page.map(\.key))
            }
        }
        return nil
    }

    public func enforceRetention(tenant: String, entry: StoreSpec.Holding, olderThan cutoff: Date, dryRun: Bool,
                                 requestID: String) async throws -> Int {
        guard case .objects(let bucket, let prefix) = entry else { return 0 }
        var n = 0
        try await list(bucket, prefix: Placeholders.tenantPart(prefix, tenant: tenant)) { page in
            let old = page.filter { $0.modified.map { $0 < cutoff } ?? false }.map(\.key)
            n += old.count
            if !dryRun { try await deleteObjects(bucket, old) }
        }
        return n
    }

    struct Object: Sendable {
        let key: String
        let modified: Date?
    }

    /// Every object under `prefix`, a page (up to 1,000) at a time.
    func list(_ bucket: String, prefix: String, _ page: ([Object]) async throws -> Void) async throws {
        var token: String?
        repeat {
            var query = [("list-type", "2"), ("prefix", prefix), ("max-keys", "1000")]
            if let token { query.append(("continuation-token", token)) }
            let answer = try await request("GET", bucket: bucket, query: query)
            guard answer.status == 200 else { throw problem(answer, "ListObjectsV2 \(bucket)") }
            let result = try ListResult.parse(answer.body, access)
            try await page(result.objects)
            token = result.truncated ? result.nextToken : nil
            if result.truncated, token == nil { throw access.failure(.failed, "a truncated listing without a continuation token") }
        } while token != nil
    }

    func deleteObjects(_ bucket: String, _ keys: [String]) async throws {
        for start in stride(from: 0, to: keys.count, by: Self.deleteBatch) {
            let chunk = keys[start..<min(start + Self.deleteBatch, keys.count)]
            var xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Delete xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Quiet>true</Quiet>"
            for key in chunk { xml += "<Object><Key>\(Self.xmlEscaped(key))</Key></Object>" }
            xml += "</Delete>"
            let body = Array(xml.utf8)
            let md5 = Data(Insecure.MD5.hash(data: body)).base64EncodedString()
            let answer = try await request("POST", bucket: bucket, query: [("delete", "")], headers: [("Content-MD5", md5), ("Content-Type", "application/xml")], body: body)
            guard answer.status == 200 else { throw problem(answer, "DeleteObjects \(bucket)") }
            let errors = try ListResult.deleteErrors(answer.body, access)
            if let first = errors.first {
                throw access.failure(.failed, "DeleteObjects \(bucket): \(errors.count) keys not deleted, the first: \(first)")
            }
        }
    }

    func request(_ method: String, bucket: String, key: String? = nil, query: [(String, String)] = [], headers: [(String, String)] = [],
                 body: [UInt8] = []) async throws -> StoreHTTP.Answer {
        let path = "/" + SigV4.uriEncode(bucket) + (key.map { "/" + SigV4.uriEncode($0, keepSlash: true) } ?? "")
        let signed = signer.sign(.init(method: method, host: host, path: path, query: query, headers: headers, payload: body), at: Date())
        var all = HTTPHeaders()
        for (name, value) in headers + signed { all.add(name: name, value: value) }
        let queryText = SigV4.canonicalQuery(query)
        let url = base + path + (queryText.isEmpty ? "" : "?" + queryText)
        return try await StoreHTTP.send(access, method: HTTPMethod(rawValue: method), url: url, headers: all,
                                        body: body.isEmpty && method != "POST" && method != "PUT" ? nil : body)
    }

    func problem(_ answer: StoreHTTP.Answer, _ what: String) -> StoreFailure {
        let code = ListResult.errorCode(answer.body) ?? ""
        let kind: StoreFailure.Kind = answer.status == 403 || code == "InvalidAccessKeyId" || code == "SignatureDoesNotMatch" ? .unauthorized : .failed
        return access.failure(kind, "\(what): HTTP \(answer.status)\(code.isEmpty ? "" : " \(code)")")
    }

    static func xmlEscaped(_ s: String) -> String {
        var out = ""
        for c in s.unicodeScalars {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            default:
                if c.value < 0x20, c != "\t", c != "\n", c != "\r" { out += "&#x\(String(c.value, radix: 16));" } else { out.unicodeScalars.append(c) }
            }
        }
        return out
    }
}

/// What S3's XML answers say: a listing page, the keys a delete could not
/// remove, an error's code.
final class ListResult: NSObject, XMLParserDelegate {
    var objects: [S3Connector.Object] = []
    var truncated = false
    var nextToken: String?
    var errors: [String] = []
    var code: String?

    private var path: [String] = []
    private var text = ""
    private var key = ""
    private var modified: Date?

    static func parse(_ body: [UInt8], _ access: StoreAccess) throws -> ListResult {
        let result = ListResult()
        let parser = XMLParser(data: Data(body))
        parser.delegate = result
        guard parser.parse() else { throw access.failure(.failed, "an answer that is not S3's XML") }
        return result
    }

    static func deleteErrors(_ body: [UInt8], _ access: StoreAccess) throws -> [String] {
        try parse(body, access).errors
    }

    static func errorCode(_ body: [UInt8]) -> String? {
        let result = ListResult()
        let parser = XMLParser(data: Data(body))
        parser.delegate = result
        return parser.parse() ? result.code : nil
    }

    func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
                attributes: [String: String] = [:]) {
        path.append(name)
        text = ""
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) { text += string }

    func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
        let parent = path.count >= 2 ? path[path.count - 2] : ""
        switch (parent, name) {
        case ("Contents", "Key"): key = text
        case ("Contents", "LastModified"): modified = Self.date(text)
        case (_, "Contents"):
            objects.append(.init(key: key, modified: modified))
            key = ""
            modified = nil
        case ("ListBucketResult", "IsTruncated"): truncated = text == "true"
        case ("ListBucketResult", "NextContinuationToken"): nextToken = text
        case ("Error", "Key"): errors.append(text)
        case ("Error", "Code") where path.count == 2: code = text
        default: break
        }
        path.removeLast()
    }

    /// `2026-11-20T10:00:00.000Z`.
    static func date(_ text: String) -> Date? {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let d = f.date(from: text) { return d }
        f.formatOptions = [.withInternetDateTime]
        return f.date(from: text)
    }
}
