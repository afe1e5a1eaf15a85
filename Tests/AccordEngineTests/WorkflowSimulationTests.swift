import AccordCore
import AccordEngine
import Testing

/// `simulate workflow` on plain values: order, skips, gates, critical path, errors.
@Suite struct WorkflowSimulationTests {
    static func step(_ name: String, after: [String] = [], when: [Rule] = [], sla: Int? = nil, approval: Double? = nil) -> Step {
        var s = Step(name: name, worker: "w-\(name)")
        s.dependsOn = after
        s.when = when
        s.sla = sla.map { DurationValue(seconds: $0 * 3600, text: "\($0)h") }
        s.approvalBelow = approval
        return s
    }

    static func rule(_ path: String, _ op: RuleOperator, _ operand: Rule.Operand = .none) -> Rule {
        Rule(path: path.split(separator: ".").map(String.init), op: op, operand: operand)
    }

    /// a → (b, c) → d: b needs amount ≥ 1000, c needs region in [eu, uk].
    static let diamond = WorkflowSpec(trigger: .manual, steps: [
        step("d", after: ["b", "c"], sla: 1, approval: 0.7),
        step("a", sla: 2),
        step("b", after: ["a"], when: [rule("amount", .gte, .scalar(.integer(1000)))], sla: 4),
        step("c", after: ["a"], when: [rule("region", .in, .list([.string("eu"), .string("uk")]))], sla: 1),
    ])

    @Test func aDiamondRunsInParallelGroupsWithItsCriticalPath() throws {
        let s = try WorkflowSimulation.run(Self.diamond, context: .object(["amount": .number(2500), "region": .string("eu")]))
        #expect(s.groups == [["a"], ["b", "c"], ["d"]])
        #expect(s.steps.allSatisfy { $0.runs })
        #expect(s.criticalPath == ["a", "b", "d"])
        #expect(s.criticalPathSeconds == 7 * 3600)
        #expect(WorkflowSimulation.durationText(s.criticalPathSeconds) == "7h")
        #expect(s.steps.first { $0.step.name == "b" }?.rules.first?.seen == .number(2500))
        #expect(s.steps.first { $0.step.name == "d" }?.step.approvalBelow == 0.7)
    }

    @Test func aFailingConditionSkipsItsStepAndTheJoinRunsOnTheOtherBranch() throws {
        let s = try WorkflowSimulation.run(Self.diamond, context: .object(["amount": .number(10), "region": .string("eu")]))
        let b = s.steps.first { $0.step.name == "b" }!
        #expect(!b.runs)
        #expect(b.skipReason == "when: context.amount gte 1000 is false (saw 10)")
        #expect(s.steps.first { $0.step.name == "d" }?.runs == true, "d still has c")
        #expect(s.criticalPath == ["a", "c", "d"])
        #expect(s.criticalPathSeconds == 4 * 3600)
    }

    @Test func aStepWhoseDependenciesAreAllSkippedIsSkippedSayingWhy() throws {
        let s = try WorkflowSimulation.run(Self.diamond, context: .object(["amount": .number(10)]))
        let c = s.steps.first { $0.step.name == "c" }!
        #expect(c.skipReason == "when: context.region in [\"eu\", \"uk\"] is false (missing from the context)")
        #expect(s.steps.first { $0.step.name == "d" }?.skipReason == "every step it depends on was skipped (b, c)")
        #expect(s.criticalPath == ["a"])
    }

