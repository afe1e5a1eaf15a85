import AccordCore
import Foundation
import Testing

/// `accordctl simulate workflow` on the example repository.
@Suite struct SimulateCLITests {
    typealias CLI = CLITests

    @Test func simulatesAWorkflowFromGitAgainstAYAMLOrJSONContext() throws {
        let fx = try CLI.repo(copying: "examples/platform")
        let contexts = FileManager.default.temporaryDirectory.appendingPathComponent("accord-ctx-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: contexts, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: contexts) }
        let yaml = contexts.appendingPathComponent("ctx.yaml"), json = contexts.appendingPathComponent("ctx.json")
        try Data("exposure: {total: 400}\njurisdiction: eu\nboard: {meetingDate: 2026-12-01}\n".utf8).write(to: yaml)
        try Data(#"{"exposure": {"total": "lots"}}"#.utf8).write(to: json)
        let args = ["simulate", "workflow", "acme-corp/monthly-risk-report", "--repo", fx.root.path]

        let run = try CLI.accordctl(args + ["--context", yaml.path], environment: ["NO_COLOR": "1"])
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

        let asJSON = try CLI.accordctl(args + ["--context", yaml.path, "-o", "json"])
        let parsed = try JSONParser.parse(asJSON.stdout)
        #expect(parsed["formatVersion"] == .number(1))
        let seconds: Double = 2 * 3600 + 86_400 + 36 * 3600
        #expect(parsed["criticalPath"]?["slaSeconds"] == JSONValue.number(seconds))

        let typeError = try CLI.accordctl(args + ["--context", json.path])
        #expect(typeError.status == 2)
        #expect(typeError.stderr.contains("workflows/acme-corp-monthly-risk-report.yaml: Workflow/acme-corp/monthly-risk-report: step analyze: when[0] (context.exposure.total gte 1000): gte orders numbers only; the context holds a string (\"lots\") and the rule a number"))

        let missing = try CLI.accordctl(["simulate", "workflow", "acme-corp/nope", "--repo", fx.root.path])
        #expect(missing.status == 2)
        #expect(missing.stderr.contains("Workflow/acme-corp/nope is not in the manifests"))
        let unreadable = try CLI.accordctl(args + ["--context", "/nonexistent/ctx.yaml"])
        #expect(unreadable.status == 2)
        #expect(unreadable.stderr.contains("cannot read the context file /nonexistent/ctx.yaml"))
    }
}
