import AccordCore
import AccordEngine
import Foundation

/// One thing Accord did, as it goes into the audit log.
public struct AuditEntry: Sendable {
    public let action: String
    public let object: String?
    public let revision: String?
    public let detail: JSONValue
    /// What the entry tells notifications (SPEC §11): written to the outbox
    /// with the entry, in the transaction that makes the change.
    public let events: [OutboxEvent]

    public init(action: String, object: String?, revision: String?, detail: JSONValue = .object([:]), events: [OutboxEvent] = []) {
        self.action = action
        self.object = object
        self.revision = revision
        self.detail = detail
        self.events = events
    }
}

/// The append-only, hash-chained audit log. Entry `n` stores its body (the
/// canonical JSON of seq, time, actor, action, object, revision, detail),
/// the hash of entry `n-1`, and SHA-256(prev_hash ‖ "\n" ‖ body).
/// `accord.audit_head` holds the last seq and hash, written in the same
/// transaction, so entries cut from the end are detected too.
public struct AuditChain: Sendable {
    public static let genesis = String(repeating: "0", count: 64)

    public private(set) var seq: Int64
    public private(set) var hash: String
    let actor: String

    public static func load(_ session: Session, actor: String) async throws -> AuditChain {
        let row = try await session.rows("SELECT seq, hash FROM accord.audit_head").first
        let head = try row.map { try $0.decode((Int64, String).self) }
        return AuditChain(seq: head?.0 ?? 0, hash: head?.1 ?? genesis, actor: actor)
    }

    /// Entries sealed after a head, ready to be written.
    public struct Sealed: Sendable {
        let rows: CopyRows
        let count: Int
        let events: [OutboxEvent]
        public let head: (Int64, String)
    }

    /// Seals entries after the current head; the chain moves only when the
    /// caller's transaction commits (`advance(to:)`).
    public func seal(_ entries: [AuditEntry], at time: Date = Date()) -> Sealed {
        let at = Self.timestamp(time)
        var seq = self.seq
        var prev = hash
        var rows = CopyRows(capacity: entries.count * 600)
        for entry in entries {
            seq += 1
            let body = Self.body(seq: seq, at: at, actor: actor, entry)
            let hash = Self.hash(prev: prev, body: body)
            rows.text(String(seq))
            rows.text(at)
            rows.text(entry.action)
            rows.text(entry.object)
            rows.text(entry.revision)
            rows.text(body)
            rows.text(prev)
            rows.text(hash)
            rows.endRow()
            prev = hash
        }
        return Sealed(rows: rows, count: entries.count, events: entries.flatMap(\.events), head: (seq, prev))
    }

    public mutating func advance(to head: (Int64, String)) {
        seq = head.0
        hash = head.1
    }

    /// Appends sealed rows (by COPY), moves the head and writes the entries'
    /// events to the outbox; call inside the transaction that makes the change.
    public static func write(_ sealed: Sealed, _ session: Session) async throws {
        try await writeEntries(sealed, session)
        try await writeHead(sealed, session)
    }

    /// The sealed rows alone (`write` without the head and the events):
    /// a batch on the second connection writes them while the batch before
    /// it is still being written, and the rest once that one committed.
    static func writeEntries(_ sealed: Sealed, _ session: Session) async throws {
        guard sealed.count > 0 else { return }
        try await session.copy(into: "accord", "audit_log",
                               columns: ["seq", "at", "action", "object", "revision", "body", "prev_hash", "hash"], sealed.rows)
    }

    /// The head moved to the sealed entries' last, and their events in the outbox.
    static func writeHead(_ sealed: Sealed, _ session: Session) async throws {
        guard sealed.count > 0 else { return }
        try await session.execute("""
            INSERT INTO accord.audit_head (id, seq, hash) VALUES (true, $1::bigint, $2)
            ON CONFLICT (id) DO UPDATE SET seq = EXCLUDED.seq, hash = EXCLUDED.hash
            """, [String(sealed.head.0), sealed.head.1])
        try await Outbox.emit(sealed.events, session)
    }

