import AccordCore

/// What one YAML document turned into.
struct DecodedDocument: Sendable {
    /// Set whenever kind and names are sound, even if the spec is not, so
    /// that references to the object do not cascade into more errors.
    var identity: ObjectID?
    var manifest: Manifest?
    var diagnostics: [Diagnostic]
    /// For a document with field errors whose identity could be read: the
    /// references and step graph that could still be read.
    var salvaged: ReferenceSites?
}

enum DocumentDecoder {
    static let apiVersion = "accord.dev/v1"

    static func decode(_ root: YAMLNode, file: String) -> DecodedDocument {
        var d = Decoding(file: file)
        let source = d.position(root)
        guard let top = d.fields(root, "", allowed: ["apiVersion", "kind", "metadata", "spec"],
                                 required: ["apiVersion", "kind", "metadata", "spec"], owner: "a manifest") else {
            return DecodedDocument(diagnostics: d.diagnostics)
        }
        if let node = top["apiVersion"], let version = d.string(node, "apiVersion"), version != apiVersion {
            d.error(node, "apiVersion", "must be \"\(apiVersion)\"; got \(Decoding.show(version))")
        }
        let kind = top["kind"].flatMap { d.oneOf($0, "kind", Kind.self) }
        let metadata = top["metadata"].flatMap { d.metadata($0, kind: kind) }

        var identity: ObjectID?
        if let kind, let metadata, (metadata.tenant != nil) == kind.isTenantScoped {
            identity = ObjectID(kind: kind, tenant: metadata.tenant, name: metadata.name)
        }
        var spec: Spec?
        if let kind, let node = top["spec"] {
            spec = d.spec(node, kind: kind)
        }
        if kind == .erasure { d.refuseEmailAddresses(root, path: "") }
        if case .tenant(let tenant)? = spec, tenant.effectiveIsolation == .schema, let name = metadata?.name,
           name.utf8.count > Decoding.maxSchemaTenantName, let node = top["metadata"] {
            d.error(node.child("name") ?? node, "metadata.name",
                    "a tenant with isolation schema has a name of at most \(Decoding.maxSchemaTenantName) characters, so that its schema tenant_<name> fits PostgreSQL's 63-byte identifier limit; \(Decoding.show(name)) has \(name.utf8.count)")
        }

        var manifest: Manifest?
        if d.diagnostics.isEmpty, let metadata, let spec {
            manifest = Manifest(metadata: metadata, spec: spec, source: source, positions: d.positions)
        }
        var salvaged: ReferenceSites?
        if manifest == nil, let identity { salvaged = ReferenceSites(salvaging: root, identity: identity, file: file) }
        return DecodedDocument(identity: identity, manifest: manifest, diagnostics: d.diagnostics, salvaged: salvaged)
    }
}

extension Decoding {
    /// `tenant_` and the name must fit in PostgreSQL's 63-byte identifiers.
    static let maxSchemaTenantName = 63 - "tenant_".utf8.count

    mutating func spec(_ node: YAMLNode, kind: Kind) -> Spec? {
        switch kind {
        case .tenant: tenantSpec(node).map(Spec.tenant)
        case .worker: workerSpec(node).map(Spec.worker)
        case .workflow: workflowSpec(node).map(Spec.workflow)
        case .retentionPolicy: retentionPolicySpec(node).map(Spec.retentionPolicy)
        case .model: modelSpec(node).map(Spec.model)
        case .erasure: erasureSpec(node).map(Spec.erasure)
        case .store: storeSpec(node).map(Spec.store)
        case .notification: notificationSpec(node).map(Spec.notification)
        }
    }

    static let metadataFields = ["name", "tenant", "labels", "annotations"]

    mutating func metadata(_ metadataNode: YAMLNode, kind: Kind?) -> Metadata? {
        guard let f = fields(metadataNode, "metadata", allowed: Self.metadataFields, required: ["name"], owner: "metadata") else { return nil }
        return metadata(metadataNode, kind: kind) { f[$0] }
    }

