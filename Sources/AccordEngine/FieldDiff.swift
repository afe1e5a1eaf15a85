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
/// per column, or per leaf inside a JSON column. Lists of objects that each
/// carry a unique `name` (workflow steps) or `store` (retention rules) are
/// matched by it, not by position: `definition.steps[enrich].sla`, and a
/// step added in the middle is one change, not a shift of every later one.
public enum FieldDiff {
    /// The fields that identify an element of a list, in order of preference.
    static let keys = ["name", "store"]

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
        case (.array(let a)?, .array(let b)?):
            if let key = keys.first(where: { identifies($0, a) && identifies($0, b) }) {
                let before = Dictionary(uniqueKeysWithValues: a.map { ($0[key]!.stringValue!, $0) })
                let after = Dictionary(uniqueKeysWithValues: b.map { ($0[key]!.stringValue!, $0) })
                let found = out.count
                let names = b.map { $0[key]!.stringValue! } + a.map { $0[key]!.stringValue! }.filter { after[$0] == nil }
                for name in names { diff("\(path)[\(name)]", before[name], after[name], into: &out) }
                if out.count == found {
                    // The same elements in another order.
                    out.append(FieldChange(path: "\(path) (order)", old: JSONValue(strings: a.map { $0[key]!.stringValue! }),
                                           new: JSONValue(strings: b.map { $0[key]!.stringValue! })))
                }
            } else if a.count == b.count {
                for i in a.indices { diff("\(path)[\(i)]", a[i], b[i], into: &out) }
            } else {
                out.append(FieldChange(path: path, old: old, new: new))
            }
        default:
            out.append(FieldChange(path: path, old: old, new: new))
        }
    }

    /// Every element is an object with a distinct string under `key`.
    static func identifies(_ key: String, _ items: [JSONValue]) -> Bool {
        var seen = Set<String>()
        for item in items {
            guard let value = item[key]?.stringValue, seen.insert(value).inserted else { return false }
        }
        return true
    }
}
