import AccordTestSupport
import Foundation
import Testing

/// The committed seed corpus of the fuzzer (`fuzz/corpus/`), every file
/// replayed through the fuzz target (`Sources/accord-fuzz`, the same
/// `FuzzTarget.run` libFuzzer calls) by the ordinary build's replayer, so a
/// seed that crashes or breaks the target's checks fails `hack/test`.
@Suite(.timeLimit(.minutes(5))) struct FuzzCorpusTests {
    static func replayer() throws -> URL {
        let binary = try CLITests.binary().deletingLastPathComponent().appendingPathComponent("accord-fuzz")
        guard FileManager.default.isExecutableFile(atPath: binary.path) else {
            throw CLIFailure("accord-fuzz is not built next to accordctl; run `swift build --build-tests` first")
        }
        return binary
    }

    @Test func everySeedReplaysThroughTheFuzzTarget() async throws {
        let corpus = CLITests.root.appendingPathComponent("fuzz/corpus")
        let seeds = try FileManager.default.contentsOfDirectory(atPath: corpus.path).sorted().map { corpus.appendingPathComponent($0).path }
        #expect(seeds.count >= 145, "the committed corpus: \(seeds.count) files")
        var environment = ProcessInfo.processInfo.environment
        environment["SWIFT_BACKTRACE"] = "enable=no"
        let replayer = try Self.replayer()
        let run = try await ToolRun.run(replayer, seeds, environment: environment, timeout: .seconds(240))
        // The replayer prints `PATH: ok` after each input.
        let replayed = Set(run.stdout.split(separator: "\n").filter { $0.hasSuffix(": ok") }.map { String($0.dropLast(4)) })
        if run.status != 0 {
            // A crash stops the replay (and loses its buffered output): name every failing seed, one run each.
            for seed in seeds {
                let one = try await ToolRun.run(replayer, [seed], environment: environment, timeout: .seconds(60))
                #expect(one.status == 0, "seed \(URL(fileURLWithPath: seed).lastPathComponent): accord-fuzz exited \(one.status): \(one.stderr.suffix(1_000))")
            }
        }
        #expect(run.status == 0 && replayed == Set(seeds), "accord-fuzz exited \(run.status) having replayed \(replayed.count) of \(seeds.count) seeds")
        print("fuzz figures: \(replayed.count) of \(seeds.count) committed seeds replayed through the fuzz target")
    }
}
