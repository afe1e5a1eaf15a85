@testable import AccordController
import AccordCore
import AccordTestSupport
import Foundation
import Testing

@Suite struct ConfigTests {
    static let repo = FileManager.default.temporaryDirectory.path
    static let db = "postgres://accord:s3cret-pass-word@127.0.0.1:5432/accord"

    @Test func defaultsAndEnvironment() throws {
        let config = try ControllerConfig.resolve(flags: [:], environment: ["ACCORD_REPO": Self.repo, "DATABASE_URL": Self.db])
        #expect(config.interval == .seconds(30))
        #expect(config.resync == .seconds(300))
        #expect(config.listenHost == "127.0.0.1" && config.listenPort == 8080)
        #expect(config.prune == false)
        #expect(config.logFormat == .json)
        #expect(config.retryMin == .seconds(1) && config.retryMax == .seconds(300))
        #expect(config.webhookSecret == nil && config.kek == nil)
        #expect(!config.description.contains("s3cret-pass-word"))
        #expect(config.description.contains("database=postgres://accord:***@127.0.0.1:5432/accord"))
    }

    @Test func aFlagWinsOverItsVariable() throws {
        let config = try ControllerConfig.resolve(
            flags: ["interval": "250ms", "listen": "0.0.0.0:9090", "prune": "true", "log-format": "logfmt"],
            environment: ["ACCORD_REPO": Self.repo, "DATABASE_URL": Self.db, "ACCORD_INTERVAL": "1m", "ACCORD_RESYNC": "2m"])
        #expect(config.interval == .milliseconds(250))
        #expect(config.resync == .seconds(120))
        #expect(config.listenHost == "0.0.0.0" && config.listenPort == 9090)
        #expect(config.prune)
        #expect(config.logFormat == .logfmt)

        // Git credentials: their contents are secrets for the logs; a file that cannot be read is a bad setting.
        let token = FileManager.default.temporaryDirectory.appendingPathComponent("git-token-\(UUID().uuidString)")
        try SecretFixture.write("ghp_not-a-real-token-4d1c\n", to: token)
        defer { try? FileManager.default.removeItem(at: token) }
        let git = try ControllerConfig.resolve(flags: [:], environment: [
            "ACCORD_REPO": Self.repo, "DATABASE_URL": Self.db, "ACCORD_GIT_PASSWORD_FILE": token.path])
        #expect(git.secrets.contains("ghp_not-a-real-token-4d1c"))
        for variable in ["ACCORD_GIT_PASSWORD_FILE", "ACCORD_GIT_SSH_PASSPHRASE_FILE", "ACCORD_GIT_SSH_KEY_FILE"] {
            #expect(throws: ControllerConfig.Invalid.self) {
                try ControllerConfig.resolve(flags: [:], environment: ["ACCORD_REPO": Self.repo, "DATABASE_URL": Self.db, variable: "/no/such/file"])
            }
            do {
                _ = try ControllerConfig.resolve(flags: [:], environment: ["ACCORD_REPO": Self.repo, "DATABASE_URL": Self.db, variable: "/no/such/file"])
            } catch {
                #expect("\(error)".hasPrefix("\(variable): "), "\(error)")
            }
        }

        // --no-prune turns off ACCORD_PRUNE=true.
        let off = try ControllerConfig.resolve(flags: ["prune": "false"],
                                               environment: ["ACCORD_REPO": Self.repo, "DATABASE_URL": Self.db, "ACCORD_PRUNE": "true"])
        #expect(!off.prune)

