import AccordCore
import Foundation
import NIOHTTP1

/// ClickHouse over its HTTP interface (SPEC §8): a subject's rows are
/// counted, deleted with an `ALTER TABLE … DELETE WHERE` mutation, waited
/// for in `system.mutations`, and counted again. Values reach the SQL only
/// as escaped string literals and identifiers only backquoted (the
/// manifest's names are checked too); credentials go in a Basic
/// authorization header, never in the URL.
public struct ClickHouseConnector: StoreConnector {
    let access: StoreAccess
    let tables: [(table: String, subject: String, tenant: String, time: String)]
    let headers: HTTPHeaders

    public init(_ access: StoreAccess) throws {
        self.access = access
        tables = access.spec.holds.compactMap {
            guard case .table(let table, let subject, let tenant, let time) = $0 else { return nil }
            return (table, subject, tenant, time)
        }
        var headers: HTTPHeaders = ["Content-Type": "text/plain; charset=utf-8"]
        if let (user, password) = access.userAndPassword(defaultUser: "default") {
            headers.add(name: "Authorization", value: "Basic " + Data("\(user):\(password)".utf8).base64EncodedString())
        }
        self.headers = headers
    }

    public var countsBeforeDeleting: Bool { true }

    public func missingEntries() async throws -> [String] {
        var missing: [String] = []
        for t in tables {
            let (database, name) = Self.split(t.table)
            let found = try await scalar("SELECT count() FROM system.tables WHERE database = \(database.map(Self.literal) ?? "currentDatabase()") AND name = \(Self.literal(name))")
            if found == 0 { missing.append(t.table) }
        }
        return missing
    }

    public func count(_ scope: SubjectScope) async throws -> [String: Int] {
        var out: [String: Int] = [:]
        for t in tables {
            out[t.table] = try await scalar("SELECT count() FROM \(Self.identifier(t.table)) WHERE \(Self.subjectCondition(t, scope))")
        }
        return out
    }

    public func delete(_ scope: SubjectScope) async throws -> [String: Int]? {
        for t in tables {
            try await run("ALTER TABLE \(Self.identifier(t.table)) DELETE WHERE \(Self.subjectCondition(t, scope))")
            try await waitForMutations(t.table)
        }
        return nil
    }

    public func enforceRetention(tenant: String, entry: StoreSpec.Holding, olderThan cutoff: Date, dryRun: Bool,
                                 requestID: String) async throws -> Int {
        guard case .table(let table, _, let tenantField, let time) = entry else { return 0 }
        let condition = "\(Self.identifier(tenantField)) = \(Self.literal(tenant)) AND \(Self.identifier(time)) < toDateTime(\(Int64(cutoff.timeIntervalSince1970)))"
        let n = try await scalar("SELECT count() FROM \(Self.identifier(table)) WHERE \(condition)")
        if !dryRun, n > 0 {
            try await run("ALTER TABLE \(Self.identifier(table)) DELETE WHERE \(condition)")
            try await waitForMutations(table)
        }
        return n
    }

    /// Polls `system.mutations` until the table has none left to do, within the Store's timeout.
    func waitForMutations(_ table: String) async throws {
        let (database, name) = Self.split(table)
        let query = "SELECT count() FROM system.mutations WHERE database = \(database.map(Self.literal) ?? "currentDatabase()") AND table = \(Self.literal(name)) AND is_done = 0"
        let deadline = ContinuousClock.now.advanced(by: access.timeout)
        while try await scalar(query) > 0 {
            guard ContinuousClock.now < deadline else {
                throw access.failure(.timeout, "the delete of \(table) was still running after \(access.spec.effectiveTimeout.text) (spec.timeout)")
            }
            try await Task.sleep(for: .milliseconds(100))
        }
    }

    static func subjectCondition(_ t: (table: String, subject: String, tenant: String, time: String), _ scope: SubjectScope) -> String {
        "\(identifier(t.tenant)) = \(literal(scope.tenant)) AND \(identifier(t.subject)) = \(literal(scope.subject))"
    }

    func scalar(_ query: String) async throws -> Int {
        let text = try await run(query).trimmingCharacters(in: .whitespacesAndNewlines)
        guard let n = Int(text) else { throw access.failure(.failed, "expected a number, got \(Text.quoted(text, limit: 80))") }
        return n
    }

    @discardableResult
    func run(_ query: String) async throws -> String {
        let base = access.spec.endpoint.hasSuffix("/") ? access.spec.endpoint : access.spec.endpoint + "/"
        let answer = try await StoreHTTP.send(access, method: .POST, url: base, headers: headers, body: Array(query.utf8))
        switch answer.status {
        case 200: return answer.text
        case 401, 403: throw access.failure(.unauthorized, "the credentials were refused (HTTP \(answer.status))")
        default:
            // ClickHouse says "Code: 516, e.displayText() = DB::Exception: …": the first line is enough.
            let line = answer.text.split(separator: "\n").first.map(String.init) ?? ""
            if line.contains("Code: 516") || line.contains("Code: 192") || line.contains("Code: 193") {
                throw access.failure(.unauthorized, "the credentials were refused: \(Text.escapingControls(String(line.prefix(300))))")
            }
            throw access.failure(.failed, "HTTP \(answer.status): \(Text.escapingControls(String(line.prefix(300))))")
        }
    }

    /// `db.table` as database and table.
    static func split(_ table: String) -> (String?, String) {
        let parts = table.split(separator: ".", maxSplits: 1).map(String.init)
        return parts.count == 2 ? (parts[0], parts[1]) : (nil, table)
    }

    /// A string literal: quoted, with `\` and `'` escaped and control characters written as escapes.
    static func literal(_ value: String) -> String {
        var out = "'"
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\\": out += "\\\\"
            case "'": out += "\\'"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\0": out += "\\0"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F {
                    out += String(format: "\\x%02X", scalar.value)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "'"
    }

    /// An identifier (`db.table` as two), backquoted with `` ` `` and `\` escaped.
    static func identifier(_ name: String) -> String {
        name.split(separator: ".", omittingEmptySubsequences: false).map { part in
            "`" + part.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "`", with: "\\`") + "`"
        }.joined(separator: ".")
    }
}
