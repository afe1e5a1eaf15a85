import AccordEngine
import AccordStore
import AccordCore
import Foundation

/// How a plan is shown by `diff` and `apply`: text (`+ ~ -` per object and
/// per changed field, then the summary line), versioned JSON, or markdown
/// for a pull-request comment that always fits in 60,000 characters.
struct PlanReport {
    let plan: Plan
    let revision: String?
    /// The base revision of `diff --against`.
    let against: String?
    /// With a regions file: the databases each step writes (`Placement`).
    var databases: ((PlanStep) -> [String])?

    init(plan: Plan, revision: String?, against: String?) {
        self.plan = plan
        self.revision = revision
        self.against = against
    }

    static func heading(_ step: PlanStep) -> String {
        var line = ""
        appendHeading(step, to: &line)
        return line
    }

    /// `heading(step)` appended to `line` (apply prints one per object: no
    /// string of its own for each).
    static func appendHeading(_ step: PlanStep, to line: inout String) {
        line += step.action.symbol
        line += " "
        line += step.id.kind.rawValue
        line += "/"
        if let tenant = step.id.tenant {
            line += tenant
            line += "/"
        }
        line += step.id.name
        switch (step.action, step.cause) {
        case (.retain, _):
            let note = switch step.id.kind {
            case .tenant: " (offboard: data kept, deletionPolicy Retain)"
            case .worker: " (stopped: its tenant is offboarded, the row is kept)"
            case .workflow: " (kept: its tenant is offboarded)"
            default: " (released: its record is kept)"
            }
            line += note
        case (_, .drift): line += " (drift: changed outside Accord)"
        case (_, .adopt): line += " (adopt: exists but was not created by Accord)"
        case (_, .dependency): line += " (\(dependencyNote(step)))"
        case (_, .manifest): break
        }
        if case .object(let move)? = step.desired?.auditDetail["promotion"] { line += " (\(promotionNote(move)))" }
        if let stall = step.desired?.stall { line += stall.appliesRest ? " — \(stall.message)" : " — not applied: \(stall.message)" }
    }

    /// What the promotion gate decided about a model's production version.
    static func promotionNote(_ move: [String: JSONValue]) -> String {
        let from = move["from"]?.stringValue ?? "none"
        let to = move["to"]?.stringValue ?? "none"
        let signer = move["signedBy"]?.stringValue.map { ", signed by \($0)" } ?? ""
        switch move["outcome"]?.stringValue {
        case "initial": return "first production version \(to)\(signer)"
        case "rollback": return "rollback \(from) → \(to): a former production version, no gate"
        case "withdrawal": return "production version \(from) withdrawn"
        default:
            let metric = move["metric"]?.stringValue ?? "metric"
            let values = [move["fromValue"], move["toValue"]].map { $0?.numberValue.map { ModelGate.number($0) } ?? "?" }
            return "promotion \(from) → \(to): \(metric) \(values[0]) → \(values[1])\(signer)"
        }
    }

    /// What moved under a step whose manifest did not change.
    static func dependencyNote(_ step: PlanStep) -> String {
        let paths = Set(step.changes.map(\.path))
        if step.id.kind == .worker, paths.contains("model_version"),
           case .string(let model)? = step.desired?.record["model"] {
            return "redeploy: Model/\(model) has a new production version"
        }
        if step.id.kind == .worker, paths.contains("status") {
            return "kill switch of Tenant/\(step.id.tenant ?? "")"
        }
        return "follows a change of an object it refers to"
    }

    /// One change under its object's heading: the manifest's field path
    /// (`ManifestFieldPaths`), values on one line (`old → new`), or, when
    /// they hold objects, as indented blocks.
    static func changeLines(_ change: FieldChange, kind: Kind) -> [String] {
        let path = ManifestFieldPaths.path(kind, change.path)
        let inline = { (v: JSONValue) in ValueText.inline(v) }
        switch (change.old, change.new) {
        case (nil, let new?):
            if let line = inline(new) { return ["    \(path): \(line)"] }
            return ["    \(path):"] + ValueText.block(new, indent: 6)
        case (let old?, nil):
            if let line = inline(old) { return ["    \(path): \(line) → (removed)"] }
            return ["    \(path): (removed)"] + ValueText.block(old, indent: 6)
        case (let old?, let new?):
            if let before = inline(old), let after = inline(new) { return ["    \(path): \(before) → \(after)"] }
            return ["    \(path):", "      was:"] + ValueText.block(old, indent: 8) + ["      now:"] + ValueText.block(new, indent: 8)
        case (nil, nil):
            return ["    \(path)"]
        }
    }

    func lines(for step: PlanStep) -> [String] {
        let at = databases.map { "  → " + $0(step).joined(separator: " + ") } ?? ""
        return [Self.heading(step) + at] + step.fieldChanges.flatMap { Self.changeLines($0, kind: step.id.kind) }
    }

    func text(palette: Palette) -> String {
        var out = ""
        for step in plan.steps {
            let block = lines(for: step)
            out += palette.paint(block[0], step.action) + "\n"
            for line in block.dropFirst() { out += line + "\n" }
        }
        if !plan.orphaned.isEmpty {
            out += "\(plan.orphaned.count) removed from git but kept (apply with --prune to delete them):\n"
            for id in plan.orphaned { out += "  \(id)\n" }
        }
        if !plan.unmanaged.isEmpty {
            out += "\(plan.unmanaged.count) unmanaged (not created by Accord; never touched):\n"
            for id in plan.unmanaged { out += "  \(id)\n" }
        }
        return out + plan.summary + "\n"
    }

