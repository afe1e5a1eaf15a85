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
    /// printed before the command exits (`printDeferredNotes`).
    static func noteWhenKnown(_ text: Task<String?, Never>) {
        deferred.withLock { $0.append(text) }
    }

    /// The deferred notes, each once it is known; runMain calls it however the command ends.
    static func printDeferredNotes() async {
        for text in deferred.withLock({ notes in defer { notes = [] }; return notes }) {
            if let text = await text.value { note(text) }
        }
    }

    private static let deferred = Mutex<[Task<String?, Never>]>([])
}

/// `ACCORD_TIMINGS=1` prints each phase's wall time to standard error.
enum Timings {
    static func print(_ watches: Stopwatch...) {
        guard ProcessEnvironment.value("ACCORD_TIMINGS") == "1" else { return }
        FileHandle.standardError.write(Data((watches.map(\.report).filter { !$0.isEmpty }.joined(separator: "\n") + "\n").utf8))
    }
}
