import AccordCore
import AccordTestSupport
import Foundation
import Testing

/// `accordctl verify`, and `diff`/`apply` under a verification policy
/// (SPEC §10): an untrusted revision is refused before anything is read.
@Suite struct TrustCLITests {
    typealias CLI = CLITests

    static func policy(_ text: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("accord-verify-\(UUID().uuidString).yaml").path
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    @Test(TestDatabase.required)
    func onlyTrustedCommitsAreDiffedAndApplied() async throws {
        let db = try await TestDatabase.scratch()
        defer { Task { await db.drop() } }
        let key = try SSHTestKey("ed25519")
        let fx = try GitFixture(copying: CLI.root.appendingPathComponent("examples/platform"))
        let signed = try fx.commitSigned("the platform", ssh: key)
        let fingerprint = try GitFixture.run(["ssh-keygen", "-l", "-f", key.privateKey + ".pub"]).split(separator: " ")[1]
        let head = try Self.policy("mode: head\nkeys:\n  - {name: platform-team, ssh: \"\(try key.publicLine)\"}\n")
        let env = ["DATABASE_URL": db.urlText, "NO_COLOR": "1", "ACCORD_VERIFY_FILE": head]
        let repo = ["--repo", fx.root.path]

        let trusted = try await CLI.accordctl(["verify"] + repo, environment: env)
        #expect(trusted.status == 0 && trusted.stdout == "trusted: commit \(signed.prefix(12)) is signed by platform-team (ssh-ed25519 \(fingerprint))\n",
                "\(trusted.stdout)\(trusted.stderr)")
        let json = try JSONParser.parse(try await CLI.accordctl(["verify", "-o", "json"] + repo, environment: env).stdout)
        #expect(json["trusted"] == .bool(true) && json["signer"]?["name"] == .string("platform-team") && json["commit"] == .string(signed))

        // An unsigned commit on top: verify says why (exit 1); diff and apply refuse it before reading anything (exit 2).
        try fx.write("workers/brightpath.yaml", try String(contentsOf: fx.root.appendingPathComponent("workers/brightpath.yaml"), encoding: .utf8)
            .replacingOccurrences(of: "replicas: 1", with: "replicas: 5"))
        let unsigned = try fx.commit("scale, unsigned")
        let refused = try await CLI.accordctl(["verify"] + repo, environment: env)
        #expect(refused.status == 1 && refused.stdout == "refused: commit \(unsigned.prefix(12)) is not trusted: it is not signed\n", "\(refused.stdout)")
        for command in ["diff", "apply"] {
            let run = try await CLI.accordctl([command] + repo, environment: env)
            #expect(run.status == 2 && run.stderr.contains("commit \(unsigned.prefix(12)) is not trusted: it is not signed; nothing was read (policy \(head), mode head)"),
                    "\(command): \(run.stderr)")
            #expect(run.stdout.isEmpty, "\(command) read nothing: \(run.stdout)")
        }
        #expect(try await db.withSession { try await $0.scalar("SELECT to_regclass('platform.workers')::text") } == nil, "nothing was written")

        // Files on disk carry no signature.
        let worktree = try await CLI.accordctl(["apply", "--worktree", "--allow-uncommitted"] + repo, environment: env)
        #expect(worktree.status == 2 && worktree.stderr.contains("files on disk (--worktree) carry no signature"), "\(worktree.stderr)")