        // The status page is on unless turned off; the external address is kept without its trailing slash.
        let page = try ControllerConfig.resolve(flags: ["status-page": "false", "external-url": "https://accord.example.com/ops/"],
                                                environment: ["ACCORD_REPO": Self.repo, "DATABASE_URL": Self.db])
        #expect(!page.statusPage && page.externalURL == "https://accord.example.com/ops")
        #expect(try ControllerConfig.resolve(flags: [:], environment: ["ACCORD_REPO": Self.repo, "DATABASE_URL": Self.db]).statusPage)
    }

    @Test(arguments: [
        (["interval": "soon"], "--interval (ACCORD_INTERVAL): must be a duration such as 30s, 5m or 250ms; got \"soon\""),
        (["interval": "0s"], "--interval (ACCORD_INTERVAL): must be at least 1ms; got \"0s\""),
        (["listen": "8080"], "--listen (ACCORD_LISTEN): must be HOST:PORT, such as 0.0.0.0:8080; got \"8080\""),
        (["listen": "localhost:99999"], "--listen (ACCORD_LISTEN): must be HOST:PORT with a port from 0 to 65535; got \"localhost:99999\""),
        (["log-format": "xml"], "--log-format (ACCORD_LOG_FORMAT): must be json or logfmt"),
        (["prune": "maybe"], "--prune (ACCORD_PRUNE): must be true or false; got \"maybe\""),
        (["status-page": "maybe"], "--status-page (ACCORD_STATUS_PAGE): must be true or false; got \"maybe\""),
        (["external-url": "accord.example.com"], "--external-url (ACCORD_EXTERNAL_URL): must be an http(s):// URL without credentials, query or fragment; got \"accord.example.com\""),
        (["external-url": "https://a.example.com/?x=1"], "--external-url (ACCORD_EXTERNAL_URL): must be an http(s):// URL without credentials, query or fragment; got \"https://a.example.com/?x=1\""),
        (["path": "../out"], "--path (ACCORD_PATH): must be a directory inside the repository; got \"../out\""),
        (["retry-min": "10s", "retry-max": "1s"], "--retry-max (ACCORD_RETRY_MAX): must not be shorter than --retry-min"),
        (["repo": "/no/such/dir"], "--repo (ACCORD_REPO): \"/no/such/dir\" is not a directory and not an https://, ssh:// or file:// URL"),
        (["api-token-file": "/no/such/token"], "--api-token-file (ACCORD_API_TOKEN_FILE): cannot read \"/no/such/token\": No such file or directory"),
        (["webhook-secret-file": "/no/such/secret"], "--webhook-secret-file (ACCORD_WEBHOOK_SECRET_FILE): cannot read \"/no/such/secret\": No such file or directory"),
    ])
    func badSettingsNameTheSetting(flags: [String: String], message: String) throws {
        var all = ["repo": Self.repo, "database-url": Self.db]
        all.merge(flags) { $1 }
        let error = #expect(throws: ControllerConfig.Invalid.self) {
            try ControllerConfig.resolve(flags: all, environment: [:])
        }
        #expect(error?.description == message)
    }

    @Test func requiredSettings() throws {
        let noRepo = #expect(throws: ControllerConfig.Invalid.self) {
            try ControllerConfig.resolve(flags: ["database-url": Self.db], environment: [:])
        }
        #expect(noRepo?.setting == "--repo (ACCORD_REPO)")
        let noDB = #expect(throws: ControllerConfig.Invalid.self) {
            try ControllerConfig.resolve(flags: ["repo": Self.repo], environment: [:])
        }
        #expect(noDB?.setting == "--database-url (DATABASE_URL)")
    }

    @Test func secretsStayOutOfErrors() throws {
        let badURL = #expect(throws: ControllerConfig.Invalid.self) {
            try ControllerConfig.resolve(flags: ["repo": Self.repo, "database-url": "mysql://u:hunter2-secret@h/db"], environment: [:])
        }
        #expect(badURL?.setting == "--database-url (DATABASE_URL)")
        #expect(badURL.map { !$0.description.contains("hunter2-secret") } == true)

        let kek = FileManager.default.temporaryDirectory.appendingPathComponent("kek-\(UUID().uuidString)")
        try SecretFixture.write("not-a-key-but-secret-text", to: kek)
        defer { try? FileManager.default.removeItem(at: kek) }
        let badKEK = #expect(throws: ControllerConfig.Invalid.self) {
            try ControllerConfig.resolve(flags: ["repo": Self.repo, "database-url": Self.db, "kek-file": kek.path], environment: [:])
        }
        #expect(badKEK?.setting == "--kek-file (ACCORD_KEK_FILE)")
        #expect(badKEK.map { $0.description.contains(kek.path) && !$0.description.contains("secret-text") } == true)
    }

    /// The URL from `--database-url` or `--database-url-file` (or their
    /// variables): a flag of one beats the other's variable; the same way
    /// twice is an error; its password is a secret either way.
    @Test func theDatabaseURLFromAFile() throws {
        let dir = try SecretFixture.directory("database-url")
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("url")
        try SecretFixture.write("postgres://accord:from-the-file-pw@db.example:6432/accord?sslmode=require\n", to: file)
        for (flags, environment) in [(["database-url-file": file.path], [String: String]()),
                                     ([:], ["DATABASE_URL_FILE": file.path]),
                                     (["database-url-file": file.path], ["DATABASE_URL": Self.db])] {
            let config = try ControllerConfig.resolve(flags: flags.merging(["repo": Self.repo]) { $1 }, environment: environment)
            #expect(config.databaseURL.host == "db.example" && config.databaseURL.tls.mode == .require)
            #expect(config.secrets.contains("from-the-file-pw") && !config.description.contains("from-the-file-pw"))
        }
        let flagWins = try ControllerConfig.resolve(flags: ["repo": Self.repo, "database-url": Self.db], environment: ["DATABASE_URL_FILE": file.path])
        #expect(flagWins.databaseURL.host == "127.0.0.1")
        for (flags, environment, reason) in [
            (["database-url": Self.db, "database-url-file": file.path], [String: String](), "give --database-url or --database-url-file, not both"),
            ([:], ["DATABASE_URL": Self.db, "DATABASE_URL_FILE": file.path], "both DATABASE_URL and DATABASE_URL_FILE are set; unset one"),
        ] {
            let error = #expect(throws: ControllerConfig.Invalid.self) {
                try ControllerConfig.resolve(flags: flags.merging(["repo": Self.repo]) { $1 }, environment: environment)
            }
            #expect(error?.description == "--database-url (DATABASE_URL): \(reason)")
        }
    }

    @Test func anAPITokenIsOneLongEnoughWord() throws {
        let dir = try SecretFixture.directory("api-token")
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("token")
        for (text, problem) in [("short-token", "holds 11 characters; a token needs at least 16 (openssl rand -hex 32)"),
                                ("two words of a token", ": a token is one word of printable ASCII (openssl rand -hex 32)"),
                                ("\n", "holds 0 characters; a token needs at least 16 (openssl rand -hex 32)")] {
            try SecretFixture.write(text, to: file)
            let error = #expect(throws: ControllerConfig.Invalid.self) {
                try ControllerConfig.resolve(flags: ["repo": Self.repo, "database-url": Self.db, "api-token-file": file.path], environment: [:])
            }
            #expect(error?.setting == "--api-token-file (ACCORD_API_TOKEN_FILE)")
            #expect(error?.description.hasSuffix(problem) == true, "\(String(describing: error))")
        }
        try SecretFixture.write("  0123456789abcdef0123\n", to: file)
        let config = try ControllerConfig.resolve(flags: ["repo": Self.repo, "database-url": Self.db, "api-token-file": file.path], environment: [:])
        #expect(config.apiToken == Array("0123456789abcdef0123".utf8))
        #expect(config.secrets.contains("0123456789abcdef0123"), "scrubbed from the logs")
    }

    /// Every file that holds a secret is refused, naming the file and its
    /// mode, when its group or others may read or write it (like ssh); the
    /// same file with mode 0600 or 0400 is read. The database URL file is
    /// not a setting yet.
    @Test(arguments: [
        ("flag", "kek-file", "--kek-file (ACCORD_KEK_FILE)", "kek.b64"),
        ("flag", "signing-key-file", "--signing-key-file (ACCORD_SIGNING_KEY_FILE)", "controller-signing.pem"),
        ("flag", "webhook-secret-file", "--webhook-secret-file (ACCORD_WEBHOOK_SECRET_FILE)", ""),
        ("flag", "api-token-file", "--api-token-file (ACCORD_API_TOKEN_FILE)", ""),
        ("flag", "database-url-file", "--database-url-file (DATABASE_URL_FILE)", "url"),
        ("env", "ACCORD_GIT_PASSWORD_FILE", "ACCORD_GIT_PASSWORD_FILE", ""),
        ("env", "ACCORD_GIT_SSH_PASSPHRASE_FILE", "ACCORD_GIT_SSH_PASSPHRASE_FILE", ""),
        ("env", "ACCORD_GIT_SSH_KEY_FILE", "ACCORD_GIT_SSH_KEY_FILE", "controller-signing.pem"),
    ])
    func secretFilesOthersCanReadAreRefused(how: String, name: String, setting: String, example: String) throws {
        let dir = try SecretFixture.directory("secret-modes")
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("secret")
        let contents = example.isEmpty ? Data("a-shared-secret-of-some-length\n".utf8)
            : example == "url" ? Data((Self.db + "\n").utf8)
            : try Data(contentsOf: URL(fileURLWithPath: ExampleKeys.path(example)))
        let database = name == "database-url-file" ? [:] : ["database-url": Self.db]
        func resolve() throws -> ControllerConfig {
            how == "flag"
                ? try ControllerConfig.resolve(flags: database.merging(["repo": Self.repo, name: file.path]) { $1 }, environment: [:])
                : try ControllerConfig.resolve(flags: database.merging(["repo": Self.repo]) { $1 }, environment: [name: file.path])
        }
        for mode in [0o644, 0o640, 0o604, 0o660, 0o602] {
            try SecretFixture.write(contents, to: file, mode: mode)
            let error = #expect(throws: ControllerConfig.Invalid.self, "mode \(String(mode, radix: 8))") { try resolve() }
            #expect(error?.setting == setting)
            let expected = "\"\(file.path)\" has mode 0\(String(mode, radix: 8)), readable or writable by its group or others; make it 0600 (chmod 600) or 0400"
            #expect(error?.description.hasSuffix(expected) == true, "\(String(describing: error))")
        }
        for mode in [0o600, 0o400] {
            try SecretFixture.write(contents, to: file, mode: mode)
            _ = try resolve()
        }
    }

    @Test func keyFilesAreLoadedWithTheSharedLoaders() throws {
        let keys = Harness.keys
        let trusted = FileManager.default.temporaryDirectory.appendingPathComponent("trusted-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: trusted, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: trusted) }
        try FileManager.default.copyItem(at: keys.appendingPathComponent("model-signing.pub.pem"),
                                         to: trusted.appendingPathComponent("model-signing.pub.pem"))
        let config = try ControllerConfig.resolve(
            flags: ["repo": Self.repo, "database-url": Self.db, "signing-key-file": ExampleKeys.path("controller-signing.pem"),
                    "kek-file": ExampleKeys.path("kek.b64")],
            environment: ["ACCORD_TRUSTED_KEYS_DIR": trusted.path])
        #expect(config.signingKey != nil && config.kek != nil)
        #expect(config.trustedKeys?.keys.map(\.file) == ["model-signing.pub.pem"])
        #expect(config.description.contains("signingKey=fingerprint \(config.signingKey!.fingerprint)"))
        let pem = try String(contentsOf: keys.appendingPathComponent("controller-signing.pem"), encoding: .utf8)
        let body = pem.split(separator: "\n").filter { !$0.hasPrefix("-----") }
        #expect(body.allSatisfy { config.secrets.contains(String($0)) }, "the key's text is scrubbed from logs")

        for (flag, setting) in [("signing-key-file", "--signing-key-file (ACCORD_SIGNING_KEY_FILE)"),
                                ("trusted-keys-dir", "--trusted-keys-dir (ACCORD_TRUSTED_KEYS_DIR)")] {
            let error = #expect(throws: ControllerConfig.Invalid.self) {
                try ControllerConfig.resolve(flags: ["repo": Self.repo, "database-url": Self.db, flag: "/no/such/key"], environment: [:])
            }
            #expect(error?.setting == setting)
        }
    }

    @Test func durations() {
        #expect(DurationText.parse("250ms") == .milliseconds(250))
        #expect(DurationText.parse("30s") == .seconds(30))
        #expect(DurationText.parse("5m") == .seconds(300))
        #expect(DurationText.parse("1h") == .seconds(3600))
        #expect(DurationText.parse("1.5") == .milliseconds(1500))
        #expect(DurationText.parse("-1s") == nil)
        #expect(DurationText.parse("ms") == nil)
        #expect(DurationText.format(.milliseconds(1500)) == "1.5s")
        #expect(DurationText.format(.seconds(300)) == "5m")
    }
}
