import AccordCore

/// The objects a desired object refers to, read from its row: its tenant,
/// a tenant's retention policy, a worker's model, a workflow's workers.
public enum References {
    public static func of(_ record: Record) -> [ObjectID] {
        let id = record.id
        var out: [ObjectID] = []
        if let tenant = id.tenant { out.append(ObjectID(kind: .tenant, name: tenant)) }
        switch id.kind {
        case .tenant:
            if case .string(let policy) = record["retention_policy"] { out.append(ObjectID(kind: .retentionPolicy, name: policy)) }
            if case .array(let stores) = record["external_stores"] {
                out += stores.compactMap { $0.stringValue.map { ObjectID(kind: .store, name: $0) } }
            }
        case .retentionPolicy:
            // A rule on an external store (`STORE` or `STORE/ENTRY`).
            for rule in record["rules"].arrayValue ?? [] where rule["external"] == .bool(true) {
                if let store = rule["store"]?.stringValue?.split(separator: "/").first { out.append(ObjectID(kind: .store, name: String(store))) }
            }
        case .worker:
            if case .string(let model) = record["model"] { out.append(ObjectID(kind: .model, name: model)) }
        case .workflow:
            if case .array(let steps) = record["definition"]["steps"] ?? .null {
                for s in steps {
                    if case .string(let worker) = s["worker"] ?? .null { out.append(ObjectID(kind: .worker, tenant: id.tenant, name: worker)) }
                }
            }
        default: break
        }
        return out
    }
}
