import AccordCore
import Foundation
import Synchronization

enum Console {
    static func write(_ text: String) {
        FileHandle.standardOutput.write(Data(text.utf8))
    }

    static func error(_ error: any Error) {
        FileHandle.standardError.write(Data("accordctl: error: \(error)\n".utf8))
    }

    static func warning(_ text: String) {
        FileHandle.standardError.write(Data("accordctl: warning: \(text)\n".utf8))
    }

    /// A hint on standard error: what was read, and how to read otherwise.
    static func note(_ text: String) {
        FileHandle.standardError.write(Data("accordctl: note: \(text)\n".utf8))
    }

    /// A note worked out beside the command's own work (the work tree's
    /// status: 13,500 files looked at took 70 ms of a 100 ms no-op apply),
    /// printed before the command exits (`printDeferredNotes`). `label`
    /// names the work in `ACCORD_TIMINGS`, with how long it took and how
    /// long the command waited for it at the end.
    static func noteWhenKnown(_ label: String, _ work: @escaping @Sendable () async -> String?) {
        let task = Task { () -> (String?, Duration) in
            let start = ContinuousClock.now
            let text = await work()
            return (text, .now - start)
        }
        deferred.withLock { $0.append((label, task)) }
    }

    /// The deferred notes, each once it is known; runMain calls it however the command ends.
    static func printDeferredNotes() async {
        for (label, task) in deferred.withLock({ notes in defer { notes = [] }; return notes }) {
            let waiting = ContinuousClock.now
            let (text, took) = await task.value
            let waited = ContinuousClock.now - waiting
            if let text { note(text) }
            Timings.print(lines: ["timing: \(label), beside the command \(Stopwatch.milliseconds(took)) ms "
                                  + "(waited for at the end \(Stopwatch.milliseconds(waited)) ms)"])
        }
    }

    private static let deferred = Mutex<[(String, Task<(String?, Duration), Never>)]>([])
}

/// `ACCORD_TIMINGS=1` prints each phase's wall time to standard error.
/// A command's own time is accounted for too: its start-up before the
/// first phase (`sinceBegan`), what it does after the last (`Stopwatch(since:)`
/// from the phases' end), and the work it did beside them (deferred notes).
enum Timings {
    static func print(_ watches: Stopwatch...) {
        print(lines: watches.map(\.report).filter { !$0.isEmpty })
    }

    static func print(lines: [String]) {
        guard ProcessEnvironment.value("ACCORD_TIMINGS") == "1", !lines.isEmpty else { return }
        FileHandle.standardError.write(Data((lines.joined(separator: "\n") + "\n").utf8))
    }

    /// When the command began (`runMain`'s first step).
    static func begin() { began.withLock { $0 = .now } }
    private static let began = Mutex<ContinuousClock.Instant?>(nil)

    /// A watch from the command's start, for its start-up phases (a lap
    /// `endingAt:` where the command's own watch began closes them).
    static func sinceBegan() -> Stopwatch {
        Stopwatch(since: began.withLock { $0 } ?? .now)
    }
}
