import AccordCore
import Foundation

/// One event as it goes into the outbox (SPEC §11): what happened, to
/// which object, at which revision, in words.
public struct OutboxEvent: Sendable, Hashable {
    public let event: NotificationEvent
    /// `Kind/name`, `Kind/tenant/name`, `Source/git`, or `Revision` for a pass's outcome.
    public let object: String
    public let kind: Kind?
    /// The tenant the object belongs to (a Tenant's own name).
    public let tenant: String?
    public let revision: String?
    public let message: String
    /// What else a receiver needs (an erasure's certificate and how to check it).
    public let detail: [String: JSONValue]

    public init(_ event: NotificationEvent, object: String, kind: Kind?, tenant: String?, revision: String?, message: String,
                detail: [String: JSONValue] = [:]) {
        self.event = event
        self.object = object
        self.kind = kind
        self.tenant = tenant
        self.revision = revision
        self.message = message
        self.detail = detail
    }

    /// An event about a managed object.
    public init(_ event: NotificationEvent, _ id: ObjectID, revision: String?, message: String, detail: [String: JSONValue] = [:]) {
        self.init(event, object: id.description, kind: id.kind, tenant: id.kind == .tenant ? id.name : id.tenant,
                  revision: revision, message: message, detail: detail)
    }

    /// The events of a recorded failure: stalled objects and failures the
    /// controller retries. An object waiting for another says nothing.
    public static func of(_ failure: ObjectFailure, revision: String?) -> OutboxEvent? {
        let event: NotificationEvent
        switch (failure.reason, failure.disposition) {
        case (.promotionBlocked, _): event = .promotionBlocked
        case (_, .stalled): event = .objectStalled
        case (_, .retry): event = .reconcileFailed
        case (_, .waiting): return nil
        }
        return OutboxEvent(event, failure.id, revision: revision, message: "\(failure.id): \(failure.reason.rawValue): \(failure.message)",
                           detail: ["reason": .string(failure.reason.rawValue)])
    }
}

/// The transactional outbox (SPEC §11). `emit` writes events in the
/// caller's transaction, one row for each notification whose filters
/// match; the sender in the controller reads what is due, delivers it and
/// records the outcome here. A row is keyed by (notification, object,
/// event, revision): the same event written again is dropped, and a row
/// marked sent is never sent again.
public enum Outbox {
    /// Writes the events for every matching notification, in the caller's
    /// transaction, in the order given (ids are assigned in that order). A `github` notification takes only a pass's outcome
    /// (`Apply…`), the others only what they subscribe to; a failure on a
    /// revision already reported as applied is not written.
    public static func emit(_ events: [OutboxEvent], _ session: Session) async throws {
        guard !events.isEmpty else { return }
        // No notification in the registry, as this transaction sees it: no
        // event has anywhere to go (one small query instead of the events'
        // JSON, built and parsed for nothing).
        guard try await session.scalar("SELECT (EXISTS (SELECT 1 FROM platform.notifications))::text") == "true" else { return }
        let rows = JSONValue.array(events.map { e in
            .object([
                "event": .string(e.event.rawValue), "object": .string(e.object), "kind": JSONValue(e.kind?.rawValue),
                "tenant": JSONValue(e.tenant), "revision": .string(e.revision ?? ""), "message": .string(e.message),
                "detail": .object(e.detail), "apply": .bool(e.event.isApply),
            ])
        })
        try await session.execute("""
            INSERT INTO accord.outbox (notification, event, object, kind, tenant, revision, message, detail)
            SELECT n.name, e.event, e.object, e.kind, e.tenant, e.revision, e.message, coalesce(e.detail, '{}')
            FROM ROWS FROM (json_to_recordset($1::json) AS (event text, object text, kind text, tenant text, revision text, message text,
                                                            detail jsonb, apply boolean))
                 WITH ORDINALITY AS e(event, object, kind, tenant, revision, message, detail, apply, ord)
            JOIN platform.notifications n ON CASE WHEN n.type = 'github' THEN e.apply ELSE NOT e.apply
                    AND (n.events IS NULL OR n.events ? e.event)
                    AND (n.tenants IS NULL OR n.tenants ? e.tenant)
                    AND (n.kinds IS NULL OR n.kinds ? e.kind) END
            WHERE NOT (e.event = 'ApplyFailed' AND EXISTS (
                SELECT 1 FROM accord.outbox o WHERE o.notification = n.name AND o.object = e.object
                                                AND o.revision = e.revision AND o.event = 'ApplySucceeded'))
            ORDER BY e.ord, n.name
            ON CONFLICT (notification, object, event, revision) DO NOTHING
            """, [rows.canonical])
    }

