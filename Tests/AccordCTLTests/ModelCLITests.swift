import AccordCore
import AccordTestSupport
import Foundation
import Testing

/// Promotion gates as `diff`, `apply` and `status` show them.
@Suite(TestDatabase.required)
struct ModelCLITests {
    @Test func aBlockedPromotionIsShownByDiffFailsApplyAndIsInStatus() async throws {
        let db = try await TestDatabase.scratch()
        defer { Task { await db.drop() } }
        let fx = try CLITests.repo(copying: "examples/platform")
        let env = ["DATABASE_URL": db.urlText, "NO_COLOR": "1"]
        let repo = ["--repo", fx.root.path]
        #expect(try await CLITests.accordctl(["apply"] + repo, environment: env).status == 0)

        let path = "models/support-drafter.yaml"
        var text = try String(contentsOf: fx.root.appendingPathComponent(path), encoding: .utf8)
        text = text.replacingOccurrences(of: "production: \"3\"", with: "production: \"4\"")
            .replacingOccurrences(of: "version: \"4\"\n    trafficPercent", with: "version: \"2\"\n    trafficPercent")
            .replacingOccurrences(of: "minImprovement: 0.01", with: "minImprovement: 0.05")
        try fx.write(path, text)
        _ = try fx.commit("promote support-drafter to 4")

        let diff = try await CLITests.accordctl(["diff"] + repo, environment: env)
        #expect(diff.status == 1)
        #expect(diff.stdout.contains("~ Model/support-drafter — promotion of production from version 3 to 4 blocked: faithfulness 0.93 of version 4 does not beat 0.91 of version 3 by 0.05 (needs at least 0.96); production stays at version 3\n"), "\(diff.stdout)")
        #expect(!diff.stdout.contains("Worker/"), "no worker is redeployed")

        let apply = try await CLITests.accordctl(["apply"] + repo, environment: env)
        #expect(apply.status == 1, "a blocked promotion is a failed object: \(apply.stdout)")
        let status = try await CLITests.accordctl(["status", "Model/support-drafter"], environment: env)
        #expect(status.stdout.contains("Model/support-drafter  False  True"), "\(status.stdout)")
        #expect(status.stdout.contains("production stays at version 3"), "\(status.stdout)")
        #expect(status.stdout.contains("production_version: \"3\""), "\(status.stdout)")
        let gate = try await CLITests.accordctl(["status", "--fail-on-not-ready"], environment: env)
        #expect(gate.status == 1, "a CI gate fails while the model is not Ready: \(gate.stdout)")
        #expect(try await CLITests.accordctl(["status", "Tenant", "--fail-on-not-ready"], environment: env).status == 0, "every tenant is Ready")

        // The margin relaxed in git: promoted, and the plan says with which numbers.
        try fx.write(path, text.replacingOccurrences(of: "minImprovement: 0.05", with: "minImprovement: 0.02"))
        _ = try fx.commit("relax the margin")
        let promote = try await CLITests.accordctl(["diff"] + repo, environment: env)
        #expect(promote.stdout.contains("~ Model/support-drafter (promotion 3 → 4: faithfulness 0.91 → 0.93, signed by model-signing.pub.pem ("), "\(promote.stdout)")
        // The trusted keys mounted as Kubernetes mounts a ConfigMap (links through `..data`) judge it the same.
        let configMap = try ExampleKeys.kubernetesLayout()
        defer { try? FileManager.default.removeItem(at: configMap) }
        let mounted = try await CLITests.accordctl(["diff", "--trusted-keys-dir", configMap.path] + repo, environment: env)
        #expect(mounted.stdout == promote.stdout && mounted.stderr.isEmpty, "\(mounted.stdout)\(mounted.stderr)")
        #expect(try await CLITests.accordctl(["apply"] + repo, environment: env).status == 0)

        let noKeys = FileManager.default.temporaryDirectory.appendingPathComponent("accord-no-keys-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: noKeys, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: noKeys) }
        let unkeyed = try await CLITests.accordctl(["diff", "--trusted-keys-dir", noKeys.path] + repo, environment: env)
        #expect(unkeyed.stderr.contains("accordctl: warning: the trusted keys directory \(noKeys.path) holds no usable key (*.pem or *.pub): no model version will be promoted"),
                "\(unkeyed.stderr)")

        let missing = try await CLITests.accordctl(["apply", "--trusted-keys-dir", "/nonexistent/keys"] + repo, environment: env)
        #expect(missing.status == 2)
        #expect(missing.stderr.contains("the trusted keys directory /nonexistent/keys (ACCORD_TRUSTED_KEYS_DIR) cannot be read"))
    }
}
