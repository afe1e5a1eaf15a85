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

    /// Every variable the deploy examples set is one the controller reads:
    /// a setting of the table, or one of the git credentials and the cache
    /// directory, which are read beside it.
    @Test func theDeployExamplesSetOnlyVariablesTheControllerReads() throws {
        let read = Set(ControllerSettings.all.map(\.env)).union([
            "ACCORD_GIT_USERNAME", "ACCORD_GIT_PASSWORD_FILE", "ACCORD_GIT_SSH_KEY_FILE", "ACCORD_GIT_SSH_PASSPHRASE_FILE", "ACCORD_CACHE_DIR"])
        let deploy = Self.root.appendingPathComponent("manifests/deploy")
        let files = try FileManager.default.subpathsOfDirectory(atPath: deploy.path)
        var seen: Set<String> = []
        let pattern = try NSRegularExpression(pattern: #"(?:^|[\s=:"-])((?:ACCORD|DATABASE)_[A-Z_]+)(?=\s*[=:"]|$)"#, options: [.anchorsMatchLines])
        for file in files {
            var isDirectory: ObjCBool = false
            let path = deploy.appendingPathComponent(file).path
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue else { continue }
            let text = try String(contentsOfFile: path, encoding: .utf8)
            for line in text.split(separator: "\n") where !line.trimmingCharacters(in: .whitespaces).hasPrefix("#") {
                let line = String(line)
                for match in pattern.matches(in: line, range: NSRange(line.startIndex..., in: line)) {
                    let name = String(line[Range(match.range(at: 1), in: line)!])
                    seen.insert(name)
                    #expect(read.contains(name), "\(file) sets \(name), which the controller does not read")
                }
            }
        }
        #expect(seen.isSuperset(of: ["DATABASE_URL_FILE", "ACCORD_KEK_FILE", "ACCORD_API_TOKEN_FILE", "ACCORD_REPO"]), "\(seen.sorted())")
        #expect(!seen.contains("DATABASE_URL"), "the URL comes from a file")
    }

    /// The metrics table of docs/controller.md is `MetricsCatalog`'s
    /// (`ACCORD_WRITE_DOCS=1` writes it).
    @Test func theDocsMetricsTableIsTheCatalog() throws {
        let file = Self.root.appendingPathComponent("docs/controller.md")
        var docs = try String(contentsOf: file, encoding: .utf8)
        if ProcessInfo.processInfo.environment["ACCORD_WRITE_DOCS"] == "1", !docs.contains(MetricsCatalog.markdownTable) {
            var lines = docs.components(separatedBy: "\n")
            if let placeholder = lines.firstIndex(of: "PLACEHOLDER") {
                lines.replaceSubrange(placeholder...placeholder, with: MetricsCatalog.markdownTable.split(separator: "\n").map(String.init))
            } else {
                let start = try #require(lines.firstIndex(of: "| metric | type | labels | meaning |"))
                let end = lines[start...].firstIndex { !$0.hasPrefix("|") } ?? lines.count
                lines.replaceSubrange(start..<end, with: MetricsCatalog.markdownTable.split(separator: "\n").map(String.init))
            }
            docs = lines.joined(separator: "\n")
            try docs.write(to: file, atomically: true, encoding: .utf8)
        }
        #expect(docs.contains(MetricsCatalog.markdownTable), "docs/controller.md must hold the metrics table as MetricsCatalog makes it")
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