        // Signed again: applied, and history says who signed it.
        let resigned = try fx.commitSigned("scale, signed", ssh: key)
        let applied = try await CLI.accordctl(["apply"] + repo, environment: env)
        #expect(applied.status == 0, "\(applied.stderr)")
        let history = try await CLI.accordctl(["history"], environment: env).stdout
        #expect(history.contains("SIGNER") && history.contains("  \(resigned.prefix(12))  applied  ")
                && history.contains("platform-team (ssh-ed25519 \(fingerprint))"), "\(history)")

        // Mode off: nothing is verified.
        try fx.write("workers/brightpath.yaml", try String(contentsOf: fx.root.appendingPathComponent("workers/brightpath.yaml"), encoding: .utf8)
            .replacingOccurrences(of: "replicas: 5", with: "replicas: 6"))
        _ = try fx.commit("unsigned again")
        let off = try Self.policy("mode: off\n")
        #expect(try await CLI.accordctl(["apply"] + repo, environment: env.merging(["ACCORD_VERIFY_FILE": off]) { $1 }).status == 0)

        // Strict: every commit since the last applied one; the unsigned one in between is named.
        let strict = try Self.policy("mode: strict\nkeys:\n  - {name: platform-team, ssh: \"\(try key.publicLine)\"}\n")
        try fx.write("workers/brightpath.yaml", try String(contentsOf: fx.root.appendingPathComponent("workers/brightpath.yaml"), encoding: .utf8)
            .replacingOccurrences(of: "replicas: 6", with: "replicas: 7"))
        let middle = try fx.commit("unsigned, in the middle")
        try fx.write("workers/brightpath.yaml", try String(contentsOf: fx.root.appendingPathComponent("workers/brightpath.yaml"), encoding: .utf8)
            .replacingOccurrences(of: "replicas: 7", with: "replicas: 8"))
        _ = try fx.commitSigned("signed on top", ssh: key)
        let strictRun = try await CLI.accordctl(["apply"] + repo, environment: env.merging(["ACCORD_VERIFY_FILE": strict]) { $1 })
        #expect(strictRun.status == 2 && strictRun.stderr.contains("commit \(middle.prefix(12)) it is not signed (strict mode checks every commit since"),
                "\(strictRun.stderr)")

        // An invalid policy: every error with its place, exit 2.
        let bad = try Self.policy("mode: sometimes\nkeys: []\n")
        let invalid = try await CLI.accordctl(["diff"] + repo, environment: env.merging(["ACCORD_VERIFY_FILE": bad]) { $1 })
        #expect(invalid.status == 2 && invalid.stderr.contains("--verify-file (ACCORD_VERIFY_FILE): \(bad):1:7: mode: must be off, head or strict"),
                "\(invalid.stderr)")
    }

    /// A signer rule: the bot may sign workers, not erasures; apply refuses
    /// a plan that breaks it before writing anything, and says which object.
    @Test(TestDatabase.required)
    func aSignerRuleRefusesAPlanBeforeAnythingIsWritten() async throws {
        let db = try await TestDatabase.scratch()
        defer { Task { await db.drop() } }
        let platform = try SSHTestKey("ed25519"), bot = try SSHTestKey("ed25519")
        let policy = try Self.policy("""
            mode: head
            keys:
              - {name: platform-team, ssh: "\(try platform.publicLine)"}
              - {name: release-bot, ssh: "\(try bot.publicLine)"}
            require:
              - {kinds: [Erasure], signers: [platform-team]}
            """)
        let fx = try GitFixture(copying: CLI.root.appendingPathComponent("examples/platform"))
        let byBot = try fx.commitSigned("the platform, by the bot", ssh: bot)
        let env = ["DATABASE_URL": db.urlText, "NO_COLOR": "1", "ACCORD_VERIFY_FILE": policy]
        let rule = "signer rule: Erasure/acme-corp/dsr-2026-11-0007 (create) needs a commit signed by platform-team; commit \(byBot.prefix(12)) is signed by release-bot"
        // diff shows the plan, then says apply would refuse it: exit 2, in every format.
        let diff = try await CLI.accordctl(["diff", "--repo", fx.root.path], environment: env)
        #expect(diff.status == 2 && diff.stdout.contains("+ Erasure/acme-corp/dsr-2026-11-0007")
                && diff.stderr.contains("apply would refuse this plan: \(rule)"), "\(diff.stdout)\(diff.stderr)")
        let json = try await CLI.accordctl(["diff", "--repo", fx.root.path, "-o", "json"], environment: env)
        guard case .string(let jsonRefusal)? = try JSONParser.parse(json.stdout)["refused"] else {
            Issue.record("no refusal in \(json.stdout)")
            return
        }
        #expect(json.status == 2 && jsonRefusal.hasPrefix(rule), "\(jsonRefusal)")
        let markdown = try await CLI.accordctl(["diff", "--repo", fx.root.path, "-o", "markdown"], environment: env)
        #expect(markdown.status == 2 && markdown.stdout.hasPrefix("### ⛔ Accord plan:") && markdown.stdout.contains("**Apply would refuse this plan**: `\(rule)"),
                "\(markdown.stdout)")
        let refused = try await CLI.accordctl(["apply", "--repo", fx.root.path], environment: env)
        #expect(refused.status == 2 && refused.stderr.contains(rule), "\(refused.stderr)")
        #expect(refused.stdout.hasPrefix("refused by a signer rule: nothing was written"), "\(refused.stdout)")
        #expect(try await db.withSession { try await $0.scalar("SELECT count(*)::text FROM platform.tenants") } == "0")
        #expect(try await db.withSession { try await $0.scalar("SELECT result FROM accord.revisions ORDER BY id DESC LIMIT 1") } == "refused")

        let byPlatform = try fx.commitSigned("the same, by the platform team", ssh: platform)
        let clean = try await CLI.accordctl(["diff", "--repo", fx.root.path], environment: env)
        #expect(clean.status == 1 && !clean.stderr.contains("refuse"), "\(clean.stderr)")
        let applied = try await CLI.accordctl(["apply", "--repo", fx.root.path], environment: env)
        #expect(applied.status == 0 && applied.stdout.hasPrefix("applied \(byPlatform.prefix(12)): 25 created"), "\(applied.stdout)\(applied.stderr)")
    }
}
