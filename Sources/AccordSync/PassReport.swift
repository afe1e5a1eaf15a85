import AccordCore
import AccordEngine
import AccordStore
import Foundation

extension Pass {
    /// What a pass did: its plan, how it read its input, what it executed,
    /// and the work after the plan.
    public struct Report: Sendable {
        public let kind: PassKind
        public let plan: Plan
        /// Set when the plan was refused — by the deletion guard, or by a
        /// signer rule of the verification policy: nothing was written.
        public let refusal: PlanRefusal?
        /// nil for a dry run or a refused plan.
        public let outcome: Executor.Outcome?
        /// The pass was recorded in history.
        public let recorded: Bool
        /// Desired objects in the revision.
        public let objects: Int
        /// Wall time per phase (ACCORD_TIMINGS=1).
        public var timings = Stopwatch()
        /// Tenant data keys rotated after the plan ran (`KeyRotation`).
        public var rotation = KeyRotation.Outcome()
        /// Erasures run after the plan (`ErasureRuns`).
        public var erasures = ErasureRuns.Outcome()
        /// Retention enforced because a policy's schedule was due.
        public var retention = Retention.Outcome()
        /// Steps left out because `Options.holdBack` held their objects.
        public var held: [PlanStep] = []
        /// The external stores checked after the pass.
        public var storeChecks: [StoreCheck] = []

        public struct StoreCheck: Sendable {
            public let store: String
            public let ready: Bool
            public let message: String
        }

        /// The pass stopped between transactions when asked to
        /// (`Options.stopRequested`); `outcome.interrupted` lists what it left.
        public var interrupted: Bool { !(outcome?.interrupted.isEmpty ?? true) }
    }
}

/// Why a plan was refused before anything was written.
public struct PlanRefusal: Sendable, Equatable, CustomStringConvertible {
    public enum By: String, Sendable {
        /// It deletes more than the guard allows (`DeletionGuard`).
        case deletionGuard = "the deletion guard"
        /// It changes an object of a kind the verification policy reserves
        /// for signers the commit is not signed by.
        case signerRule = "a signer rule"
        /// It moves a tenant to another region's database (SPEC §9).
        case residency = "data residency"
    }

    public let by: By
    public let reason: String

    public init(by: By, reason: String) {
        self.by = by
        self.reason = reason
    }

    /// `deletion guard: …`, `signer rule: …` or `residency: …`.
    public var description: String {
        let name = switch by {
        case .deletionGuard: "deletion guard"
        case .signerRule: "signer rule"
        case .residency: "residency"
        }
        return "\(name): \(reason)"
    }
}