    @Test func operatorsCompareOnlyValuesOfTheSameType() throws {
        let ctx: JSONValue = .object(["n": .number(5), "s": .string("2026-11-01"), "flag": .bool(true), "nothing": .null,
                                      "nested": .object(["x": .string("y")])])
        let cases: [(Rule, Bool)] = [
            (Self.rule("n", .eq, .scalar(.integer(5))), true), (Self.rule("n", .ne, .scalar(.number(5.5))), true),
            (Self.rule("n", .lt, .scalar(.integer(6))), true), (Self.rule("n", .lte, .scalar(.integer(4))), false),
            (Self.rule("n", .gt, .scalar(.number(4.5))), true), (Self.rule("flag", .eq, .scalar(.bool(true))), true),
            (Self.rule("nested.x", .in, .list([.string("y"), .string("z")])), true), (Self.rule("nothing", .exists), false),
            (Self.rule("nested", .exists), true), (Self.rule("absent", .gt, .scalar(.integer(1))), false),
        ]
        for (rule, holds) in cases {
            let spec = WorkflowSpec(trigger: .manual, steps: [Self.step("only", when: [rule])])
            #expect(try WorkflowSimulation.run(spec, context: ctx).steps[0].runs == holds, "\(rule.field) \(rule.op)")
        }
        let wrong: [Rule] = [
            Self.rule("s", .gt, .scalar(.integer(1))), Self.rule("n", .eq, .scalar(.string("5"))),
            Self.rule("flag", .in, .list([.integer(1)])), Self.rule("nested", .eq, .scalar(.string("y"))),
            // Validation admits only numbers for the ordering operators: a string never orders.
            Self.rule("s", .gte, .scalar(.string("2026-10-31"))), Self.rule("flag", .lt, .scalar(.integer(1))),
        ]
        for rule in wrong {
            let spec = WorkflowSpec(trigger: .manual, steps: [Self.step("only", when: [rule])])
            #expect(throws: WorkflowSimulation.Failure.self, "\(rule.field) \(rule.op)") { try WorkflowSimulation.run(spec, context: ctx) }
        }
        do {
            _ = try WorkflowSimulation.run(WorkflowSpec(trigger: .manual, steps: [Self.step("only", when: [wrong[0]])]), context: ctx)
        } catch let failure as WorkflowSimulation.Failure {
            #expect(failure.problems == [
                "step only: when[0] (context.s gt 1): gt orders numbers only; the context holds a string (\"2026-11-01\") and the rule a number",
            ])
        }
    }

    @Test func aChainAsLongAsValidationAdmitsIsSimulatedWithoutDeepRecursion() throws {
        // 50,000 steps in one line of dependencies: a 4 MiB file holds that
        // many, and validation's cycle check takes them (ValidationTests).
        let count = 50_000
        let steps = (0..<count).map { Self.step("s\($0)", after: $0 == 0 ? [] : ["s\($0 - 1)"], sla: 1) }
        let s = try WorkflowSimulation.run(WorkflowSpec(trigger: .manual, steps: Array(steps.reversed())), context: .object([:]))
        #expect(s.groups.count == count)
        #expect(s.groups.first == ["s0"] && s.groups.last == ["s\(count - 1)"])
        #expect(s.steps.allSatisfy { $0.runs })
        #expect(s.criticalPath.count == count && s.criticalPath.first == "s0")
        #expect(s.criticalPathSeconds == count * 3600)

        // The same chain with the first step skipped: the skip travels down it.
        var skipped = steps
        skipped[0].when = [Self.rule("go", .exists)]
        let t = try WorkflowSimulation.run(WorkflowSpec(trigger: .manual, steps: skipped), context: .object([:]))
        #expect(t.steps.allSatisfy { !$0.runs })
        #expect(t.steps.last?.skipReason == "every step it depends on was skipped (s\(count - 2))")
        #expect(t.criticalPath.isEmpty)
    }

    @Test func cyclesAndStepsThatCannotBeReachedAreErrors() {
        let cycle = WorkflowSpec(trigger: .manual, steps: [Self.step("start"), Self.step("a", after: ["b", "start"]),
                                                           Self.step("b", after: ["a"]), Self.step("c", after: ["b"])])
        #expect(Self.problems(cycle) == ["steps on a dependency cycle, or depending on one: a, b, c"])
        let dangling = WorkflowSpec(trigger: .manual, steps: [Self.step("a", after: ["ghost"])])
        #expect(Self.problems(dangling) == ["step a depends on ghost, which is not a step of this workflow (unreachable)"])
    }

    static func problems(_ spec: WorkflowSpec) -> [String]? {
        do {
            _ = try WorkflowSimulation.run(spec, context: .object([:]))
            return nil
        } catch {
            return (error as? WorkflowSimulation.Failure)?.problems
        }
    }
}
