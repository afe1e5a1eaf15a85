import AccordCore
import Foundation
import NIOCore
import NIOPosix

/// Redis over RESP (SPEC §8): a subject's keys are found with `SCAN …
/// MATCH` (the key pattern with `{tenant}` and `{subject}` filled in,
/// glob-escaped), removed with `UNLINK` in batches, and found again to
/// verify. Retention removes a tenant's keys idle for longer than the
/// rule's age (`OBJECT IDLETIME`). Each operation runs on a connection of
/// its own, authenticated (`AUTH`) and on the endpoint's database
/// (`SELECT`), within the Store's timeout.
public struct RedisConnector: StoreConnector {
    let access: StoreAccess
    let host: String
    let port: Int
    let database: Int
    let patterns: [String]

    /// Keys per `SCAN` step and per `UNLINK`.
    static let batch = 1_000

    public init(_ access: StoreAccess) throws {
        self.access = access
        let rest = access.spec.endpoint.split(separator: "://", maxSplits: 1).last.map(String.init) ?? ""
        let authority = rest.prefix { $0 != "/" }
        guard let (host, port) = Self.hostAndPort(String(authority)) else {
            throw access.failure(.failed, "the endpoint has no host")
        }
        self.host = host
        self.port = port ?? 6379
        database = Int(rest.dropFirst(authority.count).dropFirst()) ?? 0
        patterns = access.spec.holds.compactMap { if case .keys(let p) = $0 { p } else { nil } }
    }

    public var countsBeforeDeleting: Bool { true }

    public func missingEntries() async throws -> [String] {
        try await session { redis in
            let pong = try await redis.call(["PING"])
            guard pong == .simple("PONG") else { throw access.failure(.failed, "PING answered \(pong)") }
            return []
        }
    }

    public func count(_ scope: SubjectScope) async throws -> [String: Int] {
        let patterns = self.patterns
        return try await session { redis in
            var out: [String: Int] = [:]
            for p in patterns {
                var n = 0, cursor = "0"
                repeat {
                    let page = try await redis.scanPage(cursor, match: Self.match(p, scope))
                    n += page.keys.count
                    cursor = page.next
                } while cursor != "0"
                out[p] = n
            }
            return out
        }
    }

    public func delete(_ scope: SubjectScope) async throws -> [String: Int]? {
        let patterns = self.patterns
        return try await session { redis in
            for p in patterns {
                var pending: [String] = [], cursor = "0"
                repeat {
                    let page = try await redis.scanPage(cursor, match: Self.match(p, scope))
                    pending += page.keys
                    cursor = page.next
                    while pending.count >= Self.batch || (cursor == "0" && !pending.isEmpty) {
                        let chunk = Array(pending.prefix(Self.batch))
                        try await redis.unlink(chunk)
                        pending.removeFirst(chunk.count)
                    }
                } while cursor != "0"
            }
            return nil
        }
    }

    public func enforceRetention(tenant: String, entry: StoreSpec.Holding, olderThan cutoff: Date, dryRun: Bool,
                                 requestID: String) async throws -> Int {
        guard case .keys(let pattern) = entry else { return 0 }
        let maxIdle = max(0, Int(Date().timeIntervalSince(cutoff)))
        // Every key of the tenant: the tenant escaped, any subject.
        let tenantMatch = Placeholders.fill(pattern, tenant: RESP.globEscaped(tenant), subject: "*")
        return try await session { redis in
            var old: [String] = [], cursor = "0"
            repeat {
                let page = try await redis.scanPage(cursor, match: tenantMatch)
                for key in page.keys {
                    if case .integer(let idle) = try await redis.call(["OBJECT", "IDLETIME", key]), idle > maxIdle { old.append(key) }
                }
                cursor = page.next
            } while cursor != "0"
            if !dryRun {
                for chunk in stride(from: 0, to: old.count, by: Self.batch) {
                    try await redis.unlink(Array(old[chunk..<min(chunk + Self.batch, old.count)]))
                }
            }
            return old.count
        }
    }

    /// The pattern for one subject: the values glob-escaped, so they match only themselves.
    static func match(_ pattern: String, _ scope: SubjectScope) -> String {
        Placeholders.fill(pattern, tenant: scope.tenant, subject: scope.subject, escape: RESP.globEscaped)
    }

