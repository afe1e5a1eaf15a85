import AccordCore
import AccordTestSupport
import Foundation
import Testing

/// `accordctl keys init`: the keys a first apply needs, with safe modes,
/// and export lines a following `apply` runs with.
@Suite struct KeysCLITests {
    typealias CLI = CLITests

    static func mode(_ path: String) throws -> Int {
        ((try FileManager.default.attributesOfItem(atPath: path))[.posixPermissions] as? NSNumber)?.intValue ?? -1
    }

    @Test(TestDatabase.required)
    func keysInitMakesWhatAFirstApplyNeeds() async throws {
        let db = try await TestDatabase.scratch()
        defer { Task { await db.drop() } }
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("accord-keys-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: scratch) }
        let dir = scratch.appendingPathComponent("keys").path
        let run = try await CLI.accordctl(["keys", "init", dir, "--trust", CLI.root.appendingPathComponent("examples/keys/model-signing.pub.pem").path],
                                          environment: ["ACCORD_KEK_FILE": "", "ACCORD_SIGNING_KEY_FILE": "", "ACCORD_TRUSTED_KEYS_DIR": ""])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout == """
            export ACCORD_KEK_FILE=\(dir)/kek.b64
            export ACCORD_SIGNING_KEY_FILE=\(dir)/controller-signing.pem
            export ACCORD_TRUSTED_KEYS_DIR=\(dir)/trusted

            """, "\(run.stdout)")
        #expect(run.stderr.contains("hack/sign-digest \(dir)/model-signer.pem"), "\(run.stderr)")
        #expect(try Self.mode(dir) == 0o700)
        for file in ["kek.b64", "controller-signing.pem", "model-signer.pem"] { #expect(try Self.mode("\(dir)/\(file)") == 0o600, "\(file)") }
        #expect(try FileManager.default.contentsOfDirectory(atPath: "\(dir)/trusted").sorted() == ["model-signer.pub.pem", "model-signing.pub.pem"])
        let kek = try String(contentsOfFile: "\(dir)/kek.b64", encoding: .utf8)

        // Never over existing keys: exit 2 naming the file, nothing changed.
        let again = try await CLI.accordctl(["keys", "init", dir])
        #expect(again.status == 2 && again.stderr.contains("\"\(dir)/kek.b64\" exists; keys init never overwrites a key"), "\(again.stderr)")
        #expect(try String(contentsOfFile: "\(dir)/kek.b64", encoding: .utf8) == kek)
        let badTrust = try await CLI.accordctl(["keys", "init", scratch.appendingPathComponent("other").path, "--trust", "/etc/hostname"])
        #expect(badTrust.status == 2 && badTrust.stderr.contains("--trust \"/etc/hostname\""), "\(badTrust.stderr)")
        #expect(!FileManager.default.fileExists(atPath: scratch.appendingPathComponent("other").path), "nothing written")

        // The export lines are all a plain apply of the example platform needs.
        var env = ["DATABASE_URL": db.urlText, "NO_COLOR": "1"]
        for line in run.stdout.split(separator: "\n") {
            let assignment = line.dropFirst("export ".count).split(separator: "=", maxSplits: 1)
            env[String(assignment[0])] = String(assignment[1])
        }
        let fx = try CLI.repo(copying: "examples/platform")
        let apply = try await CLI.accordctl(["apply", "--repo", fx.root.path], environment: env)
        #expect(apply.status == 0, "\(apply.stdout)\(apply.stderr)")
        #expect(apply.stdout.contains(": 25 created, 0 updated, 0 deleted"), "\(apply.stdout)")
        func scalar(_ sql: String) async throws -> String? { try await db.withSession { try await $0.scalar(sql) } }
        #expect(try await scalar("SELECT count(*)::text FROM accord.tenant_keys") == "4", "every tenant has a data key under the new KEK")
        #expect(try await scalar("SELECT count(*)::text FROM accord.erasure_certificates") == "1", "the erasure is certified with the new signing key")
        #expect(try await scalar("SELECT production_version FROM platform.models WHERE name = 'support-drafter'") == "3",
                "the example models verify against the trusted example key")
    }
}
