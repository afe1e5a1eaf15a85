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
        /// Set when the deletion guard refused the plan (nothing was written).
        public let refusal: String?
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
