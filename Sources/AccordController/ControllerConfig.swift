import AccordTrust
import AccordCore
import AccordEngine
import AccordGit
import AccordStore
import AccordSync
import Foundation
import Logging

/// Everything `accord-controller` is configured with, resolved from flags
/// and environment variables (a flag wins over its variable) and checked
/// before anything starts. Secrets — the database password, the webhook
/// secret, the key-encryption key — are held here and never printed:
/// `description` and every error name the setting or the file, not the value.
public struct ControllerConfig: Sendable, CustomStringConvertible {
    public enum LogFormat: String, Sendable, CaseIterable { case json, logfmt }

    public var repo: String
    public var branch: String?
    public var path: String
    public var interval: Duration
    public var resync: Duration
    public var databaseURL: DatabaseURL
    /// The regions file's databases (SPEC §9); `databaseURL` is then its
    /// control database. nil: everything lives in `databaseURL`.
    public var regions: RegionDatabases?
    /// The same regions read only, on connections of their own, for the
    /// status page and the API (which read while a pass writes).
    public var readRegions: RegionDatabases?
    public var listenHost: String
    public var listenPort: Int
    public var webhookSecret: [UInt8]?
    /// When set, `/api/*` and `/metrics` answer only requests that carry
    /// `Authorization: Bearer <token>` (`BearerToken`).
    public var apiToken: [UInt8]?
    public var kek: KeyEncryptionKey?
    /// Signs erasure certificates; without it open erasures wait, saying so.
    public var signingKey: SigningKey?
    /// Model signatures are checked against these; without them no
    /// version is promoted (rollbacks still apply).
    public var trustedKeys: TrustedKeys?
    /// Where the external stores' credentials files are (`ACCORD_SECRETS_DIR`).
    public var secretsDirectory: String?
    /// Where people reach the status page; notifications link to it.
    public var externalURL: String?
    /// The verification policy's checker (`ACCORD_VERIFY_FILE`); nil: commits are applied unverified.
    public var verifier: CommitVerifier?
    /// The keys every pass works with.
    public var keys: Pass.Keys {
        Pass.Keys(kek: kek, signingKey: signingKey, trustedKeys: trustedKeys, secretsDirectory: secretsDirectory)
    }
    /// Serve the HTML status page at `/`.
    public var statusPage = true
    public var prune: Bool
    public var maxDeletePercent: Double
    public var logLevel: Logger.Level
    public var logFormat: LogFormat
    public var retryMin: Duration
    public var retryMax: Duration
    /// How often a standby tries to take the leader lock, and how often the
    /// leader checks it still holds it.
    public var leaderPoll: Duration
    /// Where remote repositories are mirrored.
    public var cacheDirectory: String
    /// Texts that must never appear in a log line (see `LogRedactor`).
    public var secrets: [String]
    /// The environment being resolved (libpq's `PG*` variables reach the database URL).
    var environment: [String: String] = [:]
    var databaseURLGiven = false

    /// A setting that cannot be used; says which one and why, never its secret value.
    public struct Invalid: Error, CustomStringConvertible {
        public let setting: String
        public let reason: String
        public var description: String { "\(setting): \(reason)" }
    }

    /// The defaults every resolution starts from; each required setting
    /// (`--repo`, `--database-url`) is always replaced or refused.
    init() {
        repo = ""
        path = ""
        interval = .seconds(30)
        resync = .seconds(300)
        // swiftlint:disable:next force_try
        databaseURL = try! DatabaseURL("postgres://unset:unset@unset/unset?sslmode=disable", environment: [:])
        listenHost = "127.0.0.1"
        listenPort = 8080
        prune = false
        maxDeletePercent = 10
        logLevel = .info
        logFormat = .json
        retryMin = .seconds(1)
        retryMax = .seconds(300)
        leaderPoll = .seconds(1)
        cacheDirectory = ""
        secrets = []
    }

