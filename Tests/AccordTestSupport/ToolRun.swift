import Foundation
import Testing

/// A built tool (`accordctl`) run to completion with the given environment:
/// its exit status and output. Every output is scanned for the suite's
/// secrets (`SecretScan`), and a leak fails the test that ran it.
public struct ToolRun: Sendable {
    public let status: Int32
    public let stdout: String
    public let stderr: String

    public static func run(_ executable: URL, _ args: [String], environment: [String: String]) throws -> ToolRun {
        let process = Process()
        process.executableURL = executable
        process.arguments = args
        process.environment = environment
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let run = ToolRun(status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
                          stderr: String(decoding: errData, as: UTF8.self))
        let urls = [environment["DATABASE_URL"]] + args.filter { $0.hasPrefix("postgres") }
        let leaks = SecretScan.leaks(run.stdout + run.stderr, passwords: urls.compactMap { SecretScan.password(of: $0) })
        #expect(leaks.isEmpty, "\(executable.lastPathComponent) \(args.first ?? "") printed \(leaks.joined(separator: ", "))")
        return run
    }
}

/// A deterministic generator (xorshift), so a failing random run can be repeated.
public struct SeededRandom: Sendable {
    var state: UInt64
    public init(seed: UInt64) { state = seed &* 0x9E37_79B9_7F4A_7C15 | 1 }
    public mutating func next() -> UInt64 {
        state ^= state << 13
        state ^= state >> 7
        state ^= state << 17
        return state
    }
}
