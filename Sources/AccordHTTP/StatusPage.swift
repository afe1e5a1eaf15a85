import AccordController
import AccordCore
import AccordEngine
import AccordStore
import Foundation
import Hummingbird
import Logging
import Mustache

/// The read-only HTML status page (SPEC §12, docs/status-page.md), served
/// by the controller at `/`: an overview, objects filtered by kind, tenant
/// and condition and paged on the server, each object's page, open
/// erasures by deadline, models, history. Every page reads what it shows
/// with bounded queries (a page of objects by the keys' index, counts by
/// kind), never every object; every value is HTML-escaped by the templates.
enum StatusPage {
    /// Objects on one page.
    static let pageSize = 100

    static func routes(_ group: RouterGroup<BasicRequestContext>, _ deps: HTTPServer.Dependencies) {
        group.get("/") { _, _ in await render(deps, "Overview", "overview") { try await overview(deps, $0) } }
        group.get("objects") { request, _ in
            await render(deps, "Objects", "objects") { try await objects(deps, request.uri.queryParameters, $0) }
        }
        group.get("objects/**") { _, context in
            let parts = context.parameters.getCatchAll().map { String($0).removingPercentEncoding ?? String($0) }
            return await render(deps, parts.joined(separator: "/"), "object") { try await object(deps, parts, $0) }
        }
        group.get("erasures") { _, _ in await render(deps, "Open erasures", "erasures") { try await erasures($0) } }
        group.get("models") { _, _ in await render(deps, "Models", "models") { try await models($0) } }
        group.get("history") { _, _ in await render(deps, "History", "history") { try await history($0) } }
    }

    /// A page a request cannot be answered with: its status and why.
    struct Problem: Error {
        let status: HTTPResponse.Status
        let message: String
    }

    /// Renders `template` with what `read` makes from a database session;
    /// a problem (a bad filter, an unknown object) or an unreachable
    /// database is a page of its own with its status.
    static func render(_ deps: HTTPServer.Dependencies, _ title: String, _ template: String,
                       _ read: @Sendable (Session) async throws -> [String: Any]) async -> Response {
        let started = ContinuousClock.now
        let status: HTTPResponse.Status
        let html: String
        do {
            html = try await Database.withConnection(deps.config.databaseURL, logger: deps.logger) { connection in
                let session = Session(connection, logger: deps.logger).placing(deps.config.readRegions)
                guard try await Migrations.isCurrent(session) else {
                    throw Problem(status: .serviceUnavailable, message: "Nothing has been applied to this database yet.")
                }
                return page(template, title: title, try await read(session), started: started)
            }
            status = .ok
        } catch let problem as Problem {
            status = problem.status
            html = page("problem", title: problem.status == .notFound ? "Not found" : problem.status == .badRequest ? "Bad request" : "Unavailable",
                        ["message": problem.message], started: started)
        } catch {
            deps.logger.warning("status page: reading the database failed", metadata: ["error": "\(error)"])
            status = .serviceUnavailable
            html = page("problem", title: "Unavailable", ["message": "The database cannot be read: \(error)"], started: started)
        }
        return Response(status: status, headers: [.contentType: "text/html; charset=utf-8", .cacheControl: "no-store"],
                        body: .init(byteBuffer: ByteBuffer(string: html)))
    }

    /// One page's HTML: the template with its values, the title (unless the
    /// values name one), the version and when and how fast it was rendered.
    static func page(_ template: String, title: String, _ values: [String: Any], started: ContinuousClock.Instant) -> String {
        var context = values
        if context["title"] == nil { context["title"] = title }
        context["version"] = AccordVersion.current
        context["now"] = time(Date())
        let elapsed = ContinuousClock.now - started
        context["elapsedMs"] = String(elapsed.components.seconds * 1000 + elapsed.components.attoseconds / 1_000_000_000_000_000)
        return StatusPageTemplates.library.render(context, withTemplate: template) ?? ""
    }

    // MARK: Pages

