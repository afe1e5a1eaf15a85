import AccordCore
import AccordGit
import AccordManifests
import AccordTestSupport
import Crypto
import Foundation
import Testing

/// `accordctl` as users run it: the built binary, real git repositories,
/// exit codes and output checked against expectations.
@Suite struct CLITests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    typealias Run = ToolRun

    static func binary() throws -> URL {
        let candidates = [
            URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("accordctl"),
            URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("accordctl"),
            root.appendingPathComponent(".build/debug/accordctl"),
        ]
        guard let found = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0.path) }) else {
            throw CLIFailure("accordctl is not built next to the tests; run `swift build --build-tests` first")
        }
        return found
    }

    /// A key-encryption key file every run gets unless the test names its own.
    static let kekFile: String = {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("accord-test-kek-\(UUID().uuidString)").path
        FileManager.default.createFile(atPath: path, contents: Data((0..<32).map { UInt8(($0 * 37 + 11) % 256) }),
                                       attributes: [.posixPermissions: 0o600])
        return path
    }()

    /// The cache directory of the tests' runs (diff indexes, mirrors), not the user's.
    static let cacheDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("accord-cli-tests-cache-\(ProcessInfo.processInfo.processIdentifier)").path

    static func accordctl(_ args: [String], environment: [String: String] = [:]) async throws -> Run {
        let keys = ["ACCORD_KEK_FILE": kekFile, "ACCORD_TRUSTED_KEYS_DIR": ExampleKeys.trustedDirectory,
                    "ACCORD_SIGNING_KEY_FILE": ExampleKeys.path("controller-signing.pem"), "ACCORD_CACHE_DIR": cacheDirectory]
        return try await ToolRun.run(try binary(), args, environment: ProcessInfo.processInfo.environment
            .merging(keys) { $1 }.merging(environment) { $1 })
    }

    /// A committed git repository holding a copy of `source` and `files`.
    static func repo(copying source: String? = nil, files: [String: String] = [:]) throws -> GitFixture {
        let fixture = try GitFixture(copying: source.map { root.appendingPathComponent($0) })
        for (path, text) in files { try fixture.write(path, text) }
        try fixture.commit("manifests")
        return fixture
    }

    @Test func validatesTheExamplePlatformFromGit() async throws {
        let fx = try Self.repo(copying: "examples/platform")
        let dir = fx.root
        let commit = try fx.head
        let run = try await Self.accordctl(["validate", "--repo", dir.path, "--list"])
        #expect(run.status == 0)
        let lines = run.stdout.split(separator: "\n").map(String.init)
        #expect(lines.first?.hasPrefix("valid: ") == true)
        #expect(lines.first?.hasSuffix(" at \(commit.prefix(12))") == true)
        #expect(lines.contains { $0.hasPrefix("Tenant/acme-corp  tenants/") })
        #expect(lines.contains { $0.hasPrefix("  Worker") })
        #expect(run.stderr.isEmpty)
    }

    @Test func reportsEveryErrorAndExitsOne() async throws {
        let fx = try Self.repo(files: [
            "a.yaml": "apiVersion: accord.dev/v1\nkind: Tenant\nmetadata: {name: acme}\nspec: {displayName: A, plan: gold, region: eu}\n",
            "b/c.yml": "apiVersion: accord.dev/v1\nkind: Nope\nmetadata: {name: x}\nspec: {}\n",
        ])
        let dir = fx.root
        let run = try await Self.accordctl(["validate", "--repo", dir.path])
        #expect(run.status == 1)
        #expect(run.stdout.split(separator: "\n").map(String.init) == [
            "a.yaml:4:30: spec.plan: must be one of starter, pro or enterprise; got \"gold\"",
            "b/c.yml:2:7: kind: must be one of Tenant, Worker, Workflow, RetentionPolicy, Model, Erasure, Store or Notification; got \"Nope\"",
            "invalid: 2 errors in 2 files at \(String(try fx.head.prefix(12)))",
        ])
    }

    @Test func jsonOutputIsVersioned() async throws {
        let fx = try Self.repo(files: ["a.yaml": "apiVersion: accord.dev/v1\nkind: Tenant\nmetadata: {name: acme}\nspec: {displayName: A, plan: pro}\n"])
        let dir = fx.root
        let commit = try fx.head
        let run = try await Self.accordctl(["validate", "--repo", dir.path, "-o", "json"])
        #expect(run.status == 1)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
        #expect(json["formatVersion"] as? Int == 1)
        #expect(json["valid"] as? Bool == false)
        #expect(json["revision"] as? String == commit)
        let errors = try #require(json["errors"] as? [[String: Any]])
        #expect(errors.count == 1)
        #expect(errors.first?["file"] as? String == "a.yaml")
        #expect(errors.first?["line"] as? Int == 4)
        #expect(errors.first?["message"] as? String == "spec: missing required field \"region\"")
    }

    @Test func markdownStaysUnderTheCommentLimitWithWholeLines() async throws {
        var text = ""
        for i in 0..<3000 {
            text += "---\napiVersion: accord.dev/v1\nkind: Tenant\nmetadata: {name: t\(i)}\nspec: {displayName: T, plan: gold, region: eu}\n"
        }
        let fx = try Self.repo(files: ["many.yaml": text])
        let dir = fx.root
        let run = try await Self.accordctl(["validate", "--repo", dir.path, "-o", "markdown"])
        #expect(run.status == 1)
        #expect(run.stdout.count < 60_000)
        #expect(run.stdout.hasPrefix("### ❌ Manifests invalid"))
        let lines = run.stdout.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines.filter { $0.hasPrefix("| `many.yaml:") }.allSatisfy { $0.hasSuffix("|") })
        #expect(run.stdout.contains("more errors (run `accordctl validate` for the full list)."))
    }

    @Test func worktreeReadsUncommittedFiles() async throws {
        let fx = try Self.repo(copying: "examples/platform")
        let dir = fx.root
        try Data("apiVersion: accord.dev/v1\nkind: Tenant\nmetadata: {name: Bad_Name}\nspec: {displayName: A, plan: pro, region: eu}\n".utf8)
            .write(to: dir.appendingPathComponent("draft.yaml"))
        let committed = try await Self.accordctl(["validate", "--repo", dir.path])
        #expect(committed.status == 0, "the commit does not have the draft")
        // ... and says so: the work tree differs from the commit it read.
        #expect(committed.stderr == "accordctl: note: the work tree has uncommitted changes to 1 manifest file (draft.yaml untracked); "
                + "this read the commit HEAD (\(try fx.head.prefix(12))): commit them, or pass --worktree to read the files on disk\n", "\(committed.stderr)")
        try fx.write("tenants/acme-corp.yaml", "plan: pro\n")
        let two = try await Self.accordctl(["validate", "--repo", dir.path, "--path", "tenants"])
        #expect(two.stderr.contains("uncommitted changes to 1 manifest file under tenants (tenants/acme-corp.yaml modified)"), "\(two.stderr)")
        #expect(try await Self.accordctl(["validate", "--repo", dir.path, "--ref", "HEAD~0", "--path", "workers"]).stderr.isEmpty,
                "nothing to say when nothing under --path changed")
        let run = try await Self.accordctl(["validate", "--repo", dir.path, "--worktree"])
        #expect(run.status == 1)
        #expect(run.stdout.hasPrefix("draft.yaml:3:18: metadata.name: \"Bad_Name\" is not a DNS-1123 label"))
    }

    @Test func pathAndRefSelectWhatIsRead() async throws {
        let fx = try Self.repo(files: ["platform/a.yaml": "apiVersion: accord.dev/v1\nkind: RetentionPolicy\nmetadata: {name: p}\nspec: {rules: [{store: traces, maxAge: 90d}]}\n",
                                                "other/broken.yaml": "{{{\n"])
        let dir = fx.root
        let first = try fx.head
        #expect(try await Self.accordctl(["validate", "--repo", dir.path, "--path", "platform"]).status == 0)
        #expect(try await Self.accordctl(["validate", "--repo", dir.path]).status == 1)
        try Data("broken: [\n".utf8).write(to: dir.appendingPathComponent("platform/a.yaml"))
        try fx.commit("break")
        #expect(try await Self.accordctl(["validate", "--repo", dir.path, "--path", "platform"]).status == 1)
        #expect(try await Self.accordctl(["validate", "--repo", dir.path, "--path", "platform", "--ref", "HEAD~1"]).status == 0)
        #expect(try await Self.accordctl(["validate", "--repo", dir.path, "--path", "platform", "--ref", first]).status == 0)
    }

    @Test func readsAFileURLThroughAMirror() async throws {
        let fx = try Self.repo(copying: "examples/platform")
        let dir = fx.root
        let commit = try fx.head
        let cache = FileManager.default.temporaryDirectory.appendingPathComponent("accordctl-cache-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: cache) }
        let run = try await Self.accordctl(["validate", "--repo", "file://" + dir.path], environment: ["ACCORD_CACHE_DIR": cache.path])
        #expect(run.status == 0)
        #expect(run.stdout.contains("at \(commit.prefix(12))"))
    }

    @Test(arguments: [
        (["validate", "--repo", "/nonexistent/accord"], "accordctl: error: repository \"/nonexistent/accord\" does not exist"),
        (["validate", "--repo", "/tmp"], "is not a git repository (use --worktree to read the files on disk)"),
        (["validate", "--path", "../etc"], "--path must be a directory inside the repository"),
        (["validate", "--output", "yaml"], "yaml"),
        (["validate", "--repo", "https://user:hunter2@127.0.0.1:1/x.git"], "127.0.0.1"),
    ])
    func errorsExitTwoWithAClearMessage(_ args: [String], _ expected: String) async throws {
        let cache = FileManager.default.temporaryDirectory.appendingPathComponent("accordctl-cache-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: cache) }
        let run = try await Self.accordctl(args, environment: ["ACCORD_CACHE_DIR": cache.path])
        #expect(run.status == 2)
        #expect(run.stderr.contains(expected), "\(run.stderr)")
        #expect(!run.stderr.contains("hunter2"))
    }

    @Test func badRefExitsTwo() async throws {
        let fx = try Self.repo(copying: "examples/platform")
        let dir = fx.root
        let run = try await Self.accordctl(["validate", "--repo", dir.path, "--ref", "no-such-branch"])
        #expect(run.status == 2)
        #expect(run.stderr == "accordctl: error: resolve \"no-such-branch\": no such branch, tag or commit\n")
    }

    /// The example models are signed with examples/keys/model-signing.pem;
    /// every signature verifies against its public key, over the digest text.
    @Test func exampleModelSignaturesVerify() throws {
        let keyBytes = try Data(contentsOf: Self.root.appendingPathComponent("examples/keys/model-signing.pub"))
        let key = try Curve25519.Signing.PublicKey(rawRepresentation: keyBytes)
        let set = ManifestSet.load(try WorktreeSource.files(root: Self.root.appendingPathComponent("examples/platform").path, under: ""))
        var checked = 0
        for manifest in set.manifests {
            guard case .model(let model) = manifest.spec else { continue }
            for version in model.versions {
                let signature = try #require(version.signature, "\(manifest.id) \(version.version) is unsigned")
                #expect(key.isValidSignature(Data(signature), for: Data(version.digest.utf8)), "\(manifest.id) \(version.version)")
                #expect(!key.isValidSignature(Data(signature), for: Data((version.digest + "0").utf8)))
                checked += 1
            }
        }
        #expect(checked >= 4)
    }
}

struct CLIFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