    /// The sealed body: canonical JSON (keys in byte order) of the entry.
    static func body(seq: Int64, at: String, actor: String, _ entry: AuditEntry) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(256)
        out += #"{"action":"#.utf8
        JSONValue.writeString(entry.action, to: &out)
        out += #","actor":"#.utf8
        JSONValue.writeString(actor, to: &out)
        out += #","at":"#.utf8
        JSONValue.writeString(at, to: &out)
        out += #","detail":"#.utf8
        entry.detail.write(to: &out)
        out += #","object":"#.utf8
        JSONValue(entry.object).write(to: &out)
        out += #","revision":"#.utf8
        JSONValue(entry.revision).write(to: &out)
        out += #","seq":"#.utf8
        out += String(seq).utf8
        out.append(UInt8(ascii: "}"))
        return String(decoding: out, as: UTF8.self)
    }

    static func hash(prev: String, body: String) -> String {
        sha256Hex(joining: prev, "\n", body)
    }

    static func timestamp(_ date: Date) -> String {
        let millis = Int64((date.timeIntervalSince1970 * 1000).rounded(.down))
        let base = Timestamp.rfc3339(epochSeconds: millis / 1000)
        let ms = String(millis % 1000)
        return base.dropLast() + "." + String(repeating: "0", count: 3 - ms.count) + ms + "Z"
    }

    /// What `accordctl audit verify` reports.
    public struct Verification: Sendable {
        public let entries: Int
        public let problems: [String]
        public var isIntact: Bool { problems.isEmpty }
    }

    /// Recomputes every hash and checks the chain, the numbering and the head.
    public static func verify(_ session: Session) async throws -> Verification {
        let rows = try await session.rows("SELECT seq, action, object, body, prev_hash, hash FROM accord.audit_log ORDER BY seq")
        var problems: [String] = []
        var expectedSeq: Int64 = 1
        var prev = genesis
        for row in rows {
            let (seq, action, object, body, prevHash, hash) = try row.decode((Int64, String, String?, String, String, String).self)
            if seq != expectedSeq {
                problems.append(seq > expectedSeq
                    ? "entries \(expectedSeq)–\(seq - 1) are missing (deleted)"
                    : "entry \(seq) is out of order")
            }
            if prevHash != prev {
                problems.append("entry \(seq): its link to the previous entry is broken (an entry before it was edited or deleted)")
            }
            if hash != Self.hash(prev: prevHash, body: body) {
                problems.append("entry \(seq): its content does not match its hash (edited)")
            }
            if let parsed = try? JSONParser.parse(body) {
                if parsed["seq"]?.numberValue != Double(seq) || parsed["action"]?.stringValue != action
                    || parsed["object"] != JSONValue(object) {
                    problems.append("entry \(seq): its columns differ from its sealed body (edited)")
                }
            } else {
                problems.append("entry \(seq): its body is not valid JSON (edited)")
            }
            prev = hash
            expectedSeq = seq + 1
        }
        let head = try await session.rows("SELECT seq, hash FROM accord.audit_head").first.map { try $0.decode((Int64, String).self) }
        if let head {
            if head.0 != expectedSeq - 1 || head.1 != prev {
                problems.append("the log ends at entry \(expectedSeq - 1) but its head records entry \(head.0): entries were removed from the end or the head was altered")
            }
        } else if !rows.isEmpty {
            problems.append("the head record is missing")
        }
        return Verification(entries: rows.count, problems: problems)
    }
}

extension AuditChain {
    /// One entry as `accordctl audit log` shows it: its sealed body.
    public struct Recorded: Sendable {
        public let seq: Int64
        public let body: JSONValue

        public var at: String { body["at"]?.stringValue ?? "" }
        public var actor: String { body["actor"]?.stringValue ?? "" }
        public var action: String { body["action"]?.stringValue ?? "" }
        public var object: String? { body["object"]?.stringValue }
        public var revision: String? { body["revision"]?.stringValue }
        public var detail: JSONValue { body["detail"] ?? .null }
    }

    /// What to read: an object (`Tenant/acme`), every object of a tenant
    /// (`tenant`: its Tenant and the objects it holds), entries at or after
    /// `since`, of one `action`; newest first, at most `limit`.
    public struct Query: Sendable {
        public var object: String?
        public var tenant: String?
        public var since: Date?
        public var action: String?
        public var limit = 50

        public init(object: String? = nil, tenant: String? = nil, since: Date? = nil, action: String? = nil, limit: Int = 50) {
            self.object = object
            self.tenant = tenant
            self.since = since
            self.action = action
            self.limit = limit
        }
    }

    /// The entries the query selects, newest first (filtered in SQL).
    public static func entries(_ query: Query, _ session: Session) async throws -> [Recorded] {
        let rows = try await session.rows("""
            SELECT seq, body FROM accord.audit_log
            WHERE ($1::text IS NULL OR object = $1)
              AND ($2::text IS NULL OR object = 'Tenant/' || $2 OR object LIKE '%/' || $2 || '/%')
              AND ($3::float8 IS NULL OR at >= to_timestamp($3::float8))
              AND ($4::text IS NULL OR action = $4)
            ORDER BY seq DESC LIMIT $5::int
            """, [query.object, query.tenant, query.since.map { String($0.timeIntervalSince1970) }, query.action, String(query.limit)])
        return try rows.map { row in
            let (seq, body) = try row.decode((Int64, String).self)
            return Recorded(seq: seq, body: (try? JSONParser.parse(body)) ?? .object(["unreadable": .string(body)]))
        }
    }
}