    static func overview(_ deps: HTTPServer.Dependencies, _ session: Session) async throws -> [String: Any] {
        let snapshot = await deps.state.current
        var out: [String: Any] = [:]
        if let s = try await SourceStatus.read(session) {
            let source: [String: Any?] = [
                "url": s.url, "branch": s.branch, "path": ["", ".", "/"].contains(s.path) ? nil : s.path,
                "applied": s.appliedRevision ?? "none", "appliedAt": s.appliedAt.map(time), "fetched": s.fetchedRevision ?? "none",
                "fetchedAt": s.fetchedAt.map(time), "message": s.message, "readyClass": s.ready ? "good" : "bad",
                "verified": s.verified.map { ($0 ? "yes: " : "no: ") + (s.verification ?? "") } ?? "no verification policy",
                "verifiedClass": s.verified == false ? "bad" : "",
            ]
            out["source"] = source.compacted
        }
        out["role"] = snapshot.role.rawValue
        out["readiness"] = snapshot.ready ? "ready" : "not ready"
        out["lastPass"] = snapshot.lastPassAt.map { "at \(time($0)): \(snapshot.lastPassResult?.rawValue ?? "?")" }
        let counts = try await ObjectStatus.counts(session)
        out["totalObjects"] = String(counts.reduce(0) { $0 + $1.total })
        out["kinds"] = counts.map { c -> [String: Any] in
            let values: [String: Any?] = ["kind": c.kind, "total": String(c.total), "notReady": c.notReady > 0 ? String(c.notReady) : nil,
                                          "stalled": c.stalled > 0 ? String(c.stalled) : nil]
            return values.compacted
        }
        let e = try await ErasureCounts.read(session, now: Date())
        func cls(_ n: Int) -> String { n > 0 ? "bad" : "muted" }
        out["erasuresOpen"] = String(e.open)
        if e.open > 0 {
            out["erasureStages"] = [
                "warning": String(e.warning), "escalation": String(e.escalation), "overdue": String(e.overdue),
                "warningClass": e.warning > 0 ? "warn" : "muted", "escalationClass": cls(e.escalation), "overdueClass": cls(e.overdue),
            ]
        }
        out["passes"] = try await History.list(session, limit: 5).map(pass)
        let health = try await StoreRegistry.health(session)
        out["hasStores"] = !health.isEmpty
        out["stores"] = health.keys.sorted().map { name -> [String: Any] in
            let h = health[name]!
            return ["name": name, "nameURL": PagePath.part(name), "up": h.ready ? "yes" : "no", "upClass": h.ready ? "good" : "bad",
                    "checkedAt": time(h.checkedAt), "message": h.message]
        }
        // With a regions file: each region's database as the last pass found it.
        let regions = deps.config.regions
        out["hasRegions"] = regions != nil
        out["regions"] = (regions?.regions ?? []).map { region -> [String: Any] in
            let h = regions?.health[region]
            return ["name": region.rawValue, "up": h.map { $0.up ? "yes" : "no" } ?? "not checked yet",
                    "upClass": h?.up == true ? "good" : "bad", "checkedAt": h.map { time($0.checkedAt) } ?? "",
                    "message": h?.reason ?? ""]
        }
        let reports = try await Outbox.reports(session)
        out["hasNotifications"] = !reports.isEmpty
        out["notifications"] = reports.map { r -> [String: Any] in
            ["name": r.name, "nameURL": PagePath.part(r.name), "type": r.type, "sent": String(r.sent), "pending": String(r.pending),
             "failures": String(r.failures), "lastError": r.stalled.map { "stalled: \($0)" } ?? r.lastError ?? "",
             "errorClass": r.stalled != nil || (r.pending > 0 && r.lastError != nil) ? "bad" : "muted"]
        }
        return out
    }

