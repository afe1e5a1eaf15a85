import AccordCore

/// `accordctl simulate workflow`: walks a workflow against a context
/// without touching live state. Pure.
///
/// - Steps run in parallel groups: a step's group is one more than the
///   highest group of the steps it depends on (steps without dependencies
///   are group 1), so the steps of a group may run together.
/// - A step runs when all its `when` rules hold and, if it depends on
///   anything, at least one of those steps ran; a step all of whose
///   dependencies were skipped is skipped too, saying so.
/// - Rules compare the context value at `field` with `value`: `eq`/`ne` and
///   `in` compare values of the same type (numbers with numbers, strings
///   with strings, booleans with booleans); `gt gte lt lte` order numbers
///   only (validation admits nothing else as their value, so a string in the
///   context is a type error); `exists` holds when the field is present and
///   not null. A field the context lacks makes a rule false. Any other
///   pairing of types is a type error, reported with the step, the rule and
///   both types — never guessed.
/// - The critical path is the chain of running steps, along `dependsOn`,
///   with the largest sum of step SLAs (a step without an SLA adds nothing).
public struct WorkflowSimulation: Sendable {
    public struct RuleResult: Sendable {
        public let rule: Rule
        /// The context value the rule saw; nil when the field is missing.
        public let seen: JSONValue?
        public let holds: Bool
    }

    public struct StepResult: Sendable {
        public let step: Step
        /// 1-based parallel group.
        public let group: Int
        public let runs: Bool
        /// Why a skipped step does not run.
        public let skipReason: String?
        public let rules: [RuleResult]
    }

    public struct Failure: Error, CustomStringConvertible {
        public let problems: [String]
        public var description: String { problems.joined(separator: "\n") }
    }

    /// Steps in group order, then in the order the workflow lists them.
    public let steps: [StepResult]
    public let groups: [[String]]
    public let criticalPath: [String]
    public let criticalPathSeconds: Int

