import AccordCore
import Testing

/// `ACCORD_TIMINGS` accounts for a command's whole time: phases back to
/// back from where the watch began, watches joined keep the earliest
/// start, and a phase can end at a given instant (a start-up that ends
/// where a pass's own watch began).
@Suite struct StopwatchTests {
    @Test func phasesFollowEachOtherFromTheStart() {
        let t0 = ContinuousClock.now
        var watch = Stopwatch(since: t0)
        watch.lap("first", endingAt: t0 + .milliseconds(5))
        watch.lap("second", endingAt: t0 + .milliseconds(12))
        #expect(watch.started == t0 && watch.last == t0 + .milliseconds(12))
        #expect(watch.phases.map { $0.1 } == [.milliseconds(5), .milliseconds(7)])
        #expect(watch.report == "timing: first 5 ms\ntiming: second 7 ms")
        // A phase said to end before the last one ended takes no time, never a negative one.
        watch.lap("late", endingAt: t0 + .milliseconds(3))
        #expect(watch.phases.last?.1 == .zero && watch.last == t0 + .milliseconds(12))
    }

    @Test func joinedWatchesKeepTheEarliestStartAndTheLatestEnd() {
        let t0 = ContinuousClock.now
        var pass = Stopwatch(since: t0 + .milliseconds(10))
        pass.lap("migrate", endingAt: t0 + .milliseconds(14))
        var read = Stopwatch(since: t0 + .milliseconds(14))
        read.lap("read", endingAt: t0 + .milliseconds(30))
        pass.append(read)
        #expect(pass.started == t0 + .milliseconds(10) && pass.last == t0 + .milliseconds(30))
        #expect(pass.phases.map { $0.0 } == ["migrate", "read"])
        // The next phase counts from the later end.
        pass.lap("plan", endingAt: t0 + .milliseconds(31))
        #expect(pass.phases.last?.1 == .milliseconds(1))
    }

    @Test func millisecondsRounded() {
        #expect(Stopwatch.milliseconds(.microseconds(1_499)) == 1)
        #expect(Stopwatch.milliseconds(.microseconds(1_500)) == 2)
        #expect(Stopwatch.milliseconds(.seconds(2) + .milliseconds(3)) == 2_003)
    }
}