    static func objects(_ deps: HTTPServer.Dependencies, _ query: Parameters, _ session: Session) async throws -> [String: Any] {
        for (key, _) in query where !["kind", "tenant", "condition", "after"].contains(String(key)) {
            throw Problem(status: .badRequest, message: "Unknown parameter \(Text.quoted(String(key), limit: 40)); the filters are kind, tenant, condition and after.")
        }
        let kindText = query["kind"].map(String.init).flatMap { $0.isEmpty ? nil : $0 }
        var kind: Kind?
        if let kindText {
            guard let k = Kind(named: kindText) else {
                throw Problem(status: .badRequest, message: "\(Text.quoted(kindText, limit: 40)) is not a kind; the kinds are \(Kind.allCases.sorted().map(\.rawValue).joined(separator: ", ")).")
            }
            kind = k
        }
        let tenant = query["tenant"].map(String.init).flatMap { $0.isEmpty ? nil : $0 }
        let conditionText = query["condition"].map(String.init).flatMap { $0.isEmpty ? nil : $0 }
        var condition: ObjectStatus.ConditionFilter?
        if let conditionText {
            guard let c = ObjectStatus.ConditionFilter(rawValue: conditionText) else {
                throw Problem(status: .badRequest, message: "\(Text.quoted(conditionText, limit: 40)) is not a condition; the conditions are ready, not-ready and stalled.")
            }
            condition = c
        }
        var after: ObjectID?
        if let text = query["after"].map(String.init), !text.isEmpty {
            guard case .success(let id) = ObjectID.parse(text) else {
                throw Problem(status: .badRequest, message: "\(Text.quoted(text, limit: 80)) is not an object (KIND/NAME or KIND/TENANT/NAME).")
            }
            after = id
        }
        let page = try await ObjectStatus.page(session, kind: kind, tenant: tenant, condition: condition, after: after, limit: pageSize)
        func link(after: ObjectID?) -> String {
            var items: [(String, String)] = []
            if let kind { items.append(("kind", kind.rawValue)) }
            if let tenant { items.append(("tenant", tenant)) }
            if let condition { items.append(("condition", condition.rawValue)) }
            if let after { items.append(("after", after.description)) }
            return "/objects" + (items.isEmpty ? "" : "?" + items.map { "\($0.0)=\(queryValue($0.1))" }.joined(separator: "&"))
        }
        var out: [String: Any] = [:]
        out["kindOptions"] = [["value": "", "label": "All kinds", "selected": kind == nil]]
            + Kind.allCases.sorted { $0.rawValue < $1.rawValue }.map { ["value": $0.rawValue, "label": $0.rawValue, "selected": $0 == kind] }
        out["conditionOptions"] = [["value": "", "label": "Any", "selected": condition == nil]]
            + ObjectStatus.ConditionFilter.allCases.map { ["value": $0.rawValue, "label": $0.label, "selected": $0 == condition] }
        out["tenant"] = tenant ?? ""
        out["total"] = String(page.total)
        out["filtered"] = kind != nil || tenant != nil || condition != nil
        out["pageNote"] = after.map { "after \($0)" } ?? (page.next != nil ? "the first \(pageSize)" : nil)
        out["rows"] = page.objects.map { s -> [String: Any] in
            ["id": s.id, "path": PagePath.object(s.objectID), "ready": s.ready ? "True" : "False", "readyClass": s.ready ? "good" : "bad",
             "stalled": s.stalled ? "True" : "False", "stalledClass": s.stalled ? "bad" : "muted",
             "applied": s.lastAppliedRevision.map { String($0.prefix(12)) } ?? "-", "message": Text.escapingControls(s.message)]
        }
        out["next"] = page.next.map { link(after: $0) }
        out["first"] = after != nil ? link(after: nil) : nil
        return out
    }

