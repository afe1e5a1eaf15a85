/// Phase timings for `ACCORD_TIMINGS=1`: each phase's wall time, printed to
/// standard error by the caller. Used by hack/bench to show where time goes.
public struct Stopwatch: Sendable {
    public private(set) var phases: [(String, Duration)] = []
    /// When the first phase began, and when the last one ended (or the watch
    /// began, before any lap).
    public private(set) var started: ContinuousClock.Instant
    public private(set) var last: ContinuousClock.Instant

    public init() { self.init(since: .now) }

    /// A watch whose first phase began at `start`.
    public init(since start: ContinuousClock.Instant) {
        started = start
        last = start
    }

    public mutating func lap(_ phase: String) {
        lap(phase, endingAt: .now)
    }

    /// A phase that ended at `end` (not before the last one ended).
    public mutating func lap(_ phase: String, endingAt end: ContinuousClock.Instant) {
        let end = max(end, last)
        phases.append((phase, end - last))
        last = end
    }

    /// Adds another watch's phases; the next lap counts from the later of the two.
    public mutating func append(_ other: Stopwatch) {
        phases += other.phases
        started = min(started, other.started)
        last = max(last, other.last)
    }

    public var report: String {
        phases.map { name, d in "timing: \(name) \(Self.milliseconds(d)) ms" }.joined(separator: "\n")
    }

    /// A duration in whole milliseconds, rounded.
    public static func milliseconds(_ d: Duration) -> Int {
        Int((Double(d.components.seconds) * 1000 + Double(d.components.attoseconds) / 1e15).rounded())
    }
}
