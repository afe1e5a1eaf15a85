import AccordCore
import AccordEngine
import AccordGit
import AccordManifests
import AccordStore
import AccordTrust
import Foundation
import Logging

/// One setting of `accord-controller`: its flag, its environment variable,
/// its default, its help, and how its value is read into the configuration.
/// `ControllerSettings.all` is the one table the command line, the
/// environment, `--help` and the settings table of docs/controller.md are
/// all made from.
public struct ControllerSetting: Sendable {
    /// The flag without its dashes.
    public let flag: String
    public let env: String
    /// The value used when neither the flag nor the variable is given; nil
    /// when there is none (the setting is then off, or `required`).
    public let defaultValue: String?
    /// The default as people read it.
    public let defaultText: String
    /// What `--help` shows as the value (`DURATION`, `FILE`); nil for a
    /// switch (`--prune`, `--no-prune`).
    public let value: String?
    public let help: String
    public let required: Bool
    let parse: @Sendable (String, inout ControllerConfig) throws(SettingProblem) -> Void

    /// `--flag (VARIABLE)`, as errors name the setting.
    public var label: String { "--\(flag) (\(env))" }
    public var isSwitch: Bool { value == nil }

    init(_ flag: String, _ env: String, default defaultValue: String? = nil, shown defaultText: String? = nil,
         value: String?, required: Bool = false, help: String,
         parse: @escaping @Sendable (String, inout ControllerConfig) throws(SettingProblem) -> Void) {
        self.flag = flag
        self.env = env
        self.defaultValue = defaultValue
        self.defaultText = defaultText ?? defaultValue.map { "`\($0)`" } ?? (required ? "required" : "none")
        self.value = value
        self.help = help
        self.required = required
        self.parse = parse
    }
}

extension ControllerSetting {
    /// A setting holding a duration (`250ms`, `30s`, `5m`, `1h`, or seconds), at least `min`.
    static func duration(_ flag: String, _ env: String, default value: String, min: Duration = .milliseconds(1), help: String,
                         _ set: @escaping @Sendable (inout ControllerConfig, Duration) throws(SettingProblem) -> Void) -> ControllerSetting {
        ControllerSetting(flag, env, default: value, value: "DURATION", help: help) { text, config throws(SettingProblem) in
            try set(&config, try ControllerSettings.duration(text, min: min))
        }
    }
}

/// Why a value cannot be used, without the value when it is a secret.
struct SettingProblem: Error {
    let reason: String
    init(_ reason: String) { self.reason = reason }
}

public enum ControllerSettings {
    static var databaseURL: ControllerSetting { all.first { $0.flag == "database-url" }! }
    static var databaseURLFile: ControllerSetting { all.first { $0.flag == "database-url-file" }! }
    static var regionsFile: ControllerSetting { all.first { $0.flag == "regions-file" }! }

