/// Phase timings for `ACCORD_TIMINGS=1`: each phase's wall time, printed to
/// standard error by the caller. Used by hack/bench to show where time goes.
public struct Stopwatch: Sendable {
    public private(set) var phases: [(String, Duration)] = []
    private var last = ContinuousClock.now

    public init() {}

    public mutating func lap(_ phase: String) {
        let now = ContinuousClock.now
        phases.append((phase, now - last))
        last = now
    }

    /// Adds another watch's phases; the next lap counts from the later of the two.
    public mutating func append(_ other: Stopwatch) {
        phases += other.phases
        last = max(last, other.last)
    }

    public var report: String {
        phases.map { name, d in
            let ms = Double(d.components.seconds) * 1000 + Double(d.components.attoseconds) / 1e15
            return "timing: \(name) \(Int(ms.rounded())) ms"
        }.joined(separator: "\n")
    }
}
