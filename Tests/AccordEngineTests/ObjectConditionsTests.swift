import AccordCore
import AccordEngine
import Foundation
import Testing

/// Conditions as a pure function of what is known about an object.
@Suite struct ObjectConditionsTests {
    static let now = Date(timeIntervalSince1970: 1_790_000_000)

    static func evaluate(_ facts: ObjectFacts) -> ObjectConditions.Status { ObjectConditions.evaluate(facts, now: now) }

    @Test func anAppliedObjectIsReadyAndNothingElse() {
        let s = Self.evaluate(ObjectFacts())
        #expect(s.conditions.map(\.type) == [.ready, .reconciling, .stalled])
        #expect(s.conditions[.ready] == Condition(.ready, .true, .applied, message: "the live rows match git"))
        #expect(!s.conditions.holds(.reconciling) && !s.stalled && s.ready)
        #expect(s.message == "applied")
    }

    @Test func aFailureIsNotReadyAndStallsOnlyWhenItNeedsAChange() {
        let retry = Self.evaluate(ObjectFacts(failure: (FailureReason.applyFailed.rawValue, "refused", false, Self.now.addingTimeInterval(30))))
        #expect(retry.conditions[.ready] == Condition(.ready, .false, .applyFailed, message: "refused"))
        #expect(!retry.stalled && retry.conditions[.stalled]?.reason == "")
        #expect(retry.message == "refused; next attempt at 2026-09-21T14:13:50Z")

        let stalled = Self.evaluate(ObjectFacts(failure: ("PromotionBlocked", "blocked", true, nil)))
        #expect(stalled.stalled && stalled.conditions[.stalled]?.reason == "PromotionBlocked")
        #expect(!stalled.ready && stalled.message == "blocked")
    }

    @Test func keptObjectsAreReadyWithWhyTheyAreKept() {
        #expect(Self.evaluate(ObjectFacts(retained: true, isTenant: true)).conditions[.ready]?.reason == "Retained")
        #expect(Self.evaluate(ObjectFacts(retained: true, isTenant: true)).message.contains("offboarded"))
        #expect(Self.evaluate(ObjectFacts(retained: true)).message == "removed from git; its record is kept")
        let orphan = Self.evaluate(ObjectFacts(orphaned: true))
        #expect(orphan.conditions[.ready]?.reason == "Orphaned" && orphan.ready)
        // A failure wins over being kept.
        #expect(!Self.evaluate(ObjectFacts(failure: ("ApplyFailed", "x", false, nil), orphaned: true)).ready)
    }

    @Test func aScheduledRetryIsStillReconciling() {
        let next = Self.now.addingTimeInterval(60)
        let s = Self.evaluate(ObjectFacts(failure: ("ApplyFailed", "x", false, nil),
                                          retry: (3, next, false)))
        #expect(s.conditions[.reconciling] == Condition(.reconciling, .true, .retryScheduled,
                                                        message: "attempt 3 failed; retrying at 2026-09-21T14:14:20Z"))
        let held = Self.evaluate(ObjectFacts(failure: ("ApplyFailed", "x", true, nil),
                                             retry: (1, nil, true)))
        #expect(!held.conditions.holds(.reconciling), "a stalled object waits for a change, not a retry")
    }

    @Test(arguments: [(10.0, StatusReason.withinDeadline, true), (49, .slaWarning, false), (61, .slaEscalation, false), (73, .slaOverdue, false)])
    func anOpenErasureIsJudgedAgainstItsDeadline(hours: Double, reason: StatusReason, onSchedule: Bool) {
        let clock: ObjectFacts.ErasureClock = ("pending", Self.now.addingTimeInterval(-hours * 3600), false, [])
        let s = Self.evaluate(ObjectFacts(erasure: clock))
        #expect(s.conditions[.onSchedule]?.reason == reason.rawValue)
        #expect(s.conditions.holds(.onSchedule) == onSchedule)
        #expect(s.message.contains("due ") == !onSchedule, "past 48h the message says so: \(s.message)")
        let closed = Self.evaluate(ObjectFacts(erasure: ("completed", clock.requestedAt, true, [])))
        #expect(closed.conditions[.onSchedule] == nil, "a certified erasure has no deadline")
        // The stores holding an erasure back are named.
        let held = Self.evaluate(ObjectFacts(erasure: ("running", clock.requestedAt, false, ["analytics-eu", "uploads-eu"])))
        #expect(held.conditions[.onSchedule]?.message.hasSuffix("waiting for stores analytics-eu, uploads-eu") == true)
        #expect(held.message.contains("waiting for stores analytics-eu, uploads-eu"))
    }

    @Test func anUnavailableStoreIsNotReadyAndIsCheckedAgain() {
        let s = Self.evaluate(ObjectFacts(unavailable: ("Store/x: unreachable: cannot connect", Self.now.addingTimeInterval(30))))
        #expect(s.conditions[.ready] == Condition(.ready, .false, .storeUnavailable, message: "Store/x: unreachable: cannot connect"))
        #expect(s.conditions[.reconciling]?.status == .true && !s.stalled)
        #expect(s.message.hasSuffix("; checked again at 2026-09-21T14:13:50Z"))
    }
}
