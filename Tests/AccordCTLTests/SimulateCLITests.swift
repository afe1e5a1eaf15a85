@testable import AccordCLI
import AccordCore
import AccordEngine
import Foundation
import Testing

/// `accordctl simulate workflow` on the example repository.
@Suite struct SimulateCLITests {
    typealias CLI = CLITests

    static func items(_ value: JSONValue?) -> [JSONValue] {
        if case .array(let items)? = value { return items }
        return []
    }

    @Test func simulatesAWorkflowFromGitAgainstAYAMLOrJSONContext() async throws {
        let fx = try CLI.repo(copying: "examples/platform")
        let contexts = FileManager.default.temporaryDirectory.appendingPathComponent("accord-ctx-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: contexts, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: contexts) }
        let yaml = contexts.appendingPathComponent("ctx.yaml"), json = contexts.appendingPathComponent("ctx.json")
        try Data("exposure: {total: 400}\njurisdiction: eu\nboard: {meetingDate: 2026-12-01}\n".utf8).write(to: yaml)
        try Data(#"{"exposure": {"total": "lots"}}"#.utf8).write(to: json)
        let args = ["simulate", "workflow", "acme-corp/monthly-risk-report", "--repo", fx.root.path]

        let run = try await CLI.accordctl(args + ["--context", yaml.path], environment: ["NO_COLOR": "1"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout == """
            Workflow/acme-corp/monthly-risk-report: 3 parallel group(s)
            group 1: collect
              ✓ runs collect (worker data-collector, SLA 2h)
            group 2: analyze, compliance-check
              ✗ skipped analyze (worker risk-analyst, SLA 4h): when: context.exposure.total gte 1000 is false (saw 400)
                  when context.exposure.total gte 1000: false (saw 400)
              ✓ runs compliance-check (worker compliance-reviewer, SLA 1d)
                  when context.jurisdiction in ["eu", "uk", "ch"]: true (saw "eu")
                  approval gate: output with confidence below 0.9 goes to a human
            group 3: write-report
              ✓ runs write-report (worker report-writer, SLA 1d12h)
                  when context.board.meetingDate exists: true (saw "2026-12-01")
                  approval gate: output with confidence below 0.7 goes to a human
            critical path: collect → compliance-check → write-report, SLA 2d14h
            3 of 4 steps run

            """)

        let asJSON = try await CLI.accordctl(args + ["--context", yaml.path, "-o", "json"])
        let parsed = try JSONParser.parse(asJSON.stdout)
        #expect(parsed["formatVersion"] == .number(1))
        let seconds: Double = 2 * 3600 + 86_400 + 36 * 3600
        #expect(parsed["criticalPath"]?["slaSeconds"] == JSONValue.number(seconds))
        // Each rule says what it compared with, beside what it saw.
        let rules = Self.items(parsed["steps"]).map { ($0["name"]?.stringValue ?? "", Self.items($0["when"])) }
        let analyze = try #require(rules.first { $0.0 == "analyze" }?.1.first)
        #expect(analyze["value"] == .number(1000) && analyze["seen"] == .number(400) && analyze["holds"] == .bool(false))
        let compliance = try #require(rules.first { $0.0 == "compliance-check" }?.1.first)
        #expect(compliance["value"] == .array([.string("eu"), .string("uk"), .string("ch")]) && compliance["seen"] == .string("eu"))
        let meeting = try #require(rules.first { $0.0 == "write-report" }?.1.first)
        #expect(meeting["operator"] == .string("exists") && meeting["value"] == nil, "exists compares with nothing")

        let typeError = try await CLI.accordctl(args + ["--context", json.path])
        #expect(typeError.status == 2)
        #expect(typeError.stderr.contains("workflows/acme-corp-monthly-risk-report.yaml: Workflow/acme-corp/monthly-risk-report: step analyze: when[0] (context.exposure.total gte 1000): gte orders numbers only; the context holds a string (\"lots\") and the rule a number"))

        let missing = try await CLI.accordctl(["simulate", "workflow", "acme-corp/nope", "--repo", fx.root.path])
        #expect(missing.status == 2)
        #expect(missing.stderr.contains("Workflow/acme-corp/nope is not in the manifests"))
        let unreadable = try await CLI.accordctl(args + ["--context", "/nonexistent/ctx.yaml"])
        #expect(unreadable.status == 2)
        #expect(unreadable.stderr.contains("cannot read the context file /nonexistent/ctx.yaml"))
    }

    /// A workflow of acme-corp whose steps test nulls: `x eq null`,
    /// `y exists`, `z eq null`, and `q eq "null"` (a string).
    static let nullChecks = """
        apiVersion: accord.dev/v1
        kind: Workflow
        metadata: {name: null-checks, tenant: acme-corp}
        spec:
          trigger: {manual: true}
          steps:
            - {name: x-is-null, worker: data-collector, when: [{field: context.x, operator: eq, value: null}]}
            - {name: y-exists, worker: data-collector, when: [{field: context.y, operator: exists}]}
            - {name: z-is-null, worker: data-collector, when: [{field: context.z, operator: eq, value: null}]}
            - {name: q-is-a-string, worker: data-collector, when: [{field: context.q, operator: eq, value: "null"}]}

        """

    @Test func aYAMLContextsNullIsNullAsInJSON() async throws {
        let fx = try CLI.repo(copying: "examples/platform", files: ["workflows/null-checks.yaml": Self.nullChecks])
        let contexts = FileManager.default.temporaryDirectory.appendingPathComponent("accord-ctx-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: contexts, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: contexts) }
        let yaml = contexts.appendingPathComponent("ctx.yaml"), json = contexts.appendingPathComponent("ctx.json")
        // The three ways YAML writes null, and a quoted "null", which is a string.
        try Data("x: null\ny: ~\nz:\nq: \"null\"\n".utf8).write(to: yaml)
        try Data(#"{"x": null, "y": null, "z": null, "q": "null"}"#.utf8).write(to: json)
        let args = ["simulate", "workflow", "acme-corp/null-checks", "--repo", fx.root.path, "-o", "json"]

        let fromJSON = try await CLI.accordctl(args + ["--context", json.path])
        #expect(fromJSON.status == 0, "\(fromJSON.stderr)")
        let fromYAML = try await CLI.accordctl(args + ["--context", yaml.path])
        #expect(fromYAML.status == 0, "\(fromYAML.stderr)")
        #expect(fromYAML.stdout == fromJSON.stdout)

        let steps = Self.items(try JSONParser.parse(fromYAML.stdout)["steps"])
        let runs = Dictionary(uniqueKeysWithValues: steps.map { ($0["name"]?.stringValue ?? "", $0["runs"]) })
        #expect(runs == ["x-is-null": .bool(true), "y-exists": .bool(false), "z-is-null": .bool(true), "q-is-a-string": .bool(true)])
        let yRules = Self.items(steps.first { $0["name"] == .string("y-exists") }?["when"])
        let y = try #require(yRules.first)
        #expect(y["seen"] == .null && y["missing"] == .bool(false) && y["holds"] == .bool(false))
    }

    @Test func markdownIsATableOfTheStepsForAPullRequest() async throws {
        let fx = try CLI.repo(copying: "examples/platform")
        let head = try fx.head
        let run = try await CLI.accordctl(["simulate", "workflow", "acme-corp/monthly-risk-report", "--repo", fx.root.path, "-o", "markdown"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout == """
            ### Simulation of Workflow/acme-corp/monthly-risk-report

            Revision `\(head.prefix(12))`. 1 of 4 steps run, in 3 parallel group(s). Critical path: collect, SLA 2h.

            | group | step | worker | SLA | outcome | rules and gates |
            |---|---|---|---|---|---|
            | 1 | collect | data-collector | 2h | ✓ runs | - |
            | 2 | analyze | risk-analyst | 4h | ✗ skipped: when: context.exposure.total gte 1000 is false (missing from the context) | context.exposure.total gte 1000: false (missing from the context) |
            | 2 | compliance-check | compliance-reviewer | 1d | ✗ skipped: when: context.jurisdiction in ["eu", "uk", "ch"] is false (missing from the context) | context.jurisdiction in ["eu", "uk", "ch"]: false (missing from the context)<br>approval gate: confidence below 0.9 goes to a human |
            | 3 | write-report | report-writer | 1d12h | ✗ skipped: every step it depends on was skipped (analyze, compliance-check) | context.board.meetingDate exists: false (missing from the context)<br>approval gate: confidence below 0.7 goes to a human |

            """)
    }

    @Test func markdownOfAHugeWorkflowStaysUnder60000CharactersInWholeRows() throws {
        let steps = (0..<5_000).map { i in
            var step = Step(name: "step-\(i)", worker: "worker-\(i)")
            step.dependsOn = i == 0 ? [] : ["step-\(i - 1)"]
            step.sla = DurationValue(seconds: 60, text: "1m")
            return step
        }
        let simulation = try WorkflowSimulation.run(WorkflowSpec(trigger: .manual, steps: steps), context: .object([:]))
        let id = ObjectID(kind: .workflow, tenant: "acme", name: "long")
        let text = SimulateWorkflow.markdown(simulation, id: id, revision: nil)
        #expect(text.count < 60_000)
        #expect(text.contains("Critical path: step-0 → step-1 → step-2 → … 4994 more … → step-4997 → step-4998 → step-4999, SLA 3d11h20m."))
        let rows = text.split(separator: "\n").filter { $0.hasPrefix("| ") && $0.hasSuffix(" |") && !$0.hasPrefix("| group") }
        #expect(rows.count > 100 && rows.count < 5_000)
        #expect(text.hasSuffix("\n…and \(5_000 - rows.count) more step(s) not shown; run `accordctl simulate workflow acme/long` for all of them.\n"))
    }

    @Test func aCycleOrADependencyOnAMissingStepIsAnErrorNamingIt() async throws {
        let header = "apiVersion: accord.dev/v1\nkind: Workflow\nmetadata: {name: broken, tenant: acme-corp}\nspec:\n  trigger: {manual: true}\n  steps:\n"
        let cycle = header + """
              - {name: a, worker: data-collector, dependsOn: [b]}
              - {name: b, worker: data-collector, dependsOn: [a]}

            """
        let missing = header + """
              - {name: a, worker: data-collector}
              - {name: b, worker: data-collector, dependsOn: [a, ghost]}

            """
        for (text, problem) in [(cycle, "workflows/broken.yaml:7:51: spec.steps[0].dependsOn[0]: steps depend on each other in a cycle: a -> b -> a (each step depends on the next)"),
                                (missing, "workflows/broken.yaml:8:54: spec.steps[1].dependsOn[1]: no step named \"ghost\" in this workflow")] {
            let fx = try CLI.repo(copying: "examples/platform", files: ["workflows/broken.yaml": text])
            let run = try await CLI.accordctl(["simulate", "workflow", "acme-corp/broken", "--repo", fx.root.path], environment: ["NO_COLOR": "1"])
            #expect(run.status == 2)
            #expect(run.stdout.contains(problem), "\(run.stdout)")
            #expect(run.stderr.contains("the manifests are invalid"))
        }
    }
}