    /// An object's page. The path's parts are taken as they are (each
    /// percent-decoded on its own), not checked as names: the page shows
    /// whatever the database holds, a row written outside the manifests' rules too.
    static func object(_ deps: HTTPServer.Dependencies, _ parts: [String], _ session: Session) async throws -> [String: Any] {
        let kind = parts.first.flatMap(Kind.init(rawValue:)) ?? parts.first.flatMap(Kind.init(named:))
        guard let kind, parts.count == (kind.isTenantScoped ? 3 : 2) else {
            throw Problem(status: .notFound, message: "\(Text.quoted(parts.joined(separator: "/"), limit: 120)) is not an object (KIND/NAME or KIND/TENANT/NAME).")
        }
        let id = ObjectID(kind: kind, tenant: kind.isTenantScoped ? parts[1] : nil, name: parts[parts.count - 1])
        guard var s = try await ObjectStatus.read(session, id: id).first else {
            throw Problem(status: .notFound, message: "\(id) is not managed by Accord and has no recorded failure.")
        }
        let snapshot = await deps.state.current
        if let entry = snapshot.retries.first(where: { $0.id == id }) { s.facts.retry = (entry.attempts, entry.nextRetry, entry.stalled) }
        var out: [String: Any] = ["title": s.id]
        out["message"] = Text.escapingControls(s.message)
        out["readyClass"] = s.ready ? "good" : "bad"
        out["conditions"] = s.conditions.map { c -> [String: Any] in
            ["type": c.type.rawValue, "status": c.status.rawValue, "reason": c.reason, "message": Text.escapingControls(c.message)]
        }
        out["generation"] = String(s.generation)
        out["observed"] = String(s.observedGeneration)
        out["applied"] = s.lastAppliedRevision ?? "-"
        out["attempted"] = s.lastAttemptedRevision ?? "-"
        out["sourcePath"] = s.sourcePath
        out["database"] = s.database
        out["nextAttempt"] = (s.facts.retry?.nextRetry ?? s.nextAttemptAt).map(time)
        var live = s.live
        if case .object(let e)? = live.removeValue(forKey: "erasure") {
            let stage = e["sla"]?.stringValue ?? ""
            let stores: [[String: Any]] = (e["stores"]?.arrayValue ?? []).map { j in
                let state = j["state"]?.stringValue ?? ""
                let deleted: String = j["deleted"].map { $0 == .null ? "-" : $0.canonical } ?? "-"
                let values: [String: Any] = [
                    "store": j["store"]?.stringValue ?? "", "type": j["type"]?.stringValue ?? "", "state": state,
                    "stateClass": state == "verified" ? "good" : state == "failed" ? "bad" : "warn", "deleted": deleted,
                    "attempts": j["attempts"]?.display ?? "0", "lastError": j["lastError"]?.stringValue ?? "",
                ]
                return values
            }
            let erasure: [String: Any?] = [
                "status": e["status"]?.stringValue ?? "", "stage": stage, "due": e["due"]?.stringValue ?? "",
                "stageClass": ["warning"].contains(stage) ? "warn" : ["escalation", "overdue"].contains(stage) ? "bad" : "good",
                "attempts": e["attempts"].map { $0.display } ?? "0", "lastError": e["lastError"]?.stringValue,
                "hasStores": !stores.isEmpty, "stores": stores,
            ]
            out["erasure"] = erasure.compacted
        }
        if id.kind == .erasure, let c = try await StatusReads.certificates(of: id, limit: 1, session).first {
            out["certificate"] = ["sha256": c.sha256, "keyFingerprint": c.keyFingerprint, "issuedAt": time(c.issuedAt),
                                  "verify": "accordctl certificate \(c.tenant)/\(c.name)"]
        }
        out["hasLive"] = !live.isEmpty
        out["live"] = live.keys.sorted().map { key -> [String: Any] in
            ["field": key, "value": Text.escapingControls(live[key]!.display)]
        }
        out["audit"] = try await AuditChain.entries(.init(object: id.description, limit: 50), session).map { e -> [String: Any] in
            ["seq": String(e.seq), "at": e.at, "action": e.action, "revision": e.revision.map { String($0.prefix(12)) } ?? "-",
             "detail": Text.escapingControls(e.detail.canonical)]
        }
        return out
    }

