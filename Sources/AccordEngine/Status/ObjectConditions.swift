import AccordCore
import Foundation

/// What is known about one object when its status is shown: what Accord's
/// tables record, and what the daemon knows (its retry).
public struct ObjectFacts: Sendable {
    /// The last attempt's failure, as `accord.object_status` records it:
    /// its reason (a `FailureReason`, or one a newer Accord recorded), its
    /// message, whether it needs a change, and when the daemon tries again.
    public typealias Failure = (reason: String, message: String, stalled: Bool, nextAttemptAt: Date?)

    /// The daemon holds the object back until its next retry.
    public typealias Retry = (attempts: Int, nextRetry: Date?, stalled: Bool)

    /// An erasure's run against its deadline: `pending`, `running`,
    /// `completed` or `failed`; its certificate issued (the clock stopped);
    /// the external stores whose part is not verified yet.
    public typealias ErasureClock = (status: String, requestedAt: Date, certified: Bool, waitingFor: [String])

    /// A Store that is not usable: why, and when it is checked again.
    public typealias Unavailable = (message: String, nextCheck: Date?)

    /// A Notification whose deliveries fail: the last error, when the
    /// waiting event is tried again, and whether the receiver refused for
    /// good (nothing is sent until the manifest changes).
    public typealias Delivery = (error: String, nextAttempt: Date?, refused: Bool)

    public var failure: Failure?
    /// Removed from git; its rows kept by design (an offboarded tenant).
    public var retained = false
    /// Removed from git and kept because prune is off.
    public var orphaned = false
    /// A tenant (its `Retained` message says what is kept).
    public var isTenant = false
    public var retry: Retry?
    public var erasure: ErasureClock?
    public var unavailable: Unavailable?
    public var delivery: Delivery?

    public init(failure: Failure? = nil, retained: Bool = false, orphaned: Bool = false, isTenant: Bool = false,
                retry: Retry? = nil, erasure: ErasureClock? = nil, unavailable: Unavailable? = nil) {
        self.failure = failure
        self.retained = retained
        self.orphaned = orphaned
        self.isTenant = isTenant
        self.retry = retry
        self.erasure = erasure
        self.unavailable = unavailable
    }
}

/// An object's conditions (kstatus: `Ready`, `Reconciling`, `Stalled`, and
/// `OnSchedule` for an open erasure) and the message that says what blocks
/// it, as a pure function of its facts (gitops-engine's `pkg/health` habit).
public enum ObjectConditions {
    public struct Status: Sendable, Hashable {
        public let message: String
        public let conditions: [Condition]
        /// The object's rows are as git has them (or kept on purpose).
        public var ready: Bool { conditions.holds(.ready) }
        public var stalled: Bool { conditions.holds(.stalled) }
    }

    public static func evaluate(_ facts: ObjectFacts, now: Date) -> Status {
        var message: String
        var ready: Condition
        var stalled = Condition(.stalled, .false)
        if let failure = facts.failure {
            message = failure.message + (failure.nextAttemptAt.map { "; next attempt at \(time($0))" } ?? "")
            ready = Condition(.ready, .false, reason: failure.reason, message: failure.message)
            if failure.stalled {
                stalled = Condition(.stalled, .true, reason: failure.reason,
                                    message: "needs a change in git or in the live schema; not retried until then")
            }
        } else if let unavailable = facts.unavailable {
            message = unavailable.message + (unavailable.nextCheck.map { "; checked again at \(time($0))" } ?? "")
            ready = Condition(.ready, .false, .storeUnavailable, message: unavailable.message)
        } else if let delivery = facts.delivery {
            if delivery.refused {
                message = "the receiver refused a delivery: \(delivery.error); nothing more is sent until the manifest changes"
                ready = Condition(.ready, .false, .deliveryRefused, message: delivery.error)
                stalled = Condition(.stalled, .true, .deliveryRefused,
                                    message: "the receiver refused a delivery; events wait until the Notification's manifest changes")
            } else {
                message = "delivery failed: \(delivery.error)" + (delivery.nextAttempt.map { "; next attempt at \(time($0))" } ?? "")
                ready = Condition(.ready, .false, .deliveryFailed, message: delivery.error)
            }
        } else if facts.retained {
            message = facts.isTenant ? "removed from git; offboarded, its data kept (deletionPolicy: Retain)"
                                     : "removed from git; its record is kept"
            ready = Condition(.ready, .true, .retained, message: message)
        } else if facts.orphaned {
            message = "removed from git and kept: not pruned (apply --prune deletes it)"
            ready = Condition(.ready, .true, .orphaned, message: message)
        } else {
            message = "applied"
            ready = Condition(.ready, .true, .applied, message: "the live rows match git")
        }
        // A one-shot apply is never in progress when status is read; the
        // daemon's object waiting for its retry is still being reconciled.
        var reconciling = Condition(.reconciling, .false)
        if facts.failure == nil, let unavailable = facts.unavailable {
            reconciling = Condition(.reconciling, .true, .storeUnavailable,
                                    message: "checked again at \(unavailable.nextCheck.map(time) ?? "the next pass")")
        }
        if facts.failure == nil, let delivery = facts.delivery, !delivery.refused {
            reconciling = Condition(.reconciling, .true, .deliveryFailed,
                                    message: "retrying at \(delivery.nextAttempt.map(time) ?? "the next send")")
        }
        if let retry = facts.retry, !retry.stalled {
            reconciling = Condition(.reconciling, .true, .retryScheduled,
                                    message: "attempt \(retry.attempts) failed; retrying at \(retry.nextRetry.map(time) ?? "?")")
        }
        var conditions = [ready, reconciling, stalled]
        if let clock = facts.erasure, !clock.certified {
            let due = ErasureSLA.due(requestedAt: clock.requestedAt)
            let stage = ErasureSLA.stage(requestedAt: clock.requestedAt, now: now)
            let holding = clock.waitingFor.isEmpty ? "" : "; waiting for \(clock.waitingFor.count == 1 ? "store" : "stores") \(clock.waitingFor.joined(separator: ", "))"
            if stage >= .warning {
                message += "; \(stage.meaning) (due \(time(due)))\(holding)"
                let reason: StatusReason = stage == .warning ? .slaWarning : stage == .escalation ? .slaEscalation : .slaOverdue
                conditions.append(Condition(.onSchedule, .false, reason, message: "erasure \(clock.status), \(stage.meaning); due \(time(due))\(holding)"))
            } else {
                if !holding.isEmpty { message += holding }
                conditions.append(Condition(.onSchedule, .true, .withinDeadline, message: "due \(time(due))\(holding)"))
            }
        }
        return Status(message: message, conditions: conditions)
    }

    static func time(_ date: Date) -> String { Timestamp.rfc3339(epochSeconds: Int64(date.timeIntervalSince1970)) }
}
