import AccordCore
import AccordEngine
import Foundation

/// kstatus-style conditions of one object (SPEC §3).
public struct ObjectStatus: Sendable {
    public struct Condition: Sendable {
        public let type: String
        public let status: String
        public let reason: String
        public let message: String
    }

    public let kind: String
    public let tenant: String?
    public let name: String
    public let generation: Int
    public let observedGeneration: Int
    public let lastAppliedRevision: String?
    public let lastAttemptedRevision: String?
    public let sourcePath: String?
    public var message: String
    public var conditions: [Condition]
    /// What the platform runs now: the object's live registry row (for a
    /// tenant its plan, isolation, stores, SSO and GDPR settings, status;
    /// for a worker its model version, replicas, status), and for a tenant
    /// its active data key's id, version and dates — never the key.
    public var live: [String: JSONValue] = [:]
    /// When the daemon tries a failed (not stalled) object again.
    public var nextAttemptAt: Date?

    public var id: String {
        ObjectID(kind: Kind(rawValue: kind) ?? .tenant, tenant: tenant, name: name).description
    }

    public var ready: Bool { conditions.first { $0.type == "Ready" }?.status == "True" }
    public var stalled: Bool { conditions.first { $0.type == "Stalled" }?.status == "True" }

    /// Every object Accord manages or failed to apply, sorted by identity;
    /// `filter` keeps one kind, or one object.
    public static func read(_ session: Session, kind: Kind? = nil, id: ObjectID? = nil, now: Date = Date()) async throws -> [ObjectStatus] {
        let lastAttempted = try await History.lastRevision(session)?.revision
        // Objects the last complete pass found removed from git and kept (no prune).
        var orphans = Set<String>()
        if let text = try await session.rows("SELECT orphaned::text FROM accord.sync_state").first.map({ try $0.decode(String.self) }),
           case .array(let items)? = try? JSONParser.parse(text) {
            orphans = Set(items.compactMap(\.stringValue))
        }
        let rows = try await session.rows("""
            SELECT coalesce(i.kind, s.kind), coalesce(i.tenant, s.tenant), coalesce(i.name, s.name),
                   i.generation, i.observed_generation, i.applied_revision, i.source_path, i.retained_at IS NOT NULL,
                   s.reason, s.message, s.stalled, s.revision, extract(epoch FROM s.next_attempt_at)::float8
            FROM accord.inventory i
            FULL JOIN accord.object_status s ON s.kind = i.kind AND s.tenant = i.tenant AND s.name = i.name
            WHERE ($1::text IS NULL OR coalesce(i.kind, s.kind) = $1)
              AND ($2::text IS NULL OR coalesce(i.tenant, s.tenant) = $2)
              AND ($3::text IS NULL OR coalesce(i.name, s.name) = $3)
            """, [kind?.rawValue ?? id?.kind.rawValue, id.map { $0.tenant ?? "" }, id?.name])
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
            let failure = try c[9].decode(String?.self)
            let stalled = try c[10].decode(Bool?.self) ?? false
            let failedRevision = try c[11].decode(String?.self)
            let nextAttempt = try c[12].decode(Double?.self).map { Date(timeIntervalSince1970: $0) }

            var conditions: [Condition] = []
            let message: String
            if let reason, let failure {
                message = failure + (nextAttempt.map { "; next attempt at \(Timestamp.rfc3339(epochSeconds: Int64($0.timeIntervalSince1970)))" } ?? "")
                conditions.append(Condition(type: "Ready", status: "False", reason: reason, message: failure))
                conditions.append(Condition(type: "Stalled", status: stalled ? "True" : "False", reason: stalled ? reason : "",
                                            message: stalled ? "needs a change in git or in the live schema; not retried until then" : ""))
            } else if retained {
                message = kindName == Kind.tenant.rawValue
                    ? "removed from git; offboarded, its data kept (deletionPolicy: Retain)"
                    : "removed from git; its record is kept"
                conditions.append(Condition(type: "Ready", status: "True", reason: "Retained", message: message))
                conditions.append(Condition(type: "Stalled", status: "False", reason: "", message: ""))
            } else if orphans.contains(ObjectID(kind: Kind(rawValue: kindName) ?? .tenant, tenant: tenant.isEmpty ? nil : tenant, name: name).description) {
                message = "removed from git and kept: not pruned (apply --prune deletes it)"
                conditions.append(Condition(type: "Ready", status: "True", reason: "Orphaned", message: message))
                conditions.append(Condition(type: "Stalled", status: "False", reason: "", message: ""))
            } else {
                message = "applied"
                conditions.append(Condition(type: "Ready", status: "True", reason: "Applied", message: "the live rows match git"))
                conditions.append(Condition(type: "Stalled", status: "False", reason: "", message: ""))
            }
            let orphaned = conditions.first?.reason == "Orphaned"
            // A one-shot apply is never in progress when status is read; the daemon sets this while it works.
            conditions.insert(Condition(type: "Reconciling", status: "False", reason: "", message: ""), at: 1)
            out.append(ObjectStatus(
                kind: kindName, tenant: tenant.isEmpty ? nil : tenant, name: name,
                generation: generation ?? 0, observedGeneration: observed ?? 0,
                lastAppliedRevision: reason == nil && !retained && !orphaned ? (lastAttempted ?? appliedRevision) : appliedRevision,
                lastAttemptedRevision: failedRevision ?? lastAttempted, sourcePath: path, message: message,
                conditions: conditions, nextAttemptAt: reason == nil ? nil : nextAttempt))
        }
        try await attachLive(&out, session, kind: kind, id: id)
        if kind == nil || kind == .erasure, id == nil || id?.kind == .erasure {
            try await attachErasures(&out, session, id: id, now: now)
        }
        return out.sorted { $0.sortKey < $1.sortKey }
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
            let sid = statuses[i].sortKey
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
    /// next retry, whether its certificate was issued. An open erasure past
    /// 48h says so in its message and an `OnSchedule` condition.
    static func attachErasures(_ statuses: inout [ObjectStatus], _ session: Session, id: ObjectID?, now: Date) async throws {
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
        for i in statuses.indices where statuses[i].kind == Kind.erasure.rawValue {
            guard let run = runs[statuses[i].sortKey] else { continue }
            let requested = Date(timeIntervalSince1970: run.requested)
            let due = ErasureSLA.due(requestedAt: requested)
            let stage = run.certified ? ErasureSLA.Stage.onTime : ErasureSLA.stage(requestedAt: requested, now: now)
            var info: [String: JSONValue] = [
                "status": .string(run.status), "due": time(due.timeIntervalSince1970), "attempts": JSONValue(run.attempts),
                "certificate": .bool(run.certified), "sla": .string(run.certified ? "met-or-closed" : stage.rawValue),
            ]
            if let c = run.completed { info["completedAt"] = time(c) }
            if let n = run.next, !run.certified { info["nextAttemptAt"] = time(n) }
            if let e = run.error, !run.certified { info["lastError"] = .string(e) }
            statuses[i].live["erasure"] = .object(info)
            guard !run.certified else { continue }
            let dueText = Timestamp.rfc3339(epochSeconds: Int64(due.timeIntervalSince1970))
            if stage >= .warning {
                statuses[i].message += "; \(stage.meaning) (due \(dueText))"
                statuses[i].conditions.append(Condition(type: "OnSchedule", status: "False", reason: stage == .warning ? "SLAWarning" : stage == .escalation ? "SLAEscalation" : "SLAOverdue",
                                                        message: "erasure \(run.status), \(stage.meaning); due \(dueText)"))
            } else {
                statuses[i].conditions.append(Condition(type: "OnSchedule", status: "True", reason: "WithinDeadline", message: "due \(dueText)"))
            }
        }
    }

    var sortKey: ObjectID { ObjectID(kind: Kind(rawValue: kind) ?? .tenant, tenant: tenant, name: name) }
}