    /// Writes events in a transaction of their own (a change that is not a
    /// database write: a pass beginning, a refused commit).
    public static func emitAlone(_ events: [OutboxEvent], _ session: Session) async throws {
        guard !events.isEmpty else { return }
        try await session.transaction { try await emit(events, session) }
    }

    /// A notification as the sender needs it.
    public struct Target: Sendable, Hashable {
        public let name: String
        public let type: NotificationSpec.NotificationType
        public let address: String?
        public let secret: String?
        /// Why the receiver refused for good; nil when deliveries go on.
        public let stalled: String?
    }

    /// One undelivered event for one notification.
    public struct Delivery: Sendable, Hashable {
        public let id: Int64
        public let notification: String
        public let event: NotificationEvent
        public let object: String
        public let tenant: String?
        public let revision: String?
        public let message: String
        public let detail: JSONValue
        public let at: Date
        public let attempts: Int
    }

    /// Every notification, with whether it is stalled. A stall clears when
    /// the notification's row changed after it (its manifest was fixed).
    public static func targets(_ session: Session) async throws -> [Target] {
        try await session.execute("""
            WITH cleared AS (
                UPDATE accord.notification_status s SET stalled_reason = NULL, stalled_at = NULL
                FROM platform.notifications n WHERE n.name = s.name AND s.stalled_at IS NOT NULL AND n.updated_at > s.stalled_at
                RETURNING s.name)
            UPDATE accord.outbox o SET next_attempt_at = NULL FROM cleared WHERE o.notification = cleared.name AND o.sent_at IS NULL
            """)
        return try await session.rows("""
            SELECT n.name, n.type, n.address, n.secret, s.stalled_reason
            FROM platform.notifications n LEFT JOIN accord.notification_status s ON s.name = n.name
            ORDER BY n.name
            """).compactMap { row in
            let (name, type, address, secret, stalled) = try row.decode((String, String, String?, String?, String?).self)
            guard let type = NotificationSpec.NotificationType(rawValue: type) else { return nil }
            return Target(name: name, type: type, address: address, secret: secret, stalled: stalled)
        }
    }

    /// The oldest undelivered events of one notification, in the order they
    /// were written, if the first of them is due (else none): a receiver
    /// gets events in order, so one waiting for its retry holds back those
    /// after it.
    /// How many of a notification's events `due` reads at a time.
    public static let dueLimit = 100

    public static func due(_ notification: String, now: Date, limit: Int = dueLimit, _ session: Session) async throws -> [Delivery] {
        var out: [Delivery] = []
        for row in try await session.rows("""
            SELECT id, event, object, tenant, revision, message, detail::text, extract(epoch FROM created_at)::float8, attempts,
                   extract(epoch FROM next_attempt_at)::float8
            FROM accord.outbox WHERE notification = $1 AND sent_at IS NULL ORDER BY id LIMIT $2::int
            """, [notification, String(limit)]) {
            let (id, event, object, tenant, revision, message, detail, at, attempts, next) =
                try row.decode((Int64, String, String, String?, String, String, String, Double, Int, Double?).self)
            if out.isEmpty, let next, next > now.timeIntervalSince1970 { return [] }
            guard let event = NotificationEvent(rawValue: event) else { continue }
            out.append(Delivery(id: id, notification: notification, event: event, object: object, tenant: tenant,
                                revision: revision.isEmpty ? nil : revision, message: message,
                                detail: (try? JSONParser.parse(detail)) ?? .object([:]), at: Date(timeIntervalSince1970: at),
                                attempts: attempts))
        }
        return out
    }

    /// Marks an event delivered, in one transaction with the count.
    public static func markSent(_ d: Delivery, _ session: Session) async throws {
        try await session.transaction {
            try await session.execute("""
                UPDATE accord.outbox SET sent_at = now(), attempts = attempts + 1, next_attempt_at = NULL WHERE id = $1::bigint
                """, [String(d.id)])
            try await session.execute("""
                INSERT INTO accord.notification_status (name, sent, last_sent_at) VALUES ($1, 1, now())
                ON CONFLICT (name) DO UPDATE SET sent = accord.notification_status.sent + 1, last_sent_at = now()
                """, [d.notification])
        }
    }

