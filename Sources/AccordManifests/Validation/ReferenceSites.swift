import AccordCore

/// What the checks across documents need of one document: every object it
/// refers to and where, and its workflow's step graph. Taken from a
/// decoded manifest, or — for a document with field errors whose identity
/// could be read — salvaged from its YAML wherever a reference field is
/// sound, so a dangling reference or a cycle is reported beside the field
/// errors, all at once (SPEC §1).
struct ReferenceSites: Sendable {
    struct Site: Sendable {
        let target: ObjectID
        let path: String
        /// Where it is written: known (salvaged from the YAML), or the
        /// manifest's field at `path`, looked up only when a problem is
        /// reported there (most references hold).
        private let place: Place
        /// A Store referred to by a tenant must serve the tenant's region.
        var region: Region?
        /// A Store referred to by a retention rule must hold this entry.
        var entry: String?

        enum Place: Sendable {
            case known(SourcePosition)
            case field(of: Manifest)
        }

        init(target: ObjectID, path: String, position: SourcePosition, region: Region? = nil, entry: String? = nil) {
            self.init(target: target, path: path, place: .known(position), region: region, entry: entry)
        }

        init(target: ObjectID, path: String, in manifest: Manifest, region: Region? = nil, entry: String? = nil) {
            self.init(target: target, path: path, place: .field(of: manifest), region: region, entry: entry)
        }

        private init(target: ObjectID, path: String, place: Place, region: Region?, entry: String?) {
            self.target = target
            self.path = path
            self.place = place
            self.region = region
            self.entry = entry
        }

        var position: SourcePosition {
            switch place {
            case .known(let position): position
            case .field(let manifest): manifest.position(of: path)
            }
        }
    }

    /// A workflow's steps: names and what each depends on, with where.
    struct StepLinks: Sendable {
        var names: [String] = []
        var dependsOn: [[String]] = []
        /// `spec.steps[i].dependsOn[j]` → where it is written.
        var positions: [String: SourcePosition] = [:]
        var fallback: SourcePosition
    }

    /// The tenant of a tenant-scoped object (step workers are its own).
    var tenant: String?
    /// A RetentionPolicy's (its rule stores name tables or Stores).
    var isRetentionPolicy = false
    var sites: [Site] = []
    var steps: StepLinks?

    /// The references of a manifest that decoded.
    init(_ m: Manifest) {
        tenant = m.metadata.tenant
        isRetentionPolicy = m.kind == .retentionPolicy
        if let tenant { sites.append(Site(target: ObjectID(kind: .tenant, name: tenant), path: "metadata.tenant", in: m)) }
        func add(_ target: ObjectID, _ path: String) { sites.append(Site(target: target, path: path, in: m)) }
        switch m.spec {
        case .tenant(let spec):
            if let policy = spec.gdpr.retentionPolicy { add(ObjectID(kind: .retentionPolicy, name: policy), "spec.gdpr.retentionPolicy") }
            for (i, store) in spec.stores.enumerated() {
                let path = "spec.stores[\(i)]"
                sites.append(Site(target: ObjectID(kind: .store, name: store), path: path, in: m, region: spec.region))
            }
        case .retentionPolicy(let spec):
            for (i, rule) in spec.rules.enumerated() {
                guard case .store(let name, let entry) = rule.store else { continue }
                let path = "spec.rules[\(i)].store"
                sites.append(Site(target: ObjectID(kind: .store, name: name), path: path, in: m, entry: entry))
            }
        case .worker(let spec):
            add(ObjectID(kind: .model, name: spec.model), "spec.model")
        case .workflow(let spec):
            var links = StepLinks(fallback: m.source)
            for (i, step) in spec.steps.enumerated() {
                if let tenant { add(ObjectID(kind: .worker, tenant: tenant, name: step.worker), "spec.steps[\(i)].worker") }
                links.names.append(step.name)
                links.dependsOn.append(step.dependsOn)
                for j in step.dependsOn.indices {
                    let path = "spec.steps[\(i)].dependsOn[\(j)]"
                    links.positions[path] = m.position(of: path)
                }
            }
            steps = links
        case .model, .erasure, .store, .notification:
            break
        }
    }