    public static func run(_ spec: WorkflowSpec, context: JSONValue) throws -> WorkflowSimulation {
        var problems: [String] = []
        let byName = Dictionary(spec.steps.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        if byName.count != spec.steps.count { problems.append("step names are not unique") }
        for step in spec.steps {
            for dep in step.dependsOn where byName[dep] == nil {
                problems.append("step \(step.name) depends on \(dep), which is not a step of this workflow (unreachable)")
            }
        }
        guard problems.isEmpty else { throw Failure(problems: problems) }

        let group = try levels(spec.steps)
        let ordered = spec.steps.enumerated().sorted { (group[$0.element.name]!, $0.offset) < (group[$1.element.name]!, $1.offset) }
            .map(\.element)

        var results: [String: StepResult] = [:]
        var out: [StepResult] = []
        for step in ordered {
            var rules: [RuleResult] = []
            for (i, rule) in step.when.enumerated() {
                do {
                    rules.append(try evaluate(rule, context))
                } catch let message as RuleTypeError {
                    problems.append("step \(step.name): when[\(i)] (\(rule.field) \(rule.op.rawValue)\(operandText(rule.operand))): \(message.text)")
                    rules.append(RuleResult(rule: rule, seen: lookup(rule.path, context), holds: false))
                }
            }
            var skip: String?
            if !step.dependsOn.isEmpty, step.dependsOn.allSatisfy({ results[$0]?.runs == false }) {
                skip = "every step it depends on was skipped (\(step.dependsOn.joined(separator: ", ")))"
            } else if let failed = rules.first(where: { !$0.holds }) {
                skip = "when: \(failed.rule.field) \(failed.rule.op.rawValue)\(operandText(failed.rule.operand)) is false (\(seenText(failed.seen)))"
            }
            let result = StepResult(step: step, group: group[step.name]!, runs: skip == nil, skipReason: skip, rules: rules)
            results[step.name] = result
            out.append(result)
        }
        guard problems.isEmpty else { throw Failure(problems: problems) }

        // Critical path over running steps.
        var best: [String: (seconds: Int, previous: String?)] = [:]
        for r in out where r.runs {
            let own = r.step.sla?.seconds ?? 0
            let previous = r.step.dependsOn.filter { results[$0]?.runs == true }
                .max { (best[$0]?.seconds ?? 0, $1) < (best[$1]?.seconds ?? 0, $0) }
            best[r.step.name] = (own + (previous.flatMap { best[$0]?.seconds } ?? 0), previous)
        }
        var path: [String] = []
        var total = 0
        if let end = out.filter(\.runs).max(by: { (best[$0.step.name]!.seconds, $1.step.name) < (best[$1.step.name]!.seconds, $0.step.name) }) {
            total = best[end.step.name]!.seconds
            var cursor: String? = end.step.name
            while let name = cursor {
                path.append(name)
                cursor = best[name]?.previous
            }
            path.reverse()
        }
        // `out` is in group order, and every group below a step's holds one
        // of its dependencies: one pass splits it.
        var groups: [[String]] = []
        for r in out {
            while groups.count < r.group { groups.append([]) }
            groups[r.group - 1].append(r.step.name)
        }
        return WorkflowSimulation(steps: out, groups: groups, criticalPath: path, criticalPathSeconds: total)
    }

    /// Each step's group: 1 without dependencies, else one more than the
    /// highest group among them. Iterative (Kahn's algorithm), so a chain
    /// as long as validation admits needs no deep stack; a step left over
    /// lies on a cycle or after one, which is an error.
    static func levels(_ steps: [Step]) throws -> [String: Int] {
        var waiting: [String: Int] = [:]
        var dependents: [String: [String]] = [:]
        var group: [String: Int] = [:]
        var ready: [String] = []
        for step in steps {
            waiting[step.name] = step.dependsOn.count
            for dep in step.dependsOn { dependents[dep, default: []].append(step.name) }
            if step.dependsOn.isEmpty {
                group[step.name] = 1
                ready.append(step.name)
            }
        }
        while let name = ready.popLast() {
            let next = group[name]! + 1
            for dependent in dependents[name] ?? [] {
                group[dependent] = max(group[dependent] ?? 0, next)
                waiting[dependent]! -= 1
                if waiting[dependent] == 0 { ready.append(dependent) }
            }
        }
        let stuck = steps.map(\.name).filter { waiting[$0]! > 0 }
        guard stuck.isEmpty else {
            let shown = stuck.prefix(10).joined(separator: ", ") + (stuck.count > 10 ? " and \(stuck.count - 10) more" : "")
            throw Failure(problems: ["steps on a dependency cycle, or depending on one: \(shown)"])
        }
        return group
    }

    struct RuleTypeError: Error { let text: String }

    static func lookup(_ path: [String], _ context: JSONValue) -> JSONValue? {
        var value = context
        for key in path {
            guard case .object(let o) = value, let next = o[key] else { return nil }
            value = next
        }
        return value
    }

    static func evaluate(_ rule: Rule, _ context: JSONValue) throws -> RuleResult {
        let seen = lookup(rule.path, context)
        let result = { (holds: Bool) in RuleResult(rule: rule, seen: seen, holds: holds) }
        if rule.op == .exists { return result(seen != nil && seen != .null) }
        guard let seen else { return result(false) }
        switch (rule.op, rule.operand) {
        case (.eq, .scalar(let s)), (.ne, .scalar(let s)):
            guard let same = equal(seen, s) else {
                throw RuleTypeError(text: "the context holds \(typeName(seen)) (\(seen.display)) but the rule compares it with \(scalarTypeName(s))")
            }
            return result(rule.op == .eq ? same : !same)
        case (.in, .list(let items)):
            let comparable = items.compactMap { equal(seen, $0) }
            guard !comparable.isEmpty || items.isEmpty else {
                throw RuleTypeError(text: "the context holds \(typeName(seen)) (\(seen.display)) but the list holds \(Set(items.map(scalarTypeName)).sorted().joined(separator: " and "))")
            }
            return result(comparable.contains(true))
        case (.gt, .scalar(let s)), (.gte, .scalar(let s)), (.lt, .scalar(let s)), (.lte, .scalar(let s)):
            let order: Int
            switch (seen, s) {
            case (.number(let a), .integer(let b)): order = a < Double(b) ? -1 : a > Double(b) ? 1 : 0
            case (.number(let a), .number(let b)): order = a < b ? -1 : a > b ? 1 : 0
            default:
                throw RuleTypeError(text: "\(rule.op.rawValue) orders numbers only; the context holds \(typeName(seen)) (\(seen.display)) and the rule \(scalarTypeName(s))")
            }
            return result(rule.op == .gt ? order > 0 : rule.op == .gte ? order >= 0 : rule.op == .lt ? order < 0 : order <= 0)
        default:
            throw RuleTypeError(text: "operator \(rule.op.rawValue) does not take this value")
        }
    }

    /// Whether a context value equals a rule's value; nil when their
    /// types cannot be compared.
    static func equal(_ value: JSONValue, _ scalar: Scalar) -> Bool? {
        switch (value, scalar) {
        case (.number(let a), .integer(let b)): a == Double(b)
        case (.number(let a), .number(let b)): a == b
        case (.string(let a), .string(let b)): a == b
        case (.bool(let a), .bool(let b)): a == b
        case (.null, .null): true
        default: nil
        }
    }

    static func typeName(_ v: JSONValue) -> String {
        switch v {
        case .null: "null"
        case .bool: "a boolean"
        case .number: "a number"
        case .string: "a string"
        case .array: "a list"
        case .object: "a mapping"
        }
    }

    static func scalarTypeName(_ s: Scalar) -> String {
        switch s {
        case .string: "a string"
        case .integer, .number: "a number"
        case .bool: "a boolean"
        case .null: "null"
        }
    }

    public static func operandText(_ operand: Rule.Operand) -> String {
        switch operand {
        case .none: ""
        case .scalar(let s): " \(s)"
        case .list(let items): " [\(items.map(\.description).joined(separator: ", "))]"
        }
    }

    public static func seenText(_ seen: JSONValue?) -> String {
        seen.map { "saw \($0.display)" } ?? "missing from the context"
    }

    /// `4h30m`, `2d`, `45s`, `0s`.
    public static func durationText(_ seconds: Int) -> String {
        guard seconds > 0 else { return "0s" }
        var rest = seconds
        var out = ""
        for (unit, size) in [("d", 86_400), ("h", 3_600), ("m", 60), ("s", 1)] where rest >= size {
            out += "\(rest / size)\(unit)"
            rest %= size
        }
        return out
    }
}