    /// Runs `body` on a new authenticated connection, within the Store's timeout.
    func session<T: Sendable>(_ body: @escaping @Sendable (RedisSession) async throws -> T) async throws -> T {
        let access = self.access, host = self.host, port = self.port, database = self.database
        return try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask {
                let channel: NIOAsyncChannel<ByteBuffer, ByteBuffer>
                do {
                    channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                        .connectTimeout(.seconds(access.timeout.components.seconds))
                        .connect(host: host, port: port) { channel in
                            channel.eventLoop.makeCompletedFuture {
                                try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                            }
                        }
                } catch {
                    throw access.failure(.unreachable, "cannot connect to \(host):\(port): \(error)")
                }
                return try await channel.executeThenClose { inbound, outbound in
                    let redis = RedisSession(access: access, inbound: inbound, outbound: outbound)
                    if let (user, password) = access.userAndPassword(defaultUser: "default") {
                        let args = access.secret?.contains(":") == true ? ["AUTH", user, password] : ["AUTH", password]
                        let reply = try await redis.call(args)
                        if case .error = reply { throw access.failure(.unauthorized, "the credentials were refused") }
                    }
                    if database != 0 { _ = try await redis.call(["SELECT", String(database)]) }
                    return try await body(redis)
                }
            }
            group.addTask {
                try await Task.sleep(for: access.timeout)
                return nil
            }
            defer { group.cancelAll() }
            guard let first = try await group.next(), let value = first else {
                throw access.failure(.timeout, "no answer within \(access.spec.effectiveTimeout.text) (spec.timeout)")
            }
            return value
        }
    }

    static func hostAndPort(_ authority: String) -> (String, Int?)? {
        if authority.hasPrefix("["), let close = authority.firstIndex(of: "]") {
            let host = String(authority[authority.index(after: authority.startIndex)..<close])
            let rest = authority[authority.index(after: close)...]
            return (host, rest.hasPrefix(":") ? Int(rest.dropFirst()) : nil)
        }
        let parts = authority.split(separator: ":", maxSplits: 1).map(String.init)
        guard let host = parts.first, !host.isEmpty else { return nil }
        return (host, parts.count == 2 ? Int(parts[1]) : nil)
    }
}

/// One connection's commands and replies, in order; used by the one task
/// that opened the connection.
final class RedisSession {
    let access: StoreAccess
    var iterator: NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator
    let outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>
    var buffer: [UInt8] = []

    init(access: StoreAccess, inbound: NIOAsyncChannelInboundStream<ByteBuffer>, outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>) {
        self.access = access
        iterator = inbound.makeAsyncIterator()
        self.outbound = outbound
    }

    func call(_ arguments: [String]) async throws -> RESP.Value {
        try await outbound.write(ByteBuffer(bytes: RESP.command(arguments)))
        while true {
            do {
                if let (value, next) = try RESP.parse(buffer) {
                    buffer.removeFirst(next)
                    return value
                }
            } catch {
                throw access.failure(.failed, "a reply that is not RESP: \(error)")
            }
            guard let more = try await iterator.next() else {
                throw access.failure(.unreachable, "the connection was closed before the answer")
            }
            buffer += more.readableBytesView
        }
    }

    /// One `SCAN` step: the keys matching `match` and the next cursor ("0" at the end).
    func scanPage(_ cursor: String, match: String) async throws -> (keys: [String], next: String) {
        let reply = try await call(["SCAN", cursor, "MATCH", match, "COUNT", String(RedisConnector.batch)])
        guard case .array(let parts?) = reply, parts.count == 2, let next = parts[0].text, case .array(let keys?) = parts[1] else {
            if case .error(let message) = reply { throw access.failure(.failed, "SCAN: \(Text.escapingControls(message))") }
            throw access.failure(.failed, "SCAN answered \(reply)")
        }
        return (keys.compactMap(\.text), next)
    }

    func unlink(_ keys: [String]) async throws {
        guard !keys.isEmpty else { return }
        let reply = try await call(["UNLINK"] + keys)
        if case .error(let message) = reply { throw access.failure(.failed, "UNLINK: \(Text.escapingControls(message))") }
    }
}