    /// The sound references of a document that did not decode: only
    /// values that are names (DNS-1123 labels) count; anything else already
    /// has its own error.
    init(salvaging root: YAMLNode, identity: ObjectID, file: String) {
        tenant = identity.tenant
        isRetentionPolicy = identity.kind == .retentionPolicy
        func position(_ node: YAMLNode) -> SourcePosition { SourcePosition(file: file, line: node.line, column: node.column) }
        func name(_ node: YAMLNode?) -> String? {
            guard let node, case .string(let s)? = node.scalar, Patterns.isDNSLabel(s) else { return nil }
            return s
        }
        if let tenant, let node = root.child("metadata")?.child("tenant") {
            sites.append(Site(target: ObjectID(kind: .tenant, name: tenant), path: "metadata.tenant", position: position(node)))
        }
        guard let spec = root.child("spec") else { return }
        func add(_ kind: Kind, _ node: YAMLNode?, _ path: String, tenant: String? = nil) {
            guard let node, let target = name(node) else { return }
            sites.append(Site(target: ObjectID(kind: kind, tenant: tenant, name: target), path: path, position: position(node)))
        }
        switch identity.kind {
        case .tenant:
            add(.retentionPolicy, spec.child("gdpr")?.child("retentionPolicy"), "spec.gdpr.retentionPolicy")
            let region = spec.child("region").flatMap { node -> Region? in
                guard case .string(let s)? = node.scalar else { return nil }
                return Region(rawValue: s)
            }
            if case .sequence(let items)? = spec.child("stores")?.content {
                for (i, item) in items.enumerated() {
                    guard let store = name(item) else { continue }
                    sites.append(Site(target: ObjectID(kind: .store, name: store), path: "spec.stores[\(i)]", position: position(item), region: region))
                }
            }
        case .retentionPolicy:
            guard case .sequence(let rules)? = spec.child("rules")?.content else { return }
            for (i, rule) in rules.enumerated() {
                guard let node = rule.child("store"), case .string(let s)? = node.scalar, TenantTable(rawValue: s) == nil else { continue }
                let parts = s.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
                guard Patterns.isDNSLabel(parts[0]), parts.count == 1 || !parts[1].isEmpty else { continue }
                sites.append(Site(target: ObjectID(kind: .store, name: parts[0]), path: "spec.rules[\(i)].store", position: position(node),
                                  entry: parts.count == 2 ? parts[1] : nil))
            }
        case .worker:
            add(.model, spec.child("model"), "spec.model")
        case .workflow:
            guard case .sequence(let items)? = spec.child("steps")?.content else { return }
            var links = StepLinks(fallback: position(root))
            var graphSound = true
            for (i, item) in items.enumerated() {
                add(.worker, item.child("worker"), "spec.steps[\(i)].worker", tenant: tenant)
                guard let stepName = name(item.child("name")) else { graphSound = false; continue }
                var depends: [String] = []
                if let list = item.child("dependsOn") {
                    guard case .sequence(let entries) = list.content else { graphSound = false; continue }
                    for (j, entry) in entries.enumerated() {
                        guard let target = name(entry) else { graphSound = false; continue }
                        depends.append(target)
                        links.positions["spec.steps[\(i)].dependsOn[\(j)]"] = position(entry)
                    }
                }
                links.names.append(stepName)
                links.dependsOn.append(depends)
            }
            // A cycle is judged only over a graph read whole: a step left out would hide or invent one.
            if graphSound, Set(links.names).count == links.names.count { steps = links }
        case .model, .erasure, .store, .notification:
            break
        }
    }
}