    /// Records a failed attempt: the event waits until `retryAt`; with
    /// `stall`, the notification sends nothing more until its manifest changes.
    public static func markFailed(_ d: Delivery, error: String, retryAt: Date, stall: Bool, _ session: Session) async throws {
        try await session.transaction {
            try await session.execute("""
                UPDATE accord.outbox SET attempts = attempts + 1, last_error = $2, next_attempt_at = to_timestamp($3::float8)
                WHERE id = $1::bigint
                """, [String(d.id), error, String(retryAt.timeIntervalSince1970)])
            try await session.execute("""
                INSERT INTO accord.notification_status (name, failures, last_error, last_error_at, stalled_reason, stalled_at)
                VALUES ($1, 1, $2, now(), CASE WHEN $3::boolean THEN $2 END, CASE WHEN $3::boolean THEN now() END)
                ON CONFLICT (name) DO UPDATE SET failures = accord.notification_status.failures + 1, last_error = $2,
                    last_error_at = now(),
                    stalled_reason = CASE WHEN $3::boolean THEN $2 ELSE accord.notification_status.stalled_reason END,
                    stalled_at = CASE WHEN $3::boolean THEN now() ELSE accord.notification_status.stalled_at END
                """, [d.notification, error, stall ? "true" : "false"])
        }
    }

    /// Sent events older than this are forgotten (their key with them).
    public static let keepSent: TimeInterval = 30 * 86_400

    /// Forgets events delivered before `keepSent`; returns how many.
    @discardableResult
    public static func forgetSent(now: Date, _ session: Session) async throws -> Int {
        Int(try await session.scalar("""
            WITH gone AS (DELETE FROM accord.outbox WHERE sent_at < to_timestamp($1::float8) RETURNING 1) SELECT count(*)::text FROM gone
            """, [String(now.timeIntervalSince1970 - keepSent)]) ?? "0") ?? 0
    }

    /// What `accordctl status Notification/NAME` and `/metrics` show.
    public struct Report: Sendable, Hashable {
        public let name: String
        public let type: String
        public let sent: Int64
        public let failures: Int64
        public let pending: Int64
        public let lastSentAt: Date?
        public let lastError: String?
        public let lastErrorAt: Date?
        public let stalled: String?
        /// When the first waiting event is tried again.
        public let nextAttemptAt: Date?

        public init(name: String, type: String, sent: Int64, failures: Int64, pending: Int64, lastSentAt: Date?, lastError: String?,
                    lastErrorAt: Date?, stalled: String?, nextAttemptAt: Date?) {
            self.name = name
            self.type = type
            self.sent = sent
            self.failures = failures
            self.pending = pending
            self.lastSentAt = lastSentAt
            self.lastError = lastError
            self.lastErrorAt = lastErrorAt
            self.stalled = stalled
            self.nextAttemptAt = nextAttemptAt
        }
    }

    public static func reports(_ session: Session) async throws -> [Report] {
        try await session.rows("""
            SELECT n.name, n.type, coalesce(s.sent, 0), coalesce(s.failures, 0),
                   (SELECT count(*) FROM accord.outbox o WHERE o.notification = n.name AND o.sent_at IS NULL),
                   extract(epoch FROM s.last_sent_at)::float8, s.last_error, extract(epoch FROM s.last_error_at)::float8, s.stalled_reason,
                   (SELECT extract(epoch FROM o.next_attempt_at)::float8 FROM accord.outbox o
                    WHERE o.notification = n.name AND o.sent_at IS NULL ORDER BY o.id LIMIT 1)
            FROM platform.notifications n LEFT JOIN accord.notification_status s ON s.name = n.name
            ORDER BY n.name
            """).map { row in
            let (name, type, sent, failures, pending, lastSent, error, errorAt, stalled, next) =
                try row.decode((String, String, Int64, Int64, Int64, Double?, String?, Double?, String?, Double?).self)
            let date = { (v: Double?) in v.map { Date(timeIntervalSince1970: $0) } }
            return Report(name: name, type: type, sent: sent, failures: failures, pending: pending, lastSentAt: date(lastSent),
                          lastError: error, lastErrorAt: date(errorAt), stalled: stalled, nextAttemptAt: date(next))
        }
    }
}
