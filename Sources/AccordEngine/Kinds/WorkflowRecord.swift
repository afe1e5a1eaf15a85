import AccordCore

/// A Workflow's row: its `definition` is the canonical spec; a change of it
/// becomes a new immutable row in `platform.workflow_versions`, and
/// `platform.workflows.version` (observed, not compared) points at it.
enum WorkflowRecord {
    static let columns: [Column] = [Column("definition", .json)]

    static func fields(_ spec: WorkflowSpec) -> [String: JSONValue] {
        ["definition": Self.spec(spec)]
    }

    static func spec(_ spec: WorkflowSpec) -> JSONValue {
        let trigger: JSONValue = switch spec.trigger {
        case .schedule(let cron): .object(["schedule": .string(cron)])
        case .event(let event): .object(["event": .string(event)])
        case .manual: .object(["manual": .bool(true)])
        }
        return .object(["trigger": trigger, "steps": .array(spec.steps.map(step))])
    }

    static func step(_ step: Step) -> JSONValue {
        var out: [String: JSONValue] = ["name": .string(step.name), "worker": .string(step.worker)]
        if !step.dependsOn.isEmpty { out["dependsOn"] = JSONValue(strings: step.dependsOn) }
        if !step.when.isEmpty { out["when"] = .array(step.when.map(rule)) }
        if let below = step.approvalBelow { out["approval"] = .object(["confidenceBelow": .number(below)]) }
        if let sla = step.sla { out["sla"] = .string(sla.text) }
        return .object(out)
    }

    static func rule(_ rule: Rule) -> JSONValue {
        var out: [String: JSONValue] = ["field": .string(rule.field), "operator": .string(rule.op.rawValue)]
        switch rule.operand {
        case .none: break
        case .scalar(let s): out["value"] = JSONValue(s)
        case .list(let items): out["value"] = .array(items.map(JSONValue.init))
        }
        return .object(out)
    }
}
