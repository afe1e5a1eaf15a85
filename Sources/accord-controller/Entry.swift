import AccordController
import AccordHTTP
import ArgumentParser
import Foundation
import Logging
import Prometheus
import ServiceLifecycle

/// The reconciliation daemon: parses its settings, wires the controller and
/// its HTTP endpoints once, and runs them until SIGTERM or SIGINT.
@main
struct AccordControllerCommand: AsyncParsableCommand {
    /// Parses and runs; a usage error (an unknown option, a missing value)
    /// exits 2 like every bad setting, not ArgumentParser's 64.
    static func main() async {
        do {
            var command = try parseAsRoot(nil)
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            if exitCode(for: error) == .validationFailure {
                let text = "accord-controller: error: \(message(for: error)) (see accord-controller --help)\n"
                FileHandle.standardError.write(Data(text.utf8))
                exit(withError: ExitCode(2))
            }
            exit(withError: error)
        }
    }

    static let configuration = CommandConfiguration(
        commandName: "accord-controller",
        abstract: "Accord's daemon: watch a manifests repository and reconcile it into PostgreSQL continuously.",
        discussion: """
            Every option can also be set by the environment variable in brackets; an option given on the \
            command line wins. The controller keeps a bare mirror of a remote repository (or reads a local \
            one), reconciles once at start, on every new commit of --branch, on a signed webhook \
            (POST /hooks/git) and every --resync with a full pass that reverts drift. Objects the database \
            refuses are retried with per-object exponential backoff (--retry-min to --retry-max) while the \
            others apply; failed fetches back off the same way (condition SourceUnavailable), and a damaged \
            mirror is cloned anew. Replicas sharing a database elect one leader through a PostgreSQL advisory lock; \
            the others stand by. HTTP: /healthz, /readyz, /metrics, /hooks/git, /api/v1/objects. SIGTERM or \
            SIGINT lets the transaction in hand commit, stops the pass there (every object whole; \
            the rest waits for the next pass), releases the lock and exits 0 within 10 s. See docs/controller.md. \
            Exit status: 0 after a clean shutdown, 1 when the HTTP server or the service group fails, \
            2 for a bad setting (nothing is started).
            """
    )

    @Option(help: "Repository: a local path, or an https://, ssh:// or file:// URL mirrored under $ACCORD_CACHE_DIR [ACCORD_REPO].")
    var repo: String?
    @Option(help: "Branch to follow (default: the repository's HEAD) [ACCORD_BRANCH].")
    var branch: String?
    @Option(help: "Directory inside the repository that holds the manifests (default: the root) [ACCORD_PATH].")
    var path: String?
    @Option(help: "How often to poll the repository: 30s, 1m, 500ms (default 30s) [ACCORD_INTERVAL].")
    var interval: String?
    @Option(help: "How often to run a full pass that reverts drift (default 5m) [ACCORD_RESYNC].")
    var resync: String?
    @Option(name: .customLong("database-url"), help: "PostgreSQL URL, postgres://user:password@host:port/database [DATABASE_URL].")
    var databaseURL: String?
    @Option(help: "HTTP address, HOST:PORT (default 127.0.0.1:8080; port 0 picks a free one) [ACCORD_LISTEN].")
    var listen: String?
    @Option(name: .customLong("webhook-secret-file"), help: "File holding the webhook's shared secret; without it /hooks/git answers 404 [ACCORD_WEBHOOK_SECRET_FILE].")
    var webhookSecretFile: String?
    @Option(name: .customLong("kek-file"), help: "Key-encryption key for tenant data keys: 32 raw bytes or their base64 [ACCORD_KEK_FILE].")
    var kekFile: String?
    @Option(name: .customLong("signing-key-file"), help: "Ed25519 key that signs erasure certificates: PEM PKCS#8 or a raw 32-byte seed [ACCORD_SIGNING_KEY_FILE].")
    var signingKeyFile: String?
    @Option(name: .customLong("trusted-keys-dir"), help: "Directory of Ed25519 public keys for model signatures: *.pem or *.pub [ACCORD_TRUSTED_KEYS_DIR].")
    var trustedKeysDir: String?
    @Flag(inversion: .prefixedNo, help: "Delete managed objects removed from git (tenants only with deletionPolicy: Delete; a Retain tenant is offboarded with or without it); --no-prune overrides ACCORD_PRUNE [ACCORD_PRUNE=true].")
    var prune: Bool?
    @Option(name: .customLong("max-delete-percent"), help: "Deletion guard: refuse plans removing more than this share of managed objects (default 10) [ACCORD_MAX_DELETE_PERCENT].")
    var maxDeletePercent: String?
    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical (default info) [ACCORD_LOG_LEVEL].")
    var logLevel: String?
    @Option(name: .customLong("log-format"), help: "json or logfmt (default json) [ACCORD_LOG_FORMAT].")
    var logFormat: String?
    @Option(name: .customLong("retry-min"), help: "First retry delay of a failed object or fetch (default 1s) [ACCORD_RETRY_MIN].")
    var retryMin: String?
    @Option(name: .customLong("retry-max"), help: "Longest retry delay of a failed object or fetch (default 5m) [ACCORD_RETRY_MAX].")
    var retryMax: String?
    @Option(name: .customLong("leader-poll"), help: "How often a standby tries the leader lock and the leader checks it (default 1s) [ACCORD_LEADER_POLL].")
    var leaderPoll: String?

