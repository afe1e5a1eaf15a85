import AccordCore

extension Decoding {
    mutating func workflowSpec(_ node: YAMLNode) -> WorkflowSpec? {
        guard let f = fields(node, "spec", allowed: ["trigger", "steps"], required: ["trigger", "steps"], owner: "a Workflow spec") else { return nil }
        let before = diagnostics.count
        let trigger = f["trigger"].flatMap { workflowTrigger($0) }
        var steps: [Step] = []
        if let items = f["steps"].flatMap({ list($0, "spec.steps", nonEmpty: true) }) {
            for (i, item) in items.enumerated() {
                if let step = workflowStep(item, "spec.steps[\(i)]") { steps.append(step) }
            }
            checkStepNames(items, steps)
        }
        guard diagnostics.count == before, let trigger else { return nil }
        return WorkflowSpec(trigger: trigger, steps: steps)
    }

    private mutating func workflowTrigger(_ node: YAMLNode) -> Trigger? {
        guard let f = fields(node, "spec.trigger", allowed: ["schedule", "event", "manual"], owner: "spec.trigger") else { return nil }
        guard f.count == 1, let (key, value) = f.first else {
            error(node, "spec.trigger", "must have exactly one of \"schedule\", \"event\" or \"manual\"")
            return nil
        }
        let path = "spec.trigger.\(key)"
        switch key {
        case "schedule":
            guard let s = string(value, path) else { return nil }
            if let problem = Cron.problem(s) {
                error(value, path, "\(Decoding.show(s)) is not a cron expression: \(problem)")
                return nil
            }
            return .schedule(s)
        case "event":
            return string(value, path, matching: Patterns.isEventName, rule: "an event name (lowercase letters, digits, '_', '-' and '.')").map(Trigger.event)
        default:
            guard let b = bool(value, path) else { return nil }
            guard b else {
                error(value, path, "must be true (a workflow needs a trigger)")
                return nil
            }
            return .manual
        }
    }

    private mutating func workflowStep(_ node: YAMLNode, _ path: String) -> Step? {
        guard let f = fields(node, path, allowed: ["name", "worker", "dependsOn", "when", "approval", "sla"],
                             required: ["name", "worker"], owner: "a workflow step") else { return nil }
        let before = diagnostics.count
        let name = f["name"].flatMap { objectName($0, "\(path).name") }
        let worker = f["worker"].flatMap { reference($0, "\(path).worker") }
        var dependsOn: [String] = []
        if let items = f["dependsOn"].flatMap({ list($0, "\(path).dependsOn") }) {
            for (i, item) in items.enumerated() {
                guard let dep = objectName(item, "\(path).dependsOn[\(i)]") else { continue }
                if dependsOn.contains(dep) {
                    error(item, "\(path).dependsOn[\(i)]", "\(Decoding.show(dep)) is listed twice")
                } else {
                    dependsOn.append(dep)
                }
            }
        }
        var rules: [Rule] = []
        if let items = f["when"].flatMap({ list($0, "\(path).when") }) {
            for (i, item) in items.enumerated() {
                if let rule = whenRule(item, "\(path).when[\(i)]") { rules.append(rule) }
            }
        }
        var approval: Double?
        if let a = f["approval"], let af = fields(a, "\(path).approval", allowed: ["confidenceBelow"], required: ["confidenceBelow"], owner: "an approval gate") {
            approval = af["confidenceBelow"].flatMap { number($0, "\(path).approval.confidenceBelow", in: 0...1) }
        }
        let sla = f["sla"].flatMap { duration($0, "\(path).sla") }
        guard diagnostics.count == before, let name, let worker else { return nil }
        var step = Step(name: name, worker: worker)
        step.dependsOn = dependsOn
        step.when = rules
        step.approvalBelow = approval
        step.sla = sla
        return step
    }

