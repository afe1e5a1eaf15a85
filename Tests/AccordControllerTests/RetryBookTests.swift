@testable import AccordController
import AccordCore
import Foundation
import Testing

@Suite struct RetryBookTests {
    let a = ObjectID(kind: .worker, tenant: "acme", name: "a")
    let b = ObjectID(kind: .worker, tenant: "acme", name: "b")

    func failure(_ id: ObjectID, hash: String = "h1", stalled: Bool = false) -> RetryBook.Failure {
        RetryBook.Failure(id: id, manifestHash: hash, stalled: stalled, reason: .applyFailed, message: "refused")
    }

    @Test func backoffDoublesWithJitterUpToTheMaximum() {
        let low = Backoff(min: .seconds(1), max: .seconds(300), random: { 0 })
        let high = Backoff(min: .seconds(1), max: .seconds(300), random: { 0.999 })
        #expect(low.delay(attempt: 1) == .seconds(1))
        #expect(low.delay(attempt: 2) == .seconds(2))
        #expect(low.delay(attempt: 4) == .seconds(8))
        #expect(high.delay(attempt: 1) > .seconds(1) && high.delay(attempt: 1) < .milliseconds(1250))
        #expect(low.delay(attempt: 20) == .seconds(300))
        #expect(high.delay(attempt: 20) == .seconds(300))
    }

    @Test func aRefusedObjectIsHeldUntilItsRetryIsDue() {
        var book = RetryBook(backoff: Backoff(min: .seconds(1), max: .seconds(300), random: { 0 }))
        let t0 = Date(timeIntervalSince1970: 1_000)
        book.record(refused: [failure(a)], held: [], now: t0)
        #expect(book.holdBack(now: t0) == [a: "h1"])
        #expect(book.nextDue == t0.addingTimeInterval(1))
        #expect(book.holdBack(now: t0.addingTimeInterval(1)).isEmpty, "due: attempted by the next pass")
        #expect(book.nextDue(after: t0) == t0.addingTimeInterval(1))
        #expect(book.nextDue(after: t0.addingTimeInterval(1.5)) == nil, "a pass after it came due could not take it: no new pass for it")

        // The retry fails again: two attempts, two seconds.
        book.record(refused: [failure(a)], held: [], now: t0.addingTimeInterval(1))
        #expect(book.entries[a]?.attempts == 2)
        #expect(book.nextDue == t0.addingTimeInterval(3))

        // b fails while a is held: a keeps its entry; b starts at one second.
        book.record(refused: [failure(b)], held: [a], now: t0.addingTimeInterval(2))
        #expect(book.entries[a]?.attempts == 2)
        #expect(book.entries[b]?.attempts == 1)
        #expect(book.depth == 2)

        // a applies: gone; b still held.
        book.record(refused: [], held: [b], now: t0.addingTimeInterval(3))
        #expect(book.entries[a] == nil)
        #expect(book.entries[b] != nil)
    }

    @Test func aStalledObjectWaitsForItsManifestToChange() {
        var book = RetryBook(backoff: Backoff(random: { 0 }))
        let t0 = Date(timeIntervalSince1970: 1_000)
        book.record(refused: [failure(a, stalled: true)], held: [], now: t0)
        #expect(book.entries[a]?.nextRetry == nil)
        #expect(book.nextDue == nil, "no retry is scheduled")
        #expect(book.holdBack(now: t0.addingTimeInterval(86_400)) == [a: "h1"], "held at its manifest hash, however long")

        // A new manifest fails too: the count starts again.
        book.record(refused: [failure(a, hash: "h2")], held: [], now: t0)
        #expect(book.entries[a]?.attempts == 1)
        #expect(book.entries[a]?.stalled == false)
    }
}
