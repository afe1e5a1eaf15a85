import AccordCore
import AccordManifests
import ArgumentParser
import Foundation

struct Validate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Parse and validate the manifests; print every problem as file:line:col: message.",
        discussion: "Exit status: 0 valid, 1 invalid, 2 error (repository, ref or path unreadable)."
    )

    @OptionGroup var source: SourceOptions
    @OptionGroup var output: OutputOptions

    @Flag(help: "List every object with the place it is defined.")
    var list = false

    func run() async throws {
        let loaded: (files: [SourceFile], revision: String?)
        do {
            loaded = try await source.load()
        } catch {
            Console.error(error)
            throw ExitCode(2)
        }
        let set = ManifestSet.load(loaded.files)
        let report = ValidationReport(set: set, revision: loaded.revision, listObjects: list)
        Console.write(report.render(output.format))
        throw ExitCode(set.isValid ? 0 : 1)
    }
}
