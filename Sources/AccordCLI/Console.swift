import AccordCore
import Foundation

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
}

/// `ACCORD_TIMINGS=1` prints each phase's wall time to standard error.
enum Timings {
    static func print(_ watches: Stopwatch...) {
        guard ProcessEnvironment.value("ACCORD_TIMINGS") == "1" else { return }
        FileHandle.standardError.write(Data((watches.map(\.report).filter { !$0.isEmpty }.joined(separator: "\n") + "\n").utf8))
    }
}
