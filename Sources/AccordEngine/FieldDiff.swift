import AccordCore

extension PlanStep {
    /// What the step changes, field by field: a create's fields are its
    /// desired row's (worked out here, when shown: applying never needs
    /// them), an update's those the plan found.
    public var fieldChanges: [FieldChange] {
        action == .create && changes.isEmpty ? FieldDiff.changes(kind: id.kind, old: nil, new: desired?.record) : changes
    }
}

/// Field-level differences between two records of the same kind: one change
/// per column, or per leaf inside a JSON column (`definition.steps[1].sla`).
public enum FieldDiff {
    public static func changes(kind: Kind, old: Record?, new: Record?) -> [FieldChange] {
        var out: [FieldChange] = []
        for column in Registry.columns(kind) {
            let before = old.map { $0[column.name] }
            let after = new.map { $0[column.name] }
            if old == nil, after == .null { continue }
            diff(column.name, before, after, into: &out)
        }
        return out
    }

    static func diff(_ path: String, _ old: JSONValue?, _ new: JSONValue?, into out: inout [FieldChange]) {
        if old == new { return }
        switch (old, new) {
        case (.object(let a)?, .object(let b)?):
            for key in Set(a.keys).union(b.keys).sorted() {
                diff("\(path).\(key)", a[key], b[key], into: &out)
            }
        case (.array(let a)?, .array(let b)?) where a.count == b.count:
            for i in a.indices { diff("\(path)[\(i)]", a[i], b[i], into: &out) }
        default:
            out.append(FieldChange(path: path, old: old, new: new))
        }
    }
}
