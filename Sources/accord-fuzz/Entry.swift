// libFuzzer entry point when built by hack/fuzz (-D ACCORD_FUZZ, -sanitize=fuzzer,
// -parse-as-library: libFuzzer's driver runs the inputs). In an ordinary build this is a
// replayer: `accord-fuzz FILE…` runs each file through the same target, so a
// crash found by the fuzzer reproduces without the fuzzing toolchain.
#if ACCORD_FUZZ
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    FuzzTarget.run(size == 0 ? [] : Array(UnsafeBufferPointer(start: data, count: size)))
    return 0
}

public typealias Arguments = UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?

@_silgen_name("LLVMFuzzerRunDriver")
func runDriver(_ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<Arguments>,
               _ test: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt) -> CInt

/// SwiftPM links an executable's entry point under `<module>_main`; here it
/// hands control to libFuzzer's driver.
@_cdecl("accord_fuzz_main")
public func fuzzMain(_ argc: CInt, _ argv: Arguments) -> CInt {
    var count = argc
    var arguments = argv
    return runDriver(&count, &arguments, fuzzTestOneInput)
}
#else
import Foundation

@main
enum Replay {
    static func main() {
        let paths = CommandLine.arguments.dropFirst()
        if paths.isEmpty {
            FileHandle.standardError.write(Data("usage: accord-fuzz FILE…  (replays inputs; hack/fuzz builds the fuzzer)\n".utf8))
            exit(2)
        }
        for path in paths {
            guard let data = FileManager.default.contents(atPath: path) else {
                FileHandle.standardError.write(Data("accord-fuzz: cannot read \(path)\n".utf8))
                exit(2)
            }
            FuzzTarget.run(Array(data))
            print("\(path): ok")
        }
    }
}
#endif
