import AccordCore
import AccordEngine
import Foundation
import PostgresNIO

/// One object's status (SPEC §3): what Accord's tables record about it
/// (`facts`), its conditions and message as `ObjectConditions` makes them
/// from those facts, and what the platform runs now (`live`).
public struct ObjectStatus: Sendable {
    public let kind: String
    public let tenant: String?
    public let name: String
    public let generation: Int
    public let observedGeneration: Int
    public let lastAppliedRevision: String?
    public let lastAttemptedRevision: String?
    public let sourcePath: String?
    /// The database that holds the object's data, as the inventory
    /// records it with a regions file (a tenant's region, or `control`);
    /// nil without one.
    public var database: String? = nil
    public var facts: ObjectFacts
    /// When the conditions are judged (an erasure's SLA stage).
    public let now: Date
    /// What the platform runs now: the object's live registry row (for a
    /// tenant its plan, isolation, stores, SSO and GDPR settings, status;
    /// for a worker its model version, replicas, status), and for a tenant
    /// its active data key's id, version and dates — never the key.
    public var live: [String: JSONValue] = [:]

    public var id: String {
        ObjectID(kind: Kind(rawValue: kind) ?? .tenant, tenant: tenant, name: name).description
    }

    public var status: ObjectConditions.Status { ObjectConditions.evaluate(facts, now: now) }
    public var conditions: [Condition] { status.conditions }
    public var message: String { status.message }
    public var ready: Bool { status.ready }
    public var stalled: Bool { status.stalled }
    /// When the daemon tries a failed (not stalled) object again.
    public var nextAttemptAt: Date? { facts.failure?.nextAttemptAt }

    /// Every object Accord manages or failed to apply, sorted by identity;
    /// `filter` keeps one kind, or one object.
    /// The objects, all or of one `kind`, one `tenant` (the objects it
    /// holds, and the Tenant itself), or one `id`.
    public static func read(_ session: Session, kind: Kind? = nil, tenant: String? = nil, id: ObjectID? = nil,
                            now: Date = Date()) async throws -> [ObjectStatus] {
        let lastAttempted = try await History.lastRevision(session)?.revision
        let orphans = try await orphaned(session)
        let rows = try await session.rows("""
            SELECT coalesce(i.kind, s.kind), coalesce(i.tenant, s.tenant), coalesce(i.name, s.name),
                   i.generation, i.observed_generation, i.applied_revision, i.source_path, i.retained_at IS NOT NULL,
                   s.reason, s.message, s.stalled, s.revision, extract(epoch FROM s.next_attempt_at)::float8, i.database
            FROM accord.inventory i
            FULL JOIN accord.object_status s ON s.kind = i.kind AND s.tenant = i.tenant AND s.name = i.name
            WHERE ($1::text IS NULL OR coalesce(i.kind, s.kind) = $1)
              AND ($2::text IS NULL OR coalesce(i.tenant, s.tenant) = $2)
              AND ($3::text IS NULL OR coalesce(i.name, s.name) = $3)
              AND ($4::text IS NULL OR coalesce(i.tenant, s.tenant) = $4
                   OR (coalesce(i.kind, s.kind) = 'Tenant' AND coalesce(i.name, s.name) = $4))
            """, [kind?.rawValue ?? id?.kind.rawValue, id.map { $0.tenant ?? "" }, id?.name, tenant])
        var out = try decode(rows, orphans: orphans, lastAttempted: lastAttempted, now: now)
        try await attachLive(&out, session, kind: kind, id: id)
        try await attachObserved(&out, session, id: id)
        return out.sorted { $0.objectID < $1.objectID }
    }

    /// What other tables observe about the statuses' objects of some kinds:
    /// an erasure's run, a store's health, a notification's deliveries.
    static func attachObserved(_ statuses: inout [ObjectStatus], _ session: Session, id: ObjectID?) async throws {
        let kinds = Set(statuses.map(\.kind))
        if kinds.contains(Kind.erasure.rawValue) { try await attachErasures(&statuses, session, id: id) }
        if kinds.contains(Kind.store.rawValue) { try await attachStores(&statuses, session) }
        if kinds.contains(Kind.notification.rawValue) { try await attachNotifications(&statuses, session) }
    }

