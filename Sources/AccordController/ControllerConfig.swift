import AccordCore
import AccordEngine
import AccordGit
import AccordStore
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
    public var listenHost: String
    public var listenPort: Int
    public var webhookSecret: [UInt8]?
    public var kek: KeyEncryptionKey?
    /// Signs erasure certificates; without it open erasures wait, saying so.
    public var signingKey: SigningKey?
    /// Model signatures are checked against these; without them no
    /// version is promoted (rollbacks still apply).
    public var trustedKeys: TrustedKeys?
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

    /// One setting: its flag, its environment variable, its default.
    public struct Setting: Sendable {
        public let flag: String
        public let env: String
        public let defaultValue: String?
        public var label: String { "--\(flag) (\(env))" }
    }

    public static let settings: [Setting] = [
        Setting(flag: "repo", env: "ACCORD_REPO", defaultValue: nil),
        Setting(flag: "branch", env: "ACCORD_BRANCH", defaultValue: nil),
        Setting(flag: "path", env: "ACCORD_PATH", defaultValue: ""),
        Setting(flag: "interval", env: "ACCORD_INTERVAL", defaultValue: "30s"),
        Setting(flag: "resync", env: "ACCORD_RESYNC", defaultValue: "5m"),
        Setting(flag: "database-url", env: "DATABASE_URL", defaultValue: nil),
        Setting(flag: "listen", env: "ACCORD_LISTEN", defaultValue: "127.0.0.1:8080"),
        Setting(flag: "webhook-secret-file", env: "ACCORD_WEBHOOK_SECRET_FILE", defaultValue: nil),
        Setting(flag: "kek-file", env: "ACCORD_KEK_FILE", defaultValue: nil),
        Setting(flag: "signing-key-file", env: "ACCORD_SIGNING_KEY_FILE", defaultValue: nil),
        Setting(flag: "trusted-keys-dir", env: "ACCORD_TRUSTED_KEYS_DIR", defaultValue: nil),
        Setting(flag: "prune", env: "ACCORD_PRUNE", defaultValue: "false"),
        Setting(flag: "max-delete-percent", env: "ACCORD_MAX_DELETE_PERCENT", defaultValue: "10"),
        Setting(flag: "log-level", env: "ACCORD_LOG_LEVEL", defaultValue: "info"),
        Setting(flag: "log-format", env: "ACCORD_LOG_FORMAT", defaultValue: "json"),
        Setting(flag: "retry-min", env: "ACCORD_RETRY_MIN", defaultValue: "1s"),
        Setting(flag: "retry-max", env: "ACCORD_RETRY_MAX", defaultValue: "5m"),
        Setting(flag: "leader-poll", env: "ACCORD_LEADER_POLL", defaultValue: "1s"),
    ]

    /// A setting that cannot be used; says which one and why, never its secret value.
    public struct Invalid: Error, CustomStringConvertible {
        public let setting: String
        public let reason: String
        public var description: String { "\(setting): \(reason)" }
    }

    /// Resolves `flags` (flag name without dashes → value) over `environment`.
    public static func resolve(flags: [String: String], environment: [String: String]) throws -> ControllerConfig {
        var values: [String: String] = [:]
        var labels: [String: String] = [:]
        for s in settings {
            labels[s.flag] = s.label
            if let v = flags[s.flag] ?? environment[s.env].flatMap({ $0.isEmpty ? nil : $0 }) ?? s.defaultValue { values[s.flag] = v }
        }
        func fail(_ flag: String, _ reason: String) -> Invalid { Invalid(setting: labels[flag] ?? "--\(flag)", reason: reason) }
        func duration(_ flag: String, min: Duration = .milliseconds(1)) throws -> Duration {
            let text = values[flag] ?? ""
            guard let d = DurationText.parse(text) else {
                throw fail(flag, "must be a duration such as 30s, 5m or 250ms; got \(quoted(text))")
            }
            guard d >= min else { throw fail(flag, "must be at least \(DurationText.format(min)); got \(quoted(text))") }
            return d
        }

        guard let repo = values["repo"], !repo.isEmpty else {
            throw fail("repo", "required: a local repository path or an https://, ssh:// or file:// URL")
        }
        if !RemoteURL.isRemote(repo) {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: repo, isDirectory: &isDirectory), isDirectory.boolValue else {
                throw fail("repo", "\(quoted(repo)) is not a directory and not an https://, ssh:// or file:// URL")
            }
        }
        guard let path = ManifestPaths.normalize(values["path"] ?? "") else {
            throw fail("path", "must be a directory inside the repository; got \(quoted(values["path"] ?? ""))")
        }
        guard let urlText = values["database-url"] else {
            throw fail("database-url", "required: postgres://user:password@host:port/database")
        }
        let databaseURL: DatabaseURL
        do { databaseURL = try DatabaseURL(urlText) } catch { throw fail("database-url", String(describing: error)) }

        let (host, port) = try listen(values["listen"] ?? "", fail: { fail("listen", $0) })

        var secrets: [String] = []
        if let password = databaseURL.password, !password.isEmpty { secrets.append(password) }
        var webhookSecret: [UInt8]?
        if let file = values["webhook-secret-file"] {
            guard let data = FileManager.default.contents(atPath: file) else {
                throw fail("webhook-secret-file", "cannot read \(quoted(file))")
            }
            let text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            guard !text.isEmpty else { throw fail("webhook-secret-file", "\(quoted(file)) is empty") }
            webhookSecret = Array(text.utf8)
            secrets.append(text)
        }
        var kek: KeyEncryptionKey?
        if let file = values["kek-file"] {
            do { kek = try KeyEncryptionKey.load(file: file) } catch { throw fail("kek-file", String(describing: error)) }
            secrets += keyTexts(file)
        }
        var signingKey: SigningKey?
        if let file = values["signing-key-file"] {
            do { signingKey = try SigningKey.load(file: file) } catch { throw fail("signing-key-file", String(describing: error)) }
            secrets += keyTexts(file)
        }
        // Git credentials are read when a fetch needs them; a file that cannot be read is a bad
        // setting now, and what they hold is never logged.
        do {
            let git = try GitCredentials.fromEnvironment(environment)
            secrets += [git.password, git.sshPassphrase].compactMap { $0 }.filter { !$0.isEmpty }
            if let key = git.sshKeyFile {
                guard FileManager.default.isReadableFile(atPath: key) else {
                    throw Invalid(setting: "ACCORD_GIT_SSH_KEY_FILE", reason: "cannot read \(quoted(key))")
                }
                secrets += keyTexts(key)
            }
        } catch let error as GitError {
            throw Invalid(setting: error.operation.replacingOccurrences(of: "read ", with: ""), reason: error.message)
        }
        var trustedKeys: TrustedKeys?
        if let directory = values["trusted-keys-dir"] {
            do { trustedKeys = try TrustedKeys.load(directory: directory) } catch { throw fail("trusted-keys-dir", String(describing: error)) }
        }
        let prune: Bool
        switch (values["prune"] ?? "false").lowercased() {
        case "true", "1", "yes", "on": prune = true
        case "false", "0", "no", "off": prune = false
        case let other: throw fail("prune", "must be true or false; got \(quoted(other))")
        }
        guard let percent = Double(values["max-delete-percent"] ?? ""), (0...100).contains(percent) else {
            throw fail("max-delete-percent", "must be a number between 0 and 100")
        }
        guard let level = Logger.Level(rawValue: (values["log-level"] ?? "").lowercased()) else {
            throw fail("log-level", "must be one of \(Logger.Level.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        guard let format = LogFormat(rawValue: (values["log-format"] ?? "").lowercased()) else {
            throw fail("log-format", "must be json or logfmt")
        }
        let retryMin = try duration("retry-min")
        let retryMax = try duration("retry-max")
        guard retryMax >= retryMin else { throw fail("retry-max", "must not be shorter than --retry-min") }

        return ControllerConfig(
            repo: repo, branch: values["branch"].flatMap { $0.isEmpty ? nil : $0 }, path: path,
            interval: try duration("interval"), resync: try duration("resync"), databaseURL: databaseURL,
            listenHost: host, listenPort: port, webhookSecret: webhookSecret, kek: kek, signingKey: signingKey,
            trustedKeys: trustedKeys, prune: prune,
            maxDeletePercent: percent, logLevel: level, logFormat: format, retryMin: retryMin, retryMax: retryMax,
            leaderPoll: try duration("leader-poll", min: .milliseconds(10)),
            cacheDirectory: GitMirror.defaultCacheDirectory(environment), secrets: secrets)
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

    static func listen(_ text: String, fail: (String) -> Invalid) throws -> (String, Int) {
        guard let colon = text.lastIndex(of: ":") else { throw fail("must be HOST:PORT, such as 0.0.0.0:8080; got \(quoted(text))") }
        var host = String(text[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty, let port = Int(text[text.index(after: colon)...]), (0...65535).contains(port) else {
            throw fail("must be HOST:PORT with a port from 0 to 65535; got \(quoted(text))")
        }
        return (host, port)
    }

    static func quoted(_ s: String) -> String { "\"" + String(s.prefix(200)).unicodeScalars.map { $0.properties.generalCategory == .control ? "?" : String($0) }.joined() + "\"" }

    /// The configuration with every secret left out, for the start-up log line.
    public var description: String {
        var parts = ["repo=\(RemoteURL.redacted(repo))", "branch=\(branch ?? "(default)")", "path=\(path.isEmpty ? "/" : path)",
                     "interval=\(DurationText.format(interval))", "resync=\(DurationText.format(resync))",
                     "database=\(databaseURL.redacted)", "listen=\(listenHost):\(listenPort)", "prune=\(prune)"]
        parts.append("webhook=\(webhookSecret == nil ? "off" : "on")")
        parts.append("kek=\(kek.map { "fingerprint \($0.fingerprint)" } ?? "none")")
        parts.append("signingKey=\(signingKey.map { "fingerprint \($0.fingerprint)" } ?? "none")")
        parts.append("trustedKeys=\(trustedKeys.map { "\($0.keys.count) in \($0.directory)" } ?? "none")")
        return parts.joined(separator: " ")
    }
}
