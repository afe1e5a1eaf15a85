public enum Trigger: Hashable, Sendable {
    case schedule(String)
    case event(String)
    case manual
}

public enum RuleOperator: String, CaseIterable, Sendable {
    case eq, ne, gt, gte, lt, lte, `in`, exists
}

/// One `when` rule: `{field: context.amount, operator: gte, value: 1000}`.
public struct Rule: Hashable, Sendable {
    public enum Operand: Hashable, Sendable {
        case none
        case scalar(Scalar)
        case list([Scalar])
    }

    /// The path below the context, without the leading `context.`.
    public var path: [String]
    public var op: RuleOperator
    public var operand: Operand

    public init(path: [String], op: RuleOperator, operand: Operand) {
        self.path = path
        self.op = op
        self.operand = operand
    }

    /// The field as written: `context.amount`.
    public var field: String { (["context"] + path).joined(separator: ".") }
}

public struct Step: Hashable, Sendable {
    public var name: String
    public var worker: String
    public var dependsOn: [String] = []
    public var when: [Rule] = []
    /// Output whose confidence is below this goes to a human approval gate.
    public var approvalBelow: Double?
    public var sla: DurationValue?

    public init(name: String, worker: String) {
        self.name = name
        self.worker = worker
    }
}

public struct WorkflowSpec: Hashable, Sendable {
    public var trigger: Trigger
    public var steps: [Step]

    public init(trigger: Trigger, steps: [Step]) {
        self.trigger = trigger
        self.steps = steps
    }
}