    /// A Notification's deliveries: sent, failed attempts, waiting, the
    /// last error; one that fails is not Ready, one its receiver refused is Stalled.
    static func attachNotifications(_ statuses: inout [ObjectStatus], _ session: Session) async throws {
        let reports = Dictionary(try await Outbox.reports(session).map { ($0.name, $0) }) { a, _ in a }
        for i in statuses.indices where statuses[i].kind == Kind.notification.rawValue {
            guard let r = reports[statuses[i].name] else { continue }
            statuses[i].live["deliveries"] = .object([
                "sent": JSONValue(Int(r.sent)), "failures": JSONValue(Int(r.failures)), "pending": JSONValue(Int(r.pending)),
                "lastSentAt": time(r.lastSentAt), "lastError": JSONValue(r.lastError), "lastErrorAt": time(r.lastErrorAt),
                "nextAttemptAt": time(r.nextAttemptAt), "stalled": JSONValue(r.stalled),
            ].filter { $0.value != .null })
            if let refused = r.stalled {
                statuses[i].facts.delivery = (refused, nil, true)
            } else if r.pending > 0, let next = r.nextAttemptAt, let error = r.lastError {
                statuses[i].facts.delivery = (error, next, false)
            }
        }
    }

    /// Objects the last complete pass found removed from git and kept (no prune).
    static func orphaned(_ session: Session) async throws -> Set<String> {
        guard let text = try await session.rows("SELECT orphaned::text FROM accord.sync_state").first.map({ try $0.decode(String.self) }),
              case .array(let items)? = try? JSONParser.parse(text) else { return [] }
        return Set(items.compactMap(\.stringValue))
    }

    /// Which objects a page lists by their recorded failure.
    public enum ConditionFilter: String, Sendable, CaseIterable {
        /// No failure recorded.
        case ready
        /// A failure recorded, stalled or retried.
        case notReady = "not-ready"
        /// A failure that needs a change.
        case stalled
    }

    /// One page of objects (the status page): of one `kind`, one `tenant`,
    /// one `condition`, after `after` in (kind, tenant, name) order, at
    /// most `limit`; read by the keys' index, never every object. `next`
    /// is the cursor of the page after it, nil at the end; `total` counts
    /// every object the filters select.
    public struct Page: Sendable {
        public let objects: [ObjectStatus]
        public let next: ObjectID?
        public let total: Int
    }

