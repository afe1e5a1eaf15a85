import AccordCore
import AccordEngine
import AccordStore
import Foundation

extension Pass {
    /// The keys a pass works with, read from files outside the repository
    /// (SPEC §5). Each one missing stalls only what needs it.
    public struct Keys: Sendable {
        /// Wraps tenant data keys. Without one, tenants that need a new key
        /// (onboarding, rotation) are stalled; everything else applies.
        public var kek: KeyEncryptionKey?
        /// Signs erasure certificates. Without one, open erasures wait
        /// (stalled, saying so); everything else applies.
        public var signingKey: SigningKey?
        /// Public keys model signatures are checked against. Without them
        /// no production version moves forward (rollbacks still do).
        public var trustedKeys: TrustedKeys?
        /// Where the external stores' credentials files are
        /// (`ACCORD_SECRETS_DIR`); a store that names one cannot be reached without it.
        public var secretsDirectory: String?

        public init(kek: KeyEncryptionKey? = nil, signingKey: SigningKey? = nil, trustedKeys: TrustedKeys? = nil,
                    secretsDirectory: String? = nil) {
            self.kek = kek
            self.signingKey = signingKey
            self.trustedKeys = trustedKeys
            self.secretsDirectory = secretsDirectory
        }
    }

    public struct Options: Sendable {
        /// Who runs the pass, for the lock, the audit log and history.
        public var actor: String
        public var keys: Keys
        public var prune: Bool
        public var guardrail: DeletionGuard
        public var lockTimeout: Duration
        public var dryRun = false
        /// Skip the fast path and incremental passes: always read and compare every row.
        public var full = false
        /// Run open erasures and due retention after the pass.
        public var runErasuresAndRetention = true
        /// The time keys are created and rotated at (tests move it).
        public var clock: @Sendable () -> Date = { Date() }
        /// Asked between transactions: true ends the pass there, every
        /// object whole, and skips its tail (key rotation, erasures,
        /// retention). The daemon's shutdown.
        public var stopRequested: @Sendable () -> Bool = { false }
        /// Objects not to attempt in this pass, each with the manifest hash
        /// it is held at (the controller's per-object backoff): a held
        /// object whose manifest changed is attempted. A pass that holds
        /// anything back is not a complete one (no fast path after it).
        public var holdBack: [ObjectID: String] = [:]
        /// Creates into an empty inventory from which a pass defers some
        /// secondary indexes to the end (`BulkLoad`).
        public var bulkLoadThreshold = BulkLoad.threshold
        /// Given what a full pass no longer needs once its desired rows are
        /// built (the parsed manifests, the files' bytes); dropping it frees
        /// 100,000 objects one by one (about 40 ms at 113,500 objects). The
        /// default drops it at once; a command that exits when the pass is
        /// done passes `Release.atExit`.
        public var discard: @Sendable (any Sendable) -> Void = { _ in }
        /// Told where the pass is: each phase as it starts, and the objects
        /// applied so far after each transaction (`accordctl apply`'s
        /// progress line).
        public var progress: @Sendable (PassProgress) -> Void = { _ in }
        /// Who signed the revision, under a verification policy: recorded in history.
        public var signer: String?
        /// Asked with the plan's steps (and where each object is written in
        /// git) before anything is written: a reason to refuse the plan —
        /// the verification policy's per-kind signer rules.
        public var authorize: (@Sendable ([PlanStep], [ObjectID: String]) async throws -> String?)?

        /// Objects written outside Accord, as the controller heard them
        /// (`DriftNotices`): when the last complete pass's base still
        /// holds for everything else, only these are planned (a targeted
        /// pass); otherwise the pass is full.
        public var drift: Drift?

        public init(actor: String = "accordctl", keys: Keys = Keys(), prune: Bool = false,
                    guardrail: DeletionGuard = DeletionGuard(), lockTimeout: Duration = .seconds(30)) {
            self.actor = actor
            self.keys = keys
            self.prune = prune
            self.guardrail = guardrail
            self.lockTimeout = lockTimeout
        }
    }
}

/// Objects written outside Accord, and since when every such write was
/// heard: the outside-writes count read once LISTEN was in effect; nil
/// when a write may have gone unheard (only a full pass is exact then).
public struct Drift: Sendable, Equatable {
    public var objects: Set<ObjectID>
    public var heardSince: Int64?

    public init(objects: Set<ObjectID>, heardSince: Int64?) {
        self.objects = objects
        self.heardSince = heardSince
    }
}

/// Where a pass is: its phase and, while it applies, the objects done of
/// the plan's steps.
public struct PassProgress: Sendable, Equatable {
    public enum Phase: String, Sendable {
        case reading = "reading manifests", planning = "planning", applying = "applying"
        case erasures = "running erasures", retention = "enforcing retention", stores = "checking stores"
    }

    public let phase: Phase
    public let done: Int
    public let total: Int

    public init(_ phase: Phase, done: Int = 0, total: Int = 0) {
        self.phase = phase
        self.done = done
        self.total = total
    }
}
