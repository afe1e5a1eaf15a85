import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// A built tool (`accordctl`) run to completion with the given environment:
/// its exit status and output. Every output is scanned for the suite's
/// secrets (`SecretScan`), and a leak fails the test that ran it. A run
/// that outlives its `timeout` is killed and fails the test, so a hang
/// cannot block the suite.
public struct ToolRun: Sendable {
    public let status: Int32
    public let stdout: String
    public let stderr: String
    /// Whether it died by a signal (`status` is then the signal's number).
    public var signaled = false

    /// Long enough for the largest apply of the suite on a busy machine.
    public static let defaultTimeout: Duration = .seconds(300)

    public struct TimedOut: Error, CustomStringConvertible {
        public let description: String
    }

    /// Runs the tool and suspends, without holding a thread, until it exits
    /// or its `timeout` passes (then it is killed and the test fails).
    public static func run(_ executable: URL, _ args: [String], environment: [String: String],
                           timeout: Duration = defaultTimeout) async throws -> ToolRun {
        let launched = try Launched(executable, args, environment: environment)
        defer { launched.remove() }
        try launched.process.run()
        // Polled with sleeps that hand the thread back: nothing is blocked.
        let deadline = ContinuousClock.now.advanced(by: timeout)
        while launched.process.isRunning && ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(10))
        }
        let inTime = !launched.process.isRunning
        if !inTime {
            kill(launched.process.processIdentifier, SIGKILL)
            while launched.process.isRunning { try? await Task.sleep(for: .milliseconds(10)) }
        }
        return try launched.finish(inTime: inTime, timeout: timeout)
    }

    /// A process set up to write to files, and what it printed once done.
    struct Launched {
        let process = Process()
        let outFile = OutputFile(), errFile = OutputFile()
        let executable: URL, args: [String], environment: [String: String]

        init(_ executable: URL, _ args: [String], environment: [String: String]) throws {
            self.executable = executable
            self.args = args
            self.environment = environment
            // Output goes to files, not pipes: nothing can block on a full pipe,
            // and a hung tool leaves what it printed for the failure message.
            process.executableURL = executable
            process.arguments = args
            process.environment = environment
            process.standardOutput = try outFile.handle()
            process.standardError = try errFile.handle()
        }

        func remove() { outFile.remove(); errFile.remove() }

        /// The run, its output scanned for the suite's secrets; a run killed
        /// for its timeout fails the test and throws.
        func finish(inTime: Bool, timeout: Duration) throws -> ToolRun {
            let run = ToolRun(status: process.terminationStatus, stdout: outFile.text, stderr: errFile.text,
                              signaled: process.terminationReason == .uncaughtSignal)
            let urls = [environment["DATABASE_URL"]] + args.filter { $0.hasPrefix("postgres") }
            let leaks = SecretScan.leaks(run.stdout + run.stderr, passwords: urls.compactMap { SecretScan.password(of: $0) })
            #expect(leaks.isEmpty, "\(executable.lastPathComponent) \(args.first ?? "") printed \(leaks.joined(separator: ", "))")
            guard inTime else {
                let message = "\(executable.lastPathComponent) \(args.joined(separator: " ")) did not finish within \(timeout) and was killed; "
                    + "its output so far: \(run.stdout.suffix(1_000))\(run.stderr.suffix(1_000))"
                Issue.record(Comment(rawValue: message))
                throw TimedOut(description: message)
            }
            return run
        }
    }
}

/// A temporary file a child process writes its output to.
public struct OutputFile: Sendable {
    public let url = FileManager.default.temporaryDirectory.appendingPathComponent("accord-output-\(UUID().uuidString)")

    public init() {}

    /// A handle to give the child as its stdout or stderr.
    public func handle() throws -> FileHandle {
        _ = FileManager.default.createFile(atPath: url.path, contents: nil)
        return try FileHandle(forWritingTo: url)
    }

    public var text: String { (try? String(contentsOf: url, encoding: .utf8)) ?? "" }

    public func remove() { try? FileManager.default.removeItem(at: url) }
}

extension Process {
    /// Waits for the process to exit, polling; when it has not exited
    /// within `within`, kills it with SIGKILL, records an issue naming
    /// `what`, and returns false.
    public func exited(within: Duration, _ what: String) async -> Bool {
        let deadline = ContinuousClock.now.advanced(by: within)
        while isRunning {
            if ContinuousClock.now >= deadline {
                kill(processIdentifier, SIGKILL)
                while isRunning { try? await Task.sleep(for: .milliseconds(10)) }
                Issue.record(Comment(rawValue: "\(what) did not exit within \(within) and was killed"))
                return false
            }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return true
    }
}

/// A deterministic generator (xorshift), so a failing random run can be repeated.
public struct SeededRandom: Sendable, RandomNumberGenerator {
    var state: UInt64
    public init(seed: UInt64) { state = seed &* 0x9E37_79B9_7F4A_7C15 | 1 }
    public mutating func next() -> UInt64 {
        state ^= state << 13
        state ^= state >> 7
        state ^= state << 17
        return state
    }
}