    public static func page(_ session: Session, kind: Kind? = nil, tenant: String? = nil, condition: ConditionFilter? = nil,
                            after: ObjectID? = nil, limit: Int = 100, now: Date = Date()) async throws -> Page {
        var values: [String?] = []
        func bind(_ v: String?) -> String {
            values.append(v)
            return "$\(values.count)"
        }
        // The same filters over the inventory (with its failure) and over failures of objects never applied.
        func filters(_ t: String) -> [String] {
            var out: [String] = []
            if let kind { out.append("\(t).kind = \(bind(kind.rawValue))") }
            if let tenant {
                let p = bind(tenant)
                out.append("(\(t).tenant = \(p) OR (\(t).kind = 'Tenant' AND \(t).name = \(p)))")
            }
            return out
        }
        func keyset(_ t: String) -> [String] {
            guard let after else { return [] }
            return ["(\(t).kind, \(t).tenant, \(t).name) > (\(bind(after.kind.rawValue)), \(bind(after.tenant ?? "")), \(bind(after.name)))"]
        }
        let failure: [String] = switch condition {
        case nil: []
        case .ready?: ["s.kind IS NULL"]
        case .notReady?: ["s.kind IS NOT NULL"]
        case .stalled?: ["s.stalled"]
        }
        func query(paged: Bool) -> String {
            let managed = filters("i") + (paged ? keyset("i") : []) + failure
            let failedOnly = filters("s") + (paged ? keyset("s") : []) + failure
                + ["NOT EXISTS (SELECT 1 FROM accord.inventory i WHERE i.kind = s.kind AND i.tenant = s.tenant AND i.name = s.name)"]
            func whereClause(_ c: [String]) -> String { c.isEmpty ? "" : "WHERE " + c.joined(separator: " AND ") }
            // Objects never applied have a failure by definition: none is ready.
            let failures = condition == .ready ? "" : """
                UNION ALL
                SELECT s.kind, s.tenant, s.name, NULL::integer, NULL::integer, NULL::text, NULL::text, false,
                       s.reason, s.message, s.stalled, s.revision, extract(epoch FROM s.next_attempt_at)::float8, NULL::text
                FROM accord.object_status s \(whereClause(failedOnly))
                """
            let rows = """
                SELECT i.kind, i.tenant, i.name, i.generation, i.observed_generation, i.applied_revision, i.source_path,
                       i.retained_at IS NOT NULL, s.reason, s.message, s.stalled, s.revision, extract(epoch FROM s.next_attempt_at)::float8,
                       i.database
                FROM accord.inventory i
                LEFT JOIN accord.object_status s ON s.kind = i.kind AND s.tenant = i.tenant AND s.name = i.name
                \(whereClause(managed))
                \(failures)
                """
            return paged ? "SELECT * FROM (\(rows)) x ORDER BY 1, 2, 3 LIMIT \(bind(String(limit + 1)))::int"
                         : "SELECT count(*)::bigint FROM (\(rows)) x"
        }
        let pageSQL = query(paged: true)
        let pageValues = values
        values = []
        let countSQL = query(paged: false)
        let total = try await session.rows(countSQL, values).first.map { try $0.decode(Int64.self) } ?? 0
        let rows = try await session.rows(pageSQL, pageValues)
        var objects = try decode(Array(rows.prefix(limit)), orphans: try await orphaned(session),
                                 lastAttempted: try await History.lastRevision(session)?.revision, now: now)
        try await attachObserved(&objects, session, id: nil)
        return Page(objects: objects, next: rows.count > limit ? objects.last?.objectID : nil, total: Int(total))
    }

    /// Objects by kind: how many, how many not ready (a failure recorded), how many stalled.
    public static func counts(_ session: Session) async throws -> [(kind: String, total: Int, notReady: Int, stalled: Int)] {
        try await session.rows("""
            SELECT coalesce(i.kind, s.kind), count(*)::bigint, count(s.kind)::bigint, count(*) FILTER (WHERE s.stalled)::bigint
            FROM accord.inventory i
            FULL JOIN accord.object_status s ON s.kind = i.kind AND s.tenant = i.tenant AND s.name = i.name
            GROUP BY 1 ORDER BY 1
            """).map { row in
            let (kind, total, notReady, stalled) = try row.decode((String, Int64, Int64, Int64).self)
            return (kind, Int(total), Int(notReady), Int(stalled))
        }
    }

