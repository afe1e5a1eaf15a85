import AccordCore
import AccordTestSupport
import Foundation
import Testing

/// examples/ci/github-actions.yml: its plan step's script, run as GitHub
/// would run it (with `docker run … IMAGE` standing for this build's
/// accordctl), posts the plan of a change and fails on invalid manifests.
@Suite struct CIExampleTests {
    /// The `run: |` block of the step named `name`.
    static func script(step name: String) throws -> String {
        let text = try String(contentsOf: CLITests.root.appendingPathComponent("examples/ci/github-actions.yml"), encoding: .utf8)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        guard let start = lines.firstIndex(where: { $0.contains("- name: \(name)") }),
              let run = lines[start...].firstIndex(where: { $0.trimmingCharacters(in: .whitespaces) == "run: |" }) else {
            throw CLIError("no step \(name) with a run block")
        }
        let indent = lines[run + 1].prefix { $0 == " " }.count
        var body: [String] = []
        for line in lines[(run + 1)...] {
            guard line.isEmpty || line.prefix(indent).allSatisfy({ $0 == " " }) && line.count > indent else { break }
            body.append(String(line.dropFirst(indent)))
        }
        return body.joined(separator: "\n")
    }

    struct CLIError: Error, CustomStringConvertible { let description: String; init(_ d: String) { description = d } }

    func runPlanStep(in fx: GitFixture, base: String) async throws -> (status: Int32, output: String, plan: String) {
        let script = try Self.script(step: "accordctl diff --against the base")
        #expect(script.contains("accordctl diff --repo . --against \"$BASE\" -o markdown"), "\(script)")
        let outputFile = fx.root.appendingPathComponent(".github-output")
        try? FileManager.default.removeItem(at: outputFile)
        // `docker run … "$ACCORD_IMAGE" ARGS` runs this build's accordctl with ARGS.
        let docker = "docker() { while [ \"$1\" != \"$ACCORD_IMAGE\" ]; do shift; done; shift; \"$ACCORDCTL\" \"$@\"; }\n"
        let run = try await ToolRun.run(URL(fileURLWithPath: "/bin/bash"), ["-euo", "pipefail", "-c", "cd \"$REPO\"\n" + docker + script], environment: [
            "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin", "ACCORDCTL": try CLITests.binary().path, "REPO": fx.root.path,
            "ACCORD_IMAGE": "registry.example.com/accord/accord-controller:test", "BASE": base,
            "GITHUB_OUTPUT": outputFile.path, "NO_COLOR": "1",
        ])
        let plan = (try? String(contentsOf: fx.root.appendingPathComponent("plan.md"), encoding: .utf8)) ?? ""
        let output = (try? String(contentsOf: outputFile, encoding: .utf8)) ?? ""
        return (run.status, output, plan)
    }

    /// `--against` in a shallow clone (actions/checkout's default) says to fetch more history.
    @Test func aShallowCloneSaysToFetchMoreHistory() async throws {
        let fx = try CLITests.repo(copying: "examples/platform")
        try fx.write("workers/extra.yaml", "# nothing yet\n")
        _ = try fx.commit("second")
        let shallow = FileManager.default.temporaryDirectory.appendingPathComponent("accord-shallow-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: shallow) }
        _ = try fx.git("clone", "-q", "--depth", "1", "file://" + fx.root.path, shallow.path)
        let run = try await CLITests.accordctl(["diff", "--repo", shallow.path, "--against", "HEAD~1"], environment: ["DATABASE_URL": ""])
        #expect(run.status == 2 && run.stderr.contains("this is a shallow clone, which may not hold \"HEAD~1\": fetch more history "
                                                       + "(git fetch --unshallow, or actions/checkout with fetch-depth: 0)"), "\(run.stderr)")
        let full = try await CLITests.accordctl(["diff", "--repo", fx.root.path, "--against", "no-such-ref"], environment: ["DATABASE_URL": ""])
        #expect(full.status == 2 && !full.stderr.contains("shallow"), "a full clone says only that the revision is unknown: \(full.stderr)")
    }

    @Test func thePlanStepPostsTheChangeAndFailsOnInvalidManifests() async throws {
        let fx = try CLITests.repo(copying: "examples/platform")
        let base = try fx.head
        let path = fx.root.appendingPathComponent("workers/brightpath.yaml")
        try fx.write("workers/brightpath.yaml", try String(contentsOf: path, encoding: .utf8).replacingOccurrences(of: "replicas: 1", with: "replicas: 3"))
        _ = try fx.commit("scale triage")
        let changed = try await runPlanStep(in: fx, base: base)
        #expect(changed.status == 0, "a plan with changes is not a failure")
        #expect(changed.output == "status=1\n")
        #expect(changed.plan.hasPrefix("### 📝 Accord plan: 0 to create, 1 to update, 0 to delete"), "\(changed.plan)")
        #expect(changed.plan.contains("~ Worker/brightpath/support-triage\n    replicas: 1 → 3\n"))

        try fx.write("tenants/northwind.yaml", "apiVersion: accord.dev/v1\nkind: Tenant\nmetadata: {name: northwind}\nspec: {plan: gold}\n")
        _ = try fx.commit("break northwind")
        let invalid = try await runPlanStep(in: fx, base: base)
        #expect(invalid.status == 2 && invalid.output == "status=2\n")
        #expect(invalid.plan.hasPrefix("### ❌ Manifests invalid") && invalid.plan.contains("tenants/northwind.yaml:"), "\(invalid.plan)")
    }
}
