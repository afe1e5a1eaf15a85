import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix

/// HTTP for the connectors that speak it (ClickHouse's HTTP interface, S3's
/// REST API, the `http` contract): one client for the process, which never
/// follows a redirect (a signed request must not go elsewhere), every call
/// bounded by the Store's timeout, every failure named without credentials.
/// A connection that cannot be made fails the call at once (no retrying
/// until the deadline): the store's job is retried with its own backoff,
/// and a store that is down must not cost each call its whole timeout.
enum StoreHTTP {
    static let client: HTTPClient = {
        var configuration = HTTPClient.Configuration(redirectConfiguration: .disallow, decompression: .disabled)
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.timeout.connect = .seconds(5)
        return HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
    }()

    struct Answer: Sendable {
        let status: Int
        let headers: HTTPHeaders
        let body: [UInt8]
        var text: String { String(decoding: body, as: UTF8.self) }
    }

    /// Answers larger than this are refused (a listing page of 1,000 keys is far smaller).
    static let maxBody = 32 * 1024 * 1024

    static func send(_ access: StoreAccess, method: HTTPMethod, url: String, headers: HTTPHeaders = [:],
                     body: [UInt8]? = nil) async throws -> Answer {
        var request = HTTPClientRequest(url: url)
        request.method = method
        request.headers = headers
        if let body { request.body = .bytes(ByteBuffer(bytes: body)) }
        let seconds = access.timeout.components.seconds
        do {
            do {
                return try await exchange(request, seconds: seconds)
            } catch let error where isStaleConnection(error) {
                // A pooled connection the server had already closed (ClickHouse closes idle
                // ones after its keep-alive timeout): sent again once, on a new connection.
                // Every call the connectors make is idempotent (counts, listings, deletes of
                // what matches, the http contract's request ids).
                return try await exchange(request, seconds: seconds)
            }
        } catch let error as HTTPClientError {
            switch error {
            case .deadlineExceeded, .readTimeout, .connectTimeout, .writeTimeout:
                throw access.failure(.timeout, "no answer within \(seconds)s (spec.timeout)")
            case .remoteConnectionClosed:
                throw access.failure(.unreachable, "the connection was closed before the answer")
            default:
                throw access.failure(.unreachable, String(describing: error))
            }
        } catch let error as NIOConnectionError {
            throw access.failure(.unreachable, "cannot connect: \(error.connectionErrors.first.map { String(describing: $0.error) } ?? String(describing: error))")
        } catch let error as ChannelError {
            throw access.failure(.unreachable, String(describing: error))
        } catch let error as StoreFailure {
            throw error
        } catch {
            throw access.failure(.unreachable, String(describing: error))
        }
    }

    private static func exchange(_ request: HTTPClientRequest, seconds: Int64) async throws -> Answer {
        let response = try await client.execute(request, timeout: .seconds(seconds))
        let buffer = try await response.body.collect(upTo: maxBody)
        return Answer(status: Int(response.status.code), headers: response.headers, body: Array(buffer.readableBytesView))
    }

    /// The connection was gone before anything was answered on it.
    static func isStaleConnection(_ error: any Error) -> Bool {
        if let channel = error as? ChannelError, channel == .ioOnClosedChannel { return true }
        if let http = error as? HTTPClientError, http == .remoteConnectionClosed { return true }
        return false
    }
}