    /// The metadata from its fields' values, once the mapping's keys are
    /// checked (by `fields`, or as `WorkerEvents` reads them).
    mutating func metadata(_ metadataNode: YAMLNode, kind: Kind?, _ field: (String) -> YAMLNode?) -> Metadata? {
        let node = metadataNode
        let name = field("name").flatMap { objectName($0, "metadata.name") }
        var tenant: String?
        var tenantOK = true
        if let node = field("tenant") {
            if let kind, !kind.isTenantScoped {
                error(metadataNode.keyNode("tenant") ?? node, "metadata.tenant", "not allowed: \(kind.rawValue) objects are cluster-scoped")
                tenantOK = false
            } else {
                tenant = objectName(node, "metadata.tenant")
                tenantOK = tenant != nil
            }
        } else if let kind, kind.isTenantScoped {
            error(node, "metadata", "missing required field \"tenant\" (\(kind.rawValue) objects belong to a tenant)")
            tenantOK = false
        }
        let labels = field("labels").flatMap { stringMap($0, "metadata.labels", maxValue: 63, allowWhitespace: false) }
        let annotations = field("annotations").flatMap { stringMap($0, "metadata.annotations", maxValue: 65_536, allowWhitespace: true) }
        guard let name, tenantOK,
              field("labels") == nil || labels != nil, field("annotations") == nil || annotations != nil else { return nil }
        return Metadata(name: name, tenant: tenant, labels: labels ?? [:], annotations: annotations ?? [:])
    }

    /// A DNS-1123 label naming an object.
    mutating func objectName(_ node: YAMLNode, _ path: String) -> String? {
        // The usual name: a DNS-1123 label is ASCII without controls, and at most 63 long.
        if case .string(let s)? = node.scalar, Patterns.isDNSLabel(s) { return s }
        guard let s = string(node, path) else { return nil }
        if Text.containsControl(s) {
            error(node, path, "contains a control character; names are DNS-1123 labels")
            return nil
        }
        if s.unicodeScalars.count > 63 {
            error(node, path, "is \(s.unicodeScalars.count) characters long; a name has at most 63")
            return nil
        }
        if let (offset, scalar) = s.unicodeScalars.enumerated().first(where: { !$0.element.isASCII }) {
            // A look-alike (Cyrillic а, full-width ａ) or an invisible character
            // (zero-width joiner) reads like a valid name: say which one it is.
            error(node, path, "\(Decoding.show(s)) is not a DNS-1123 label: character \(offset + 1) is \(Text.describe(scalar)), not an ASCII letter or digit")
            return nil
        }
        guard Patterns.isDNSLabel(s) else {
            error(node, path, "\(Decoding.show(s)) is not a DNS-1123 label (lowercase letters, digits and '-', starting and ending with a letter or digit)")
            return nil
        }
        return s
    }

    /// A reference to another object by name: a DNS-1123 label.
    mutating func reference(_ node: YAMLNode, _ path: String) -> String? {
        objectName(node, path)
    }

    mutating func stringMap(_ node: YAMLNode, _ path: String, maxValue: Int, allowWhitespace: Bool) -> [String: String]? {
        guard let entries = stringKeyed(node, path) else { return nil }
        var out: [String: String] = [:]
        var ok = true
        for (key, keyNode, valueNode) in entries {
            let entryPath = Decoding.join(path, Decoding.show(key, limit: 40).dropQuotesIfPlain())
            if key.isEmpty || key.utf8.count > 253 || Text.containsControl(key) || key.unicodeScalars.contains(where: { $0 == " " }) {
                error(keyNode, entryPath, "keys must be 1 to 253 characters without spaces or control characters")
                ok = false
                continue
            }
            guard let value = string(valueNode, entryPath, nonEmpty: false) else { ok = false; continue }
            if Text.containsControl(value, allowingWhitespace: allowWhitespace) {
                error(valueNode, entryPath, "contains a control character")
                ok = false
            } else if value.utf8.count > maxValue {
                error(valueNode, entryPath, "is \(value.utf8.count) bytes long; at most \(maxValue) allowed")
                ok = false
            } else {
                out[key] = value
            }
        }
        return ok ? out : nil
    }

    /// An Erasure must identify its subject only by hash: any key or value
    /// shaped like an e-mail address is refused (and never echoed).
    mutating func refuseEmailAddresses(_ node: YAMLNode, path: String) {
        switch node.content {
        case .scalar(let text, _, _):
            if Patterns.containsEmailAddress(text) {
                error(node, path, "holds a raw e-mail address; an Erasure names its subject only by spec.subjectEmailHash (sha256:<hex of the address>)")
            }
        case .sequence(let items):
            for (i, item) in items.enumerated() { refuseEmailAddresses(item, path: "\(path)[\(i)]") }
        case .mapping(let pairs):
            for pair in pairs {
                let key = pair.key.scalarText ?? "?"
                let childPath = Decoding.join(path, Patterns.containsEmailAddress(key) ? "<key>" : key)
                refuseEmailAddresses(pair.key, path: childPath)
                refuseEmailAddresses(pair.value, path: childPath)
            }
        }
    }
}
