@testable import AccordController
import AccordCore
import Foundation
import Testing

/// One table of settings: the command line, the environment, `--help` and
/// docs/controller.md are all made from `ControllerSettings.all`.
@Suite struct SettingsTableTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// `ACCORD_WRITE_DOCS=1` writes the table into docs/controller.md in
    /// place of the one there (between the header line and the first line
    /// after it that is not a table row).
    @Test func theDocsTableIsTheOneTheCodeMakes() throws {
        let file = Self.root.appendingPathComponent("docs/controller.md")
        var docs = try String(contentsOf: file, encoding: .utf8)
        if ProcessInfo.processInfo.environment["ACCORD_WRITE_DOCS"] == "1", !docs.contains(ControllerSettings.markdownTable) {
            var lines = docs.components(separatedBy: "\n")
            let start = try #require(lines.firstIndex(of: "| flag | variable | default | meaning |"))
            let end = lines[start...].firstIndex { !$0.hasPrefix("|") } ?? lines.count
            lines.replaceSubrange(start..<end, with: ControllerSettings.markdownTable.split(separator: "\n").map(String.init))
            docs = lines.joined(separator: "\n")
            try docs.write(to: file, atomically: true, encoding: .utf8)
        }
        #expect(docs.contains(ControllerSettings.markdownTable),
                "docs/controller.md must hold the settings table exactly as the code makes it:\n\(ControllerSettings.markdownTable)")
    }

    @Test func everySettingIsInTheHelpWithItsVariable() {
        let help = ControllerCommandLine.help
        for s in ControllerSettings.all {
            #expect(help.contains("--\(s.flag)"), "\(s.flag)")
            #expect(help.contains(s.env), "\(s.env)")
        }
        #expect(Set(ControllerSettings.all.map(\.flag)).count == ControllerSettings.all.count, "flags are unique")
        #expect(Set(ControllerSettings.all.map(\.env)).count == ControllerSettings.all.count, "variables are unique")
    }

    @Test func theCommandLineReadsEveryForm() throws {
        #expect(try ControllerCommandLine.parse(["--repo", "/r", "--interval=5s", "--prune"])
                == .run(["repo": "/r", "interval": "5s", "prune": "true"]))
        #expect(try ControllerCommandLine.parse(["--no-prune"]) == .run(["prune": "false"]))
        #expect(try ControllerCommandLine.parse(["--repo", "/r", "--help"]) == .help)
        #expect(try ControllerCommandLine.parse(["--version"]) == .version)
        #expect(try ControllerCommandLine.parse(["--path="]) == .run(["path": ""]))
    }

    @Test(arguments: [
        (["--resyc", "5m"], "unknown option \"--resyc\" (did you mean --resync?)"),
        (["--bogus"], "unknown option \"--bogus\""),
        (["--interval"], "--interval needs a value (DURATION)"),
        (["--interval", "--prune"], "--interval needs a value (DURATION)"),
        (["--prune=yes"], "--prune takes no value (use --no-prune to turn it off)"),
        (["repo"], "unexpected argument \"repo\": every setting is an option (--repo PATH|URL, …)"),
    ])
    func whatTheCommandLineRefuses(arguments: [String], message: String) {
        #expect(throws: ControllerCommandLine.UsageError(description: message)) { try ControllerCommandLine.parse(arguments) }
    }

    @Test func aFlagAndItsVariableReachTheSameSettingThroughTheTable() throws {
        let repo = FileManager.default.temporaryDirectory.path
        let db = "postgres://accord:pw@127.0.0.1:5432/accord"
        for s in ControllerSettings.all where s.flag == "interval" || s.flag == "resync" || s.flag == "retry-max" {
            let byFlag = try ControllerConfig.resolve(flags: ["repo": repo, "database-url": db, s.flag: "7m"], environment: [:])
            let byEnv = try ControllerConfig.resolve(flags: [:], environment: ["ACCORD_REPO": repo, "DATABASE_URL": db, s.env: "7m"])
            #expect([byFlag.interval, byFlag.resync, byFlag.retryMax] == [byEnv.interval, byEnv.resync, byEnv.retryMax], "\(s.flag)")
            #expect([byFlag.interval, byFlag.resync, byFlag.retryMax].contains(.seconds(420)), "\(s.flag)")
        }
    }
}
