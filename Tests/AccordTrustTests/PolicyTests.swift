import AccordCore
import AccordTestSupport
@testable import AccordTrust
import Foundation
import Testing

@Suite struct PolicyTests {
    static func write(_ text: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("accord-policy-\(UUID().uuidString).yaml").path
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    @Test func aPolicyLoadsWithItsKeysRulesAndSince() throws {
        let key = try SSHTestKey("ed25519")
        let asc = FileManager.default.temporaryDirectory.appendingPathComponent("accord-bot-\(UUID().uuidString).asc").path
        try Data("not checked until used\n".utf8).write(to: URL(fileURLWithPath: asc))
        let path = try Self.write("""
            mode: strict
            keys:
              - {name: platform-team, ssh: "\(try key.publicLine)"}
              - {name: release-bot, openpgp: \(asc)}
            require:
              - {kinds: [Erasure, Model], signers: [platform-team]}
            since: \(String(repeating: "ab", count: 20))
            """)
        let policy = try VerificationPolicy.load(file: path)
        #expect(policy.mode == .strict && policy.keys.map(\.name) == ["platform-team", "release-bot"])
        #expect(policy.require.first?.kinds == [.erasure, .model] && policy.require.first?.signers == ["platform-team"])
        #expect(policy.since == String(repeating: "ab", count: 20))
    }

    @Test func everyErrorOfAPolicyIsReportedAtItsPlace() throws {
        let path = try Self.write("""
            mode: sometimes
            keys:
              - {name: a, ssh: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5"}
              - {name: b}
              - {name: c, ssh: "x", openpgp: y.asc}
              - {name: d, openpgp: /nonexistent/d.asc}
            require:
              - {kinds: [Erasure, Gadget], signers: [nobody]}
            since: main
            colour: blue
            """)
        do {
            _ = try VerificationPolicy.load(file: path)
            Issue.record("an invalid policy loaded")
        } catch let invalid as VerificationPolicy.Invalid {
            let messages = invalid.diagnostics.map(\.description)
            for expected in [
                "\(path):1:7: mode: must be off, head or strict; got \"sometimes\"",
                "\(path):3:20: keys[0].ssh: a malformed SSH public key: the Ed25519 key is cut short",
                "\(path):4:5: keys[1]: needs \"ssh\" (a public key line) or \"openpgp\" (an .asc file)",
                "\(path):5:5: keys[2]: has both \"ssh\" and \"openpgp\"; one key per entry",
                "\(path):6:24: keys[3].openpgp: cannot read \"/nonexistent/d.asc\"",
                "\(path):8:23: require[0].kinds[1]: \"Gadget\" is not a kind",
                "\(path):8:42: require[0].signers[0]: no key is named \"nobody\"",
                "\(path):9:8: since: must be a full commit id (40 hex digits); got \"main\"",
                "\(path):10:1: colour: unknown field",
            ] {
                #expect(messages.contains { $0.hasPrefix(expected) }, "\(expected) in \(messages)")
            }
        }
    }
}