    static func erasures(_ session: Session) async throws -> [String: Any] {
        let open = try await ErasureRuns.openErasures(session)
        var jobs: [ObjectID: [StoreJobs.Job]] = [:]
        if !open.isEmpty { for job in try await StoreJobs.jobs(of: open.map(\.id), session) { jobs[job.erasureID, default: []].append(job) } }
        let now = Date()
        var out: [String: Any] = ["openCount": String(open.count)]
        out["open"] = open.map { e -> [String: Any] in
            let stage = ErasureSLA.stage(requestedAt: e.requestedAt, now: now)
            let stores = (jobs[e.id] ?? []).map { "\($0.store): \($0.state.rawValue)" }
            return ["id": e.id.description, "path": PagePath.object(e.id), "requestedAt": time(e.requestedAt),
                    "due": time(ErasureSLA.due(requestedAt: e.requestedAt)), "stage": stage.meaning,
                    "stageClass": stage == .onTime ? "good" : stage == .warning ? "warn" : "bad",
                    "stores": stores.isEmpty ? (e.postgresErasedAt == nil ? "PostgreSQL first" : "PostgreSQL done") : stores.joined(separator: ", "),
                    "attempts": String(e.attempts)]
        }
        out["certified"] = try await StatusReads.certificates(limit: 20, session).map { c -> [String: Any] in
            ["id": c.id.description, "path": PagePath.object(c.id), "issuedAt": time(c.issuedAt), "sha256": c.sha256]
        }
        return out
    }

    static func models(_ session: Session) async throws -> [String: Any] {
        var out: [String: Any] = [:]
        out["models"] = try await StatusReads.models(session).map { m -> [String: Any] in
            let values: [String: Any?] = [
                "name": m.name, "nameURL": PagePath.part(m.name), "production": m.production ?? "none", "shadow": m.shadow,
                "shadowPercent": m.shadowTrafficPercent.map { JSONValue.format($0) }, "versions": m.versions.joined(separator: ", "),
            ]
            return values.compacted
        }
        out["promotions"] = try await StatusReads.promotions(limit: 20, session).map { e -> [String: Any] in
            let what: String
            if case .object(let move)? = e.detail["promotion"] {
                let to = move["to"]?.stringValue ?? "none", from = move["from"]?.stringValue ?? "none"
                what = "\(move["outcome"]?.stringValue ?? "promoted"): \(from) → \(to)"
                    + (move["signedBy"]?.stringValue.map { ", signed by \($0)" } ?? "")
            } else {
                what = "held: \(e.detail["reason"]?.stringValue ?? ""): \(e.detail["message"]?.stringValue ?? "")"
            }
            return ["at": e.at, "object": e.object ?? "", "what": Text.escapingControls(what),
                    "whatClass": e.action == "update-failed" ? "bad" : "good", "revision": e.revision.map { String($0.prefix(12)) } ?? "-"]
        }
        return out
    }

    static func history(_ session: Session) async throws -> [String: Any] {
        ["passes": try await History.list(session, limit: 100).map(pass)]
    }

    // MARK: Values

    static func pass(_ h: History.Entry) -> [String: Any] {
        let values: [String: Any?] = [
            "id": String(h.id), "startedAt": h.startedAt, "revision": h.revision.map { String($0.prefix(12)) } ?? "uncommitted",
            "result": h.result.rawValue, "resultClass": h.result == .applied || h.result == .unchanged ? "good" : "bad",
            "objects": String(h.objects),
            "changes": "\(h.created) created, \(h.updated) updated, \(h.deleted) deleted, \(h.retained) retained, \(h.failed) failed",
            "signer": h.signer ?? "", "merkleRoot": h.merkleRoot, "merkleShort": String(h.merkleRoot.prefix(16)),
            "reason": h.reason.map { Text.escapingControls($0) },
        ]
        return values.compacted
    }

    static func time(_ date: Date) -> String { Timestamp.rfc3339(date) }

    static func queryValue(_ s: String) -> String {
        s.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~/"))) ?? s
    }
}

extension Dictionary where Key == String, Value == Any? {
    /// The values that are there: Mustache shows a missing one as nothing
    /// and a section over it as false, where an optional wrapped in `Any` would print.
    var compacted: [String: Any] { compactMapValues { $0 } }
}

extension ObjectStatus.ConditionFilter {
    var label: String {
        switch self {
        case .ready: "Ready"
        case .notReady: "Not ready"
        case .stalled: "Stalled"
        }
    }
}