    static func stallJSON(_ stall: Stall?) -> JSONValue {
        guard let stall else { return .null }
        return .object(["reason": .string(stall.reason.rawValue), "message": .string(stall.message), "appliesRest": .bool(stall.appliesRest)])
    }

    func json(extra: [String: JSONValue] = [:]) -> String {
        var object: [String: JSONValue] = [
            "formatVersion": .number(1),
            "revision": JSONValue(revision),
            "inSync": .bool(plan.isEmpty),
            "summary": .object(Dictionary(uniqueKeysWithValues: Action.allCases.map { ($0.rawValue, JSONValue(plan.count($0))) })
                .merging(["unchanged": JSONValue(plan.unchanged)]) { $1 }),
            "steps": .array(plan.steps.map { step in
                .object((databases.map { ["databases": JSONValue(strings: $0(step))] } ?? [:]).merging([
                    "action": .string(step.action.rawValue), "id": .string(step.id.description),
                    "kind": .string(step.id.kind.rawValue), "tenant": JSONValue(step.id.tenant), "name": .string(step.id.name),
                    "cause": .string(step.cause.rawValue),
                    "stalled": Self.stallJSON(step.desired?.stall),
                    "changes": .array(step.fieldChanges.map { c in
                        .object(["path": .string(c.path), "field": .string(ManifestFieldPaths.path(step.id.kind, c.path)),
                                 "old": c.old ?? .null, "new": c.new ?? .null])
                    }),
                ]) { $1 })
            }),
            "orphaned": .array(plan.orphaned.map { .string($0.description) }),
            "unmanaged": .array(plan.unmanaged.map { .string($0.description) }),
        ]
        if let against { object["against"] = .string(against) }
        return JSONOutput.render(.object(object.merging(extra) { $1 }))
    }

    /// Whole lines only; when the details do not fit, the plan is summarised
    /// by kind and the objects that fit are listed.
    /// `refusal`: why apply would refuse the plan (a signer rule), said first.
    func markdown(limit: Int = 60_000, refusal: String? = nil) -> String {
        let mark = refusal != nil ? "⛔" : plan.isEmpty ? "✅" : "📝"
        var head = "### \(mark) Accord plan: \(plan.summary)\n\n"
        if let refusal { head += "**Apply would refuse this plan**: `\(refusal.replacingOccurrences(of: "`", with: "'"))`; nothing would be written.\n\n" }
        if let revision { head += "Revision `\(revision.prefix(12))`" }
        if let against { head += " compared with `\(against.prefix(12))` (no database read)" }
        head += revision == nil && against == nil ? "" : ".\n\n"
        if plan.isEmpty && plan.orphaned.isEmpty && plan.unmanaged.isEmpty {
            return head + "Live state matches git: nothing to do.\n"
        }
        head += "| kind | create | update | delete | retain |\n|---|---|---|---|---|\n"
        for kind in Kind.allCases.sorted() {
            let steps = plan.steps.filter { $0.id.kind == kind }
            guard !steps.isEmpty else { continue }
            let n = { (a: Action) in steps.filter { $0.action == a }.count }
            head += "| \(kind.rawValue) | \(n(.create)) | \(n(.update)) | \(n(.delete)) | \(n(.retain)) |\n"
        }
        var notes = ""
        if !plan.orphaned.isEmpty {
            notes += "\n\(plan.orphaned.count) object(s) removed from git are kept because prune is off.\n"
        }
        if !plan.unmanaged.isEmpty {
            notes += "\n\(plan.unmanaged.count) unmanaged row(s) (not created by Accord) are never touched.\n"
        }
        let open = "\n<details><summary>Changes</summary>\n\n```diff\n"
        let close = "```\n</details>\n"
        var body = ""
        var shown = 0
        let budget = limit - head.utf8.count - notes.utf8.count - open.utf8.count - close.utf8.count - 300
        for step in plan.steps {
            let block = lines(for: step).map { Self.fence($0) + "\n" }.joined()
            if body.utf8.count + block.utf8.count > budget { break }
            body += block
            shown += 1
        }
        var out = head + notes
        if !plan.steps.isEmpty {
            out += open + body + close
            if shown < plan.steps.count {
                out += "\n…and \(plan.steps.count - shown) more object(s) not shown; run `accordctl diff` for the full plan.\n"
            }
        }
        return out
    }

    /// Keeps a line from closing the code block.
    static func fence(_ line: String) -> String {
        line.replacingOccurrences(of: "```", with: "'''")
    }
}

/// Which databases a step writes, with a regions file (SPEC §9): every
/// step writes the registry in the control database; a tenant's step also
/// writes its stores and keys in its region's database, and an erasure's
/// run deletes there.
enum Placement {
    static func databases(of step: PlanStep, tenantRegions: [String: String]) -> [String] {
        switch step.id.kind {
        case .tenant:
            let region = step.desired?.record["region"].stringValue ?? tenantRegions[step.id.name]
            return [region.map { "region \($0)" } ?? "region unknown", "control"]
        case .erasure:
            return ["control"] + (step.id.tenant.flatMap { tenantRegions[$0] }.map { ["region \($0)"] } ?? [])
        default:
            return ["control"]
        }
    }

    /// Each tenant's region as desired objects have it.
    static func tenantRegions(_ desired: [DesiredObject]) -> [String: String] {
        var out: [String: String] = [:]
        for d in desired where d.id.kind == .tenant { if let r = d.record["region"].stringValue { out[d.id.name] = r } }
        return out
    }

    /// Each tenant's region as the registry has it (none before Accord ran).
    static func tenantRegions(_ session: Session) async throws -> [String: String] {
        guard try await Migrations.isCurrent(session) else { return [:] }
        return try await RegionDatabases.tenantRegions(session)
    }
}