    var flags: [String: String] {
        var out: [String: String] = [:]
        let pairs: [(String, String?)] = [
            ("repo", repo), ("branch", branch), ("path", path), ("interval", interval), ("resync", resync),
            ("database-url", databaseURL), ("listen", listen), ("webhook-secret-file", webhookSecretFile),
            ("kek-file", kekFile), ("signing-key-file", signingKeyFile), ("trusted-keys-dir", trustedKeysDir), ("prune", prune.map { $0 ? "true" : "false" }), ("max-delete-percent", maxDeletePercent),
            ("log-level", logLevel), ("log-format", logFormat), ("retry-min", retryMin), ("retry-max", retryMax),
            ("leader-poll", leaderPoll),
        ]
        for (k, v) in pairs { if let v { out[k] = v } }
        return out
    }

    func run() async throws {
        let config: ControllerConfig
        do {
            config = try ControllerConfig.resolve(flags: flags, environment: ProcessInfo.processInfo.environment)
        } catch {
            FileHandle.standardError.write(Data("accord-controller: error: \(error)\n".utf8))
            throw ExitCode(2)
        }
        let redactor = LogRedactor(secrets: config.secrets)
        LoggingSystem.bootstrap { label in
            StructuredLogHandler(label: label, level: config.logLevel, format: config.logFormat,
                                 sink: StandardErrorSink(), redactor: redactor)
        }
        let logger = Logger(label: "accord.controller")
        let registry = PrometheusCollectorRegistry()
        let metrics = ControllerMetrics(factory: PrometheusMetricsFactory(registry: registry))
        let state = ControllerState()
        let doorbell = Doorbell()
        let controller = Controller(config: config, state: state, metrics: metrics, doorbell: doorbell, logger: logger)
        let http = HTTPServer.application(.init(config: config, state: state, doorbell: doorbell, registry: registry,
                                                logger: Logger(label: "accord.http")))
        var group = ServiceGroupConfiguration(
            services: [
                .init(service: http, serviceName: "http"),
                .init(service: controller, successTerminationBehavior: .gracefullyShutdownGroup, serviceName: "controller"),
            ],
            gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        group.maximumGracefulShutdownDuration = .seconds(9)
        logger.info("starting", metadata: ["config": "\(config)"])
        do {
            try await ServiceGroup(configuration: group).run()
        } catch {
            logger.critical("stopped on an error", metadata: ["error": "\(error)"])
            throw ExitCode(1)
        }
    }
}