    private mutating func whenRule(_ node: YAMLNode, _ path: String) -> Rule? {
        guard let f = fields(node, path, allowed: ["field", "operator", "value"], required: ["field", "operator"], owner: "a when rule") else { return nil }
        var fieldPath: [String]?
        if let n = f["field"], let s = string(n, "\(path).field") {
            let parts = s.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
            if parts.count >= 2, parts[0] == "context", parts.dropFirst().allSatisfy({ isContextKey($0) }) {
                fieldPath = Array(parts.dropFirst())
            } else {
                error(n, "\(path).field", "\(Decoding.show(s)) is not a context field (context.<key>[.<key>…], keys of letters, digits, '_' and '-')")
            }
        }
        let op = f["operator"].flatMap { oneOf($0, "\(path).operator", RuleOperator.self) }
        guard let op else { return nil }
        let operand: Rule.Operand
        let valuePath = "\(path).value"
        switch (op, f["value"]) {
        case (.exists, nil):
            operand = .none
        case (.exists, let v?):
            error(node.keyNode("value") ?? v, valuePath, "not allowed: operator exists takes no value")
            return nil
        case (_, nil):
            error(node, path, "missing required field \"value\" (operator \(op.rawValue) compares with a value)")
            return nil
        case (.in, let v?):
            guard let items = list(v, valuePath, nonEmpty: true) else { return nil }
            var scalars: [Scalar] = []
            for (i, item) in items.enumerated() {
                guard let s = item.scalar, s != .null else {
                    error(item, "\(valuePath)[\(i)]", "must be a string, number or boolean; got \(describe(item))")
                    return nil
                }
                guard comparable(s, item, "\(valuePath)[\(i)]") else { return nil }
                scalars.append(s)
            }
            operand = .list(scalars)
        case (.gt, let v?), (.gte, let v?), (.lt, let v?), (.lte, let v?):
            guard number(v, valuePath) != nil, let s = v.scalar, comparable(s, v, valuePath) else { return nil }
            operand = .scalar(s)
        case (_, let v?):
            guard let s = v.scalar else {
                error(v, valuePath, "must be a string, number, boolean or null; got \(describe(v))")
                return nil
            }
            guard comparable(s, v, valuePath) else { return nil }
            operand = .scalar(s)
        }
        guard let fieldPath else { return nil }
        return Rule(path: fieldPath, op: op, operand: operand)
    }

    /// The largest magnitude up to which every integer is a double: rules
    /// compare with context values read as IEEE doubles, so a number beyond
    /// it could not be compared exactly.
    static let exactNumberLimit = 9_007_199_254_740_992

    /// Whether a rule's value is one the simulator compares exactly: a
    /// finite number within ±2^53 (strings, booleans and null always are).
    private mutating func comparable(_ s: Scalar, _ node: YAMLNode, _ path: String) -> Bool {
        let limit = Self.exactNumberLimit
        switch s {
        case .integer(let i) where i.magnitude <= UInt(limit): return true
        case .number(let d) where d.isFinite && d.magnitude <= Double(limit): return true
        case .number(let d) where !d.isFinite:
            error(node, path, "must be a finite number; got \(describe(node))")
            return false
        case .integer, .number:
            error(node, path, "must be between -\(limit) and \(limit) (±2^53, the range in which rules compare numbers exactly); got \(describe(node))")
            return false
        default: return true
        }
    }

    private func isContextKey(_ key: String) -> Bool {
        !key.isEmpty && key.utf8.count <= 63 && key.unicodeScalars.allSatisfy {
            ($0.properties.isAlphabetic && $0.isASCII) || ("0"..."9").contains($0) || $0 == "_" || $0 == "-"
        }
    }

    /// Step names unique; every `dependsOn` names another step.
    private mutating func checkStepNames(_ items: [YAMLNode], _ steps: [Step]) {
        var firstIndex: [String: Int] = [:]
        for (i, item) in items.enumerated() {
            guard let nameNode = item.child("name"), case .string(let name)? = nameNode.scalar else { continue }
            if let first = firstIndex[name] {
                error(nameNode, "spec.steps[\(i)].name", "duplicate step name \(Decoding.show(name)); first used by spec.steps[\(first)]")
            } else {
                firstIndex[name] = i
            }
        }
        for (i, item) in items.enumerated() {
            guard let deps = item.child("dependsOn"), case .sequence(let depNodes) = deps.content else { continue }
            let own = item.child("name")?.scalarText
            for (j, depNode) in depNodes.enumerated() {
                guard case .string(let dep)? = depNode.scalar, Patterns.isDNSLabel(dep) else { continue }
                if dep == own {
                    error(depNode, "spec.steps[\(i)].dependsOn[\(j)]", "a step cannot depend on itself")
                } else if firstIndex[dep] == nil {
                    error(depNode, "spec.steps[\(i)].dependsOn[\(j)]", "no step named \(Decoding.show(dep)) in this workflow")
                }
            }
        }
    }
}

extension YAMLNode {
    /// The value of a string key in a mapping.
    func child(_ key: String) -> YAMLNode? {
        guard case .mapping(let pairs) = content else { return nil }
        return pairs.first { $0.key.scalarText == key }?.value
    }

    /// The key node itself, for errors about a field that must not be there.
    func keyNode(_ key: String) -> YAMLNode? {
        guard case .mapping(let pairs) = content else { return nil }
        return pairs.first { $0.key.scalarText == key }?.key
    }
}