    public static let all: [ControllerSetting] = [
        ControllerSetting("repo", "ACCORD_REPO", value: "PATH|URL", required: true,
                          help: "A local repository (work tree or bare), or an `https://`, `ssh://` or `file://` URL kept as a bare mirror under `$ACCORD_CACHE_DIR/mirrors`.") { value, config throws(SettingProblem) in
            if !RemoteURL.isRemote(value) {
                var isDirectory: ObjCBool = false
                guard FileManager.default.fileExists(atPath: value, isDirectory: &isDirectory), isDirectory.boolValue else {
                    throw SettingProblem("\(Text.quoted(value, limit: 200)) is not a directory and not an https://, ssh:// or file:// URL")
                }
            }
            config.repo = value
        },
        ControllerSetting("branch", "ACCORD_BRANCH", shown: "the repository's `HEAD`", value: "BRANCH",
                          help: "The branch to follow.") { value, config in
            config.branch = value.isEmpty ? nil : value
        },
        ControllerSetting("path", "ACCORD_PATH", default: "", shown: "the root", value: "DIR",
                          help: "The directory inside the repository that holds the manifests.") { value, config throws(SettingProblem) in
            guard let path = ManifestPaths.normalize(value) else {
                throw SettingProblem("must be a directory inside the repository; got \(Text.quoted(value, limit: 200))")
            }
            config.path = path
        },
        .duration("interval", "ACCORD_INTERVAL", default: "30s", help: "How often to fetch the repository.") { $0.interval = $1 },
        .duration("resync", "ACCORD_RESYNC", default: "5m",
                  help: "How often to run a full pass that reads every row and reverts drift.") { $0.resync = $1 },
        ControllerSetting("database-url", "DATABASE_URL", shown: "required (or `--database-url-file`)", value: "URL",
                          help: "PostgreSQL: `postgres://user:password@host:port/database?sslmode=verify-full&sslrootcert=FILE`, with libpq's `sslmode` (default `prefer`), `sslrootcert`, `sslcert`, `sslkey`, `passfile`, `connect_timeout` and `application_name` (docs/controller.md).") { value, config throws(SettingProblem) in
            do { config.databaseURL = try DatabaseURL(value, environment: config.environment) } catch { throw SettingProblem(String(describing: error)) }
            config.databaseURLGiven = true
            if let password = config.databaseURL.password, !password.isEmpty { config.secrets.append(password) }
        },
        ControllerSetting("database-url-file", "DATABASE_URL_FILE", shown: "none", value: "FILE",
                          help: "A file holding the database URL instead (its password stays out of the process's arguments and environment); mode 0600 or stricter.") { file, config throws(SettingProblem) in
            do { config.databaseURL = try DatabaseURL.fromFile(file, environment: config.environment) } catch { throw SettingProblem(String(describing: error)) }
            config.databaseURLGiven = true
            if let password = config.databaseURL.password, !password.isEmpty { config.secrets.append(password) }
        },
        ControllerSetting("regions-file", "ACCORD_REGIONS_FILE", shown: "none (everything in the one database)", value: "FILE",
                          help: "A regions file (SPEC §9, docs/tenants.md): the control database and each region's database, each by a URL file. Each tenant's stores, data keys and erasure and retention deletions then live only in its region's database; it replaces `--database-url`.") { file, config throws(SettingProblem) in
            do {
                let parsed = try RegionsFileParser.load(file: file)
                let regions = try RegionDatabases.open(parsed, environment: config.environment)
                config.regions = regions
                config.readRegions = try RegionDatabases.open(parsed, readOnly: true, environment: config.environment)
                config.databaseURL = regions.control
                config.databaseURLGiven = true
                for url in [regions.control] + regions.urls.values {
                    if let password = url.password, !password.isEmpty { config.secrets.append(password) }
                }
            } catch { throw SettingProblem(String(describing: error)) }
        },
        ControllerSetting("listen", "ACCORD_LISTEN", default: "127.0.0.1:8080", value: "HOST:PORT",
                          help: "The HTTP address; port `0` picks a free one (logged as `listening`).") { value, config throws(SettingProblem) in
            (config.listenHost, config.listenPort) = try listen(value)
        },
        ControllerSetting("webhook-secret-file", "ACCORD_WEBHOOK_SECRET_FILE", shown: "none (`/hooks/git` answers 404)", value: "FILE",
                          help: "The webhook's shared secret (surrounding whitespace ignored). Mode 0600 or stricter, like every secret file.") { file, config throws(SettingProblem) in
            let text: String
            do { text = try SecretFile.text(file) } catch { throw SettingProblem(String(describing: error)) }
            guard !text.isEmpty else { throw SettingProblem("\(Text.quoted(file, limit: 200)) is empty") }
            config.webhookSecret = Array(text.utf8)
            config.secrets.append(text)
        },
        ControllerSetting("external-url", "ACCORD_EXTERNAL_URL", shown: "none (notifications carry no link)", value: "URL",
                          help: "Where people reach this controller's status page (`https://accord.example.com`): GitHub commit statuses link to its history, webhook bodies (`url`) and Slack messages to the object's page.") { value, config throws(SettingProblem) in
            guard (value.hasPrefix("https://") || value.hasPrefix("http://")), let url = URL(string: value), url.host != nil,
                  url.query == nil, url.fragment == nil, url.user == nil else {
                throw SettingProblem("must be an http(s):// URL without credentials, query or fragment; got \(Text.quoted(value, limit: 200))")
            }
            config.externalURL = value.hasSuffix("/") ? String(value.dropLast()) : value
        },
        ControllerSetting("api-token-file", "ACCORD_API_TOKEN_FILE", shown: "none (`/api/*`, `/metrics` and the status page are open)", value: "FILE",
                          help: "A bearer token `/api/*`, `/metrics` and the status page then require (`Authorization: Bearer TOKEN`); at least 16 characters, surrounding whitespace ignored, mode 0600 or stricter. `/healthz`, `/readyz` and the webhook stay open.") { file, config throws(SettingProblem) in
            let text: String
            do { text = try SecretFile.text(file) } catch { throw SettingProblem(String(describing: error)) }
            guard text.count >= BearerToken.minimumLength else {
                throw SettingProblem("\(Text.quoted(file, limit: 200)) holds \(text.count) characters; a token needs at least \(BearerToken.minimumLength) (openssl rand -hex 32)")
            }
            guard text.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7f }) else {
                throw SettingProblem("\(Text.quoted(file, limit: 200)): a token is one word of printable ASCII (openssl rand -hex 32)")
            }
            config.apiToken = Array(text.utf8)
            config.secrets.append(text)
        },
        ControllerSetting("kek-file", "ACCORD_KEK_FILE", value: "FILE",
                          help: "The key-encryption key for tenant data keys: 32 raw bytes or their base64 (docs/tenants.md). Mode 0600 or stricter.") { file, config throws(SettingProblem) in
            do { config.kek = try KeyEncryptionKey.load(file: file) } catch { throw SettingProblem(String(describing: error)) }
            config.secrets += ControllerConfig.keyTexts(file)
        },
        ControllerSetting("signing-key-file", "ACCORD_SIGNING_KEY_FILE", shown: "none (open erasures wait, saying so)", value: "FILE",
                          help: "The Ed25519 key that signs erasure certificates: PEM PKCS#8 or a raw 32-byte seed (docs/erasures.md). Mode 0600 or stricter.") { file, config throws(SettingProblem) in
            do { config.signingKey = try SigningKey.load(file: file) } catch { throw SettingProblem(String(describing: error)) }
            config.secrets += ControllerConfig.keyTexts(file)
        },
        ControllerSetting("trusted-keys-dir", "ACCORD_TRUSTED_KEYS_DIR", shown: "none (no version is promoted; rollbacks to former production versions still apply)", value: "DIR",
                          help: "The Ed25519 public keys model signatures are checked against: `*.pem` or `*.pub` (docs/models.md).") { directory, config throws(SettingProblem) in
            do { config.trustedKeys = try TrustedKeys.load(directory: directory) } catch { throw SettingProblem(String(describing: error)) }
        },
        ControllerSetting("verify-file", "ACCORD_VERIFY_FILE", shown: "none (commits are applied unverified)", value: "FILE",
                          help: "The verification policy: which SSH or OpenPGP keys must sign the commits applied, in mode head or strict, with per-kind rules (docs/controller.md).") { file, config throws(SettingProblem) in
            do {
                config.verifier = try CommitVerifier(policy: try VerificationPolicy.load(file: file))
            } catch {
                throw SettingProblem(String(describing: error))
            }
        },
        ControllerSetting("secrets-dir", "ACCORD_SECRETS_DIR", shown: "none (a Store that names credentials cannot be reached, a Notification sends nothing)", value: "DIR",
                          help: "The directory of secret files, each mode 0600 or stricter: the external stores' credentials, named by each Store's `spec.credentials` (docs/erasures.md), and each Notification's `spec.secret` (docs/notifications.md).") { directory, config throws(SettingProblem) in
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
                throw SettingProblem("\(Text.quoted(directory, limit: 200)) is not a directory")
            }
            config.secretsDirectory = directory
        },
        ControllerSetting("prune", "ACCORD_PRUNE", default: "false", shown: "off", value: nil,
                          help: "Delete managed objects removed from git (guarded; tenants only with `deletionPolicy: Delete`, a `Retain` tenant is offboarded either way); `--no-prune` overrides the variable.") { value, config throws(SettingProblem) in
            switch value.lowercased() {
            case "true", "1", "yes", "on": config.prune = true
            case "false", "0", "no", "off": config.prune = false
            default: throw SettingProblem("must be true or false; got \(Text.quoted(value, limit: 200))")
            }
        },
        ControllerSetting("status-page", "ACCORD_STATUS_PAGE", default: "true", value: "BOOL",
                          help: "Serve the read-only HTML status page at `/` on the `--listen` address (behind the API token when one is set); `--status-page=false` turns it off (docs/status-page.md).") { value, config throws(SettingProblem) in
            switch value.lowercased() {
            case "true", "1", "yes", "on": config.statusPage = true
            case "false", "0", "no", "off": config.statusPage = false
            default: throw SettingProblem("must be true or false; got \(Text.quoted(value, limit: 200))")
            }
        },
        ControllerSetting("max-delete-percent", "ACCORD_MAX_DELETE_PERCENT", default: "10", value: "PERCENT",
                          help: "The deletion guard: refuse plans removing more than this share of the managed objects (the controller never allows mass deletion).") { value, config throws(SettingProblem) in
            guard let percent = Double(value), (0...100).contains(percent) else { throw SettingProblem("must be a number between 0 and 100") }
            config.maxDeletePercent = percent
        },
        ControllerSetting("log-level", "ACCORD_LOG_LEVEL", default: "info", value: "LEVEL",
                          help: "`trace`, `debug`, `info`, `notice`, `warning`, `error` or `critical`.") { value, config throws(SettingProblem) in
            guard let level = Logger.Level(rawValue: value.lowercased()) else {
                throw SettingProblem("must be one of \(Logger.Level.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            config.logLevel = level
        },
        ControllerSetting("log-format", "ACCORD_LOG_FORMAT", default: "json", value: "FORMAT",
                          help: "`json` (one object per line) or `logfmt`.") { value, config throws(SettingProblem) in
            guard let format = ControllerConfig.LogFormat(rawValue: value.lowercased()) else { throw SettingProblem("must be json or logfmt") }
            config.logFormat = format
        },
        .duration("retry-min", "ACCORD_RETRY_MIN", default: "1s", help: "The first retry delay of a failed object or fetch.") { $0.retryMin = $1 },
        .duration("retry-max", "ACCORD_RETRY_MAX", default: "5m",
                  help: "The longest retry delay (objects and fetches); not shorter than `--retry-min`.") { config, value throws(SettingProblem) in
            guard value >= config.retryMin else { throw SettingProblem("must not be shorter than --retry-min") }
            config.retryMax = value
        },
        .duration("leader-poll", "ACCORD_LEADER_POLL", default: "1s", min: .milliseconds(10),
                  help: "How often a standby tries the leader lock and the leader checks it still holds it.") { $0.leaderPoll = $1 },
    ]

    static func duration(_ text: String, min: Duration = .milliseconds(1)) throws(SettingProblem) -> Duration {
        guard let d = DurationText.parse(text) else {
            throw SettingProblem("must be a duration such as 30s, 5m or 250ms; got \(Text.quoted(text, limit: 200))")
        }
        guard d >= min else { throw SettingProblem("must be at least \(DurationText.format(min)); got \(Text.quoted(text, limit: 200))") }
        return d
    }

    static func listen(_ text: String) throws(SettingProblem) -> (String, Int) {
        guard let colon = text.lastIndex(of: ":") else {
            throw SettingProblem("must be HOST:PORT, such as 0.0.0.0:8080; got \(Text.quoted(text, limit: 200))")
        }
        var host = String(text[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty, let port = Int(text[text.index(after: colon)...]), (0...65535).contains(port) else {
            throw SettingProblem("must be HOST:PORT with a port from 0 to 65535; got \(Text.quoted(text, limit: 200))")
        }
        return (host, port)
    }

    /// The settings table of docs/controller.md.
    public static var markdownTable: String {
        var out = "| flag | variable | default | meaning |\n|---|---|---|---|\n"
        for s in all {
            let flag = s.isSwitch ? "`--\(s.flag)`, `--no-\(s.flag)`" : "`--\(s.flag)`"
            out += "| \(flag) | `\(s.env)` | \(s.defaultText) | \(s.help.replacingOccurrences(of: "|", with: "\\|")) |\n"
        }
        return out
    }
}