    /// Rows of (kind, tenant, name, generation, observed generation,
    /// applied revision, source path, retained, reason, message, stalled,
    /// failed revision, next attempt, database) as statuses.
    static func decode(_ rows: [PostgresRow], orphans: Set<String>, lastAttempted: String?, now: Date) throws -> [ObjectStatus] {
        var out: [ObjectStatus] = []
        for row in rows {
            let c = row.makeRandomAccess()
            let kindName = try c[0].decode(String.self)
            let tenant = try c[1].decode(String.self)
            let name = try c[2].decode(String.self)
            let generation = try c[3].decode(Int?.self)
            let observed = try c[4].decode(Int?.self)
            let appliedRevision = try c[5].decode(String?.self)
            let path = try c[6].decode(String?.self)
            let retained = try c[7].decode(Bool.self)
            let reason = try c[8].decode(String?.self)
            let message = try c[9].decode(String?.self)
            let stalled = try c[10].decode(Bool?.self) ?? false
            let failedRevision = try c[11].decode(String?.self)
            let nextAttempt = try c[12].decode(Double?.self).map { Date(timeIntervalSince1970: $0) }
            let database = try c[13].decode(String?.self)

            var facts = ObjectFacts(retained: retained, isTenant: kindName == Kind.tenant.rawValue)
            if let reason, let message {
                facts.failure = (reason, message, stalled, nextAttempt)
            } else if !retained {
                let objectID = ObjectID(kind: Kind(rawValue: kindName) ?? .tenant, tenant: tenant.isEmpty ? nil : tenant, name: name)
                facts.orphaned = orphans.contains(objectID.description)
            }
            let current = facts.failure == nil && !retained && !facts.orphaned
            out.append(ObjectStatus(
                kind: kindName, tenant: tenant.isEmpty ? nil : tenant, name: name,
                generation: generation ?? 0, observedGeneration: observed ?? 0,
                lastAppliedRevision: current ? (lastAttempted ?? appliedRevision) : appliedRevision,
                lastAttemptedRevision: failedRevision ?? lastAttempted, sourcePath: path,
                database: database?.isEmpty == false ? database : nil, facts: facts, now: now))
        }
        return out
    }

    static func attachLive(_ statuses: inout [ObjectStatus], _ session: Session, kind: Kind?, id: ObjectID?) async throws {
        let records: [Record]
        if let id {
            records = try await LiveState.read([id], session)
        } else if let kind {
            records = try await LiveState.read(kind, session)
        } else {
            records = try await LiveState.read(session).records
        }
        var byID: [ObjectID: [String: JSONValue]] = [:]
        for r in records { byID[r.id] = r.fields }
        let wantsKeys = id.map { $0.kind == .tenant } ?? (kind == nil || kind == .tenant)
        let keys = wantsKeys ? try await TenantKeys.info(session, tenant: id?.name) : [:]
        for i in statuses.indices {
            let sid = statuses[i].objectID
            var live = byID[sid] ?? [:]
            if sid.kind == .tenant, let key = keys[sid.name] {
                var dataKey: [String: JSONValue] = [
                    "keyId": .string(key.keyID), "version": JSONValue(key.version),
                    "createdAt": .string(Timestamp.rfc3339(epochSeconds: Int64(key.createdAt.timeIntervalSince1970))),
                    "retiredVersions": JSONValue(key.retiredVersions), "kekFingerprint": .string(key.kekFingerprint),
                ]
                if case .number(let days)? = live["key_rotation_days"] {
                    let due = key.createdAt.timeIntervalSince1970 + days * 86_400
                    dataKey["rotatesAt"] = .string(Timestamp.rfc3339(epochSeconds: Int64(due)))
                }
                live["data_key"] = .object(dataKey)
            }
            statuses[i].live = live
        }
    }