    /// Resolves `flags` (flag name without dashes → value) over `environment`,
    /// setting by setting in the order of `ControllerSettings.all`.
    public static func resolve(flags: [String: String], environment: [String: String]) throws -> ControllerConfig {
        var config = ControllerConfig()
        config.environment = environment
        var environment = environment
        // The database URL comes from one of two settings: a flag of one
        // beats the other's variable; both given the same way is an error.
        let url = ControllerSettings.databaseURL, file = ControllerSettings.databaseURLFile
        if flags[url.flag] != nil && flags[file.flag] != nil {
            throw Invalid(setting: url.label, reason: "give --database-url or --database-url-file, not both")
        }
        if flags[url.flag] != nil { environment[file.env] = nil }
        if flags[file.flag] != nil { environment[url.env] = nil }
        if flags[url.flag] == nil && flags[file.flag] == nil, environment[url.env]?.isEmpty == false, environment[file.env]?.isEmpty == false {
            throw Invalid(setting: url.label, reason: "both DATABASE_URL and DATABASE_URL_FILE are set; unset one")
        }
        for setting in ControllerSettings.all {
            let given = flags[setting.flag] ?? environment[setting.env].flatMap { $0.isEmpty ? nil : $0 }
            guard let value = given ?? setting.defaultValue else {
                if setting.required { throw Invalid(setting: setting.label, reason: "required: \(setting.help)") }
                continue
            }
            do {
                try setting.parse(value, &config)
            } catch {
                throw Invalid(setting: setting.label, reason: error.reason)
            }
        }
        if config.regions != nil, flags[url.flag] != nil || flags[file.flag] != nil {
            throw Invalid(setting: ControllerSettings.regionsFile.label,
                          reason: "give --regions-file or --database-url/--database-url-file, not both: with a regions file the control database is the file's")
        }
        guard config.databaseURLGiven else {
            throw Invalid(setting: url.label, reason: "required (or --database-url-file): \(url.help)")
        }
        // Git credentials are read when a fetch needs them; a file that cannot be read is a bad
        // setting now, and what they hold is never logged.
        do {
            let git = try GitCredentials.fromEnvironment(environment)
            config.secrets += [git.password, git.sshPassphrase].compactMap { $0 }.filter { !$0.isEmpty }
            if let key = git.sshKeyFile {
                config.secrets += keyTexts(key)
            }
        } catch let error as GitError {
            throw Invalid(setting: error.operation.replacingOccurrences(of: "read ", with: ""), reason: error.message)
        }
        config.cacheDirectory = GitMirror.defaultCacheDirectory(environment)
        config.environment = [:]
        return config
    }

    /// How a key file's contents could show up in text: its bytes as base64,
    /// and its text (base64 or PEM) with each line of a PEM body.
    static func keyTexts(_ file: String) -> [String] {
        guard let data = FileManager.default.contents(atPath: file) else { return [] }
        var out = [data.base64EncodedString()]
        let text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        if text.count >= 16 { out.append(text) }
        for line in text.split(whereSeparator: \.isNewline) where !line.hasPrefix("-----") && line.count >= 16 { out.append(String(line)) }
        return out
    }

    /// The configuration with every secret left out, for the start-up log line.
    public var description: String {
        var parts = ["repo=\(RemoteURL.redacted(repo))", "branch=\(branch ?? "(default)")", "path=\(path.isEmpty ? "/" : path)",
                     "interval=\(DurationText.format(interval))", "resync=\(DurationText.format(resync))",
                     "database=\(databaseURL.redacted)", "listen=\(listenHost):\(listenPort)", "prune=\(prune)"]
        parts.append("webhook=\(webhookSecret == nil ? "off" : "on")")
        parts.append("apiToken=\(apiToken == nil ? "off" : "on")")
        parts.append("kek=\(kek.map { "fingerprint \($0.fingerprint)" } ?? "none")")
        parts.append("signingKey=\(signingKey.map { "fingerprint \($0.fingerprint)" } ?? "none")")
        parts.append("trustedKeys=\(trustedKeys.map { "\($0.keys.count) in \($0.directory)" } ?? "none")")
        parts.append("verify=\(verifier.map { "\($0.policy.mode.rawValue) (\($0.policy.keys.count) keys, \($0.policy.file))" } ?? "off")")
        return parts.joined(separator: " ")
    }
}
