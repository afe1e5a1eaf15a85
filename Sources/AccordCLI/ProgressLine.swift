import AccordCore
import AccordSync
import Foundation
import Synchronization

/// `apply`'s progress on standard error, one line redrawn in place: the
/// phase, objects done of the total and the rate (`applying: 1,200 of
/// 4,500 objects (830/s)`). Only on a terminal, never with `NO_COLOR` or
/// `--quiet`, so standard output stays the report and a piped or logged
/// run carries no control characters. Redrawn at most ten times a second,
/// and at once when the phase changes; erased when the pass ends.
/// (vapor/console-kit's progress bar, the one such library available,
/// draws on standard output, where the report goes.)
final class ProgressLine: Sendable {
    private struct State {
        var phase: PassProgress.Phase?
        var phaseStarted = ContinuousClock.now
        var lastDraw: ContinuousClock.Instant?
        var drawn = false
    }

    let enabled: Bool
    private let state = Mutex(State())
    private let write: @Sendable (String) -> Void

    init(enabled: Bool, write: @escaping @Sendable (String) -> Void = { FileHandle.standardError.write(Data($0.utf8)) }) {
        self.enabled = enabled
        self.write = write
    }

    /// On when standard error is a terminal, `NO_COLOR` is unset and `--quiet` was not given.
    static func forStandardError(quiet: Bool) -> ProgressLine {
        ProgressLine(enabled: !quiet && isatty(STDERR_FILENO) == 1 && ProcessEnvironment.value("NO_COLOR") == nil)
    }

    func update(_ progress: PassProgress) {
        guard enabled else { return }
        let now = ContinuousClock.now
        let line: String? = state.withLock { s in
            if s.phase != progress.phase {
                s.phase = progress.phase
                s.phaseStarted = now
            } else if let last = s.lastDraw, now - last < .milliseconds(100), progress.done < progress.total {
                return nil
            }
            s.lastDraw = now
            s.drawn = true
            return Self.text(progress, elapsed: now - s.phaseStarted)
        }
        if let line { write("\r\u{1B}[K" + line) }
    }

    /// Erases the line, leaving the terminal as it was.
    func finish() {
        guard enabled, state.withLock({ $0.drawn }) else { return }
        write("\r\u{1B}[K")
    }

    static func text(_ p: PassProgress, elapsed: Duration) -> String {
        guard p.total > 0 else { return "\(p.phase.rawValue)…" }
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        let rate = seconds >= 0.5 && p.done > 0 ? " (\(grouped(Int(Double(p.done) / seconds)))/s)" : ""
        return "\(p.phase.rawValue): \(grouped(p.done)) of \(grouped(p.total)) objects\(rate)"
    }

    /// `12,345`.
    static func grouped(_ n: Int) -> String {
        let digits = String(n)
        var out = ""
        for (i, c) in digits.enumerated() {
            if i > 0, (digits.count - i) % 3 == 0 { out.append(",") }
            out.append(c)
        }
        return out
    }
}