    /// An erasure's run: status, deadline and SLA stage, attempts, the
    /// next retry, whether its certificate was issued; its clock goes into
    /// the facts (an open erasure past 48h says so in its conditions).
    static func attachErasures(_ statuses: inout [ObjectStatus], _ session: Session, id: ObjectID?) async throws {
        var runs: [ObjectID: (status: String, requested: Double, completed: Double?, attempts: Int, next: Double?, error: String?, certified: Bool)] = [:]
        for row in try await session.rows("""
            SELECT e.tenant, e.name, e.status, extract(epoch FROM e.requested_at)::float8, extract(epoch FROM e.completed_at)::float8,
                   coalesce(r.attempts, 0), extract(epoch FROM r.next_attempt_at)::float8, r.last_error,
                   EXISTS (SELECT 1 FROM accord.erasure_certificates c WHERE c.tenant = e.tenant AND c.name = e.name)
            FROM platform.erasures e LEFT JOIN accord.erasure_runs r ON r.tenant = e.tenant AND r.name = e.name
            WHERE $1::text IS NULL OR (e.tenant = $1 AND e.name = $2)
            """, [id?.tenant, id?.name]) {
            let v = try row.decode((String, String, String, Double, Double?, Int, Double?, String?, Bool).self)
            runs[ObjectID(kind: .erasure, tenant: v.0, name: v.1)] = (v.2, v.3, v.4, v.5, v.6, v.7, v.8)
        }
        func time(_ t: Double) -> JSONValue { .string(Timestamp.rfc3339(epochSeconds: Int64(t))) }
        var jobs: [ObjectID: [StoreJobs.Job]] = [:]
        for job in try await StoreJobs.jobs(of: id.map { [$0] }, session) { jobs[job.erasureID, default: []].append(job) }
        for i in statuses.indices where statuses[i].kind == Kind.erasure.rawValue {
            guard let run = runs[statuses[i].objectID] else { continue }
            let requested = Date(timeIntervalSince1970: run.requested)
            let due = ErasureSLA.due(requestedAt: requested)
            let stage = run.certified ? ErasureSLA.Stage.onTime : ErasureSLA.stage(requestedAt: requested, now: statuses[i].now)
            var info: [String: JSONValue] = [
                "status": .string(run.status), "due": time(due.timeIntervalSince1970), "attempts": JSONValue(run.attempts),
                "certificate": .bool(run.certified), "sla": .string(run.certified ? "met-or-closed" : stage.rawValue),
            ]
            if let c = run.completed { info["completedAt"] = time(c) }
            if let n = run.next, !run.certified { info["nextAttemptAt"] = time(n) }
            if let e = run.error, !run.certified { info["lastError"] = .string(e) }
            let own = jobs[statuses[i].objectID] ?? []
            if !own.isEmpty { info["stores"] = .array(own.map(Self.jobJSON)) }
            statuses[i].live["erasure"] = .object(info)
            statuses[i].facts.erasure = (run.status, requested, run.certified, own.filter { $0.state != .verified }.map(\.store))
        }
    }

    /// One store's part of an erasure, as status shows it.
    static func jobJSON(_ job: StoreJobs.Job) -> JSONValue {
        func counts(_ c: [String: Int]?) -> JSONValue { c.map { .object($0.mapValues { JSONValue($0) }) } ?? .null }
        return .object([
            "store": .string(job.store), "type": .string(job.storeType), "endpoint": .string(job.endpoint),
            "state": .string(job.state.rawValue), "deleted": counts(job.deleted), "remaining": counts(job.remaining),
            "attempts": JSONValue(job.attempts), "nextAttemptAt": time(job.nextAttemptAt), "lastError": JSONValue(job.lastError),
            "verifiedAt": time(job.verifiedAt), "requestId": .string(job.requestID),
        ])
    }

    /// A Store's health: unavailable ones are not Ready, with why.
    static func attachStores(_ statuses: inout [ObjectStatus], _ session: Session) async throws {
        let health = try await StoreRegistry.health(session)
        for i in statuses.indices where statuses[i].kind == Kind.store.rawValue {
            guard let h = health[statuses[i].name] else { continue }
            var info: [String: JSONValue] = [
                "ready": .bool(h.ready), "message": .string(h.message), "failures": JSONValue(h.failures),
                "checkedAt": .string(Timestamp.rfc3339(epochSeconds: Int64(h.checkedAt.timeIntervalSince1970))),
            ]
            if let next = h.nextCheckAt { info["nextCheckAt"] = .string(Timestamp.rfc3339(epochSeconds: Int64(next.timeIntervalSince1970))) }
            if !h.missing.isEmpty { info["missing"] = JSONValue(strings: h.missing) }
            statuses[i].live["health"] = .object(info)
            if !h.ready { statuses[i].facts.unavailable = (h.message, h.nextCheckAt) }
        }
    }

    /// A time as status shows it; null when there is none.
    static func time(_ d: Date?) -> JSONValue { d.map { .string(Timestamp.rfc3339($0)) } ?? .null }

    public var objectID: ObjectID { ObjectID(kind: Kind(rawValue: kind) ?? .tenant, tenant: tenant, name: name) }
}
