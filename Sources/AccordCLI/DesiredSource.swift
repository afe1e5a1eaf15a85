import AccordCore
import AccordEngine
import AccordManifests
import AccordSource
import ArgumentParser
import Foundation

/// A validated revision turned into desired registry rows. An invalid
/// revision is never planned or applied, not even its valid parts. Reading
/// and validating is `RevisionSource`'s (shared with the controller); this
/// adds the command line's way of reporting failures.
struct DesiredSource {
    let desired: [DesiredObject]
    let revision: String?
    var timings = Stopwatch()

    /// Loads and validates; on errors prints them in the chosen format and
    /// exits 2. `ref` overrides --ref.
    static func load(_ source: SourceOptions, ref: String? = nil, format: OutputFormat, label: String? = nil) async throws -> DesiredSource {
        try await load(source, opened: try open(source, ref: ref), format: format, label: label)
    }

    /// Opens the source, printing a failure and exiting 2.
    static func open(_ source: SourceOptions, ref: String? = nil) async throws -> SourceOptions.Opened {
        do {
            return try await source.open(ref: ref)
        } catch {
            Console.error(error)
            throw ExitCode(2)
        }
    }

    static func load(_ source: SourceOptions, opened: SourceOptions.Opened, format: OutputFormat, label: String? = nil) async throws -> DesiredSource {
        let validated = try await validated(opened, format: format, label: label)
        let loaded = await RevisionSource.desired(validated)
        return DesiredSource(desired: loaded.objects, revision: opened.commit, timings: loaded.timings)
    }

    /// Reads and validates the manifests; on errors prints them in the
    /// chosen format and exits 2.
    static func loadManifests(_ source: SourceOptions, opened: SourceOptions.Opened, format: OutputFormat, label: String? = nil)
        async throws -> (set: ManifestSet, files: [SourceFile], revision: String?, timings: Stopwatch) {
        let validated = try await validated(opened, format: format, label: label)
        return (validated.set, validated.files, opened.commit, validated.timings)
    }

    /// Prints an invalid revision's errors in the chosen format; exits 2.
    static func reject(_ invalid: InvalidRevision, format: OutputFormat, label: String?) throws -> Never {
        Console.write(ValidationReport(set: invalid.set, revision: invalid.revision, listObjects: false).render(format))
        let which = label.map { " at \($0)" } ?? ""
        Console.error(CLIError("the manifests\(which) are invalid; nothing was planned or applied"))
        throw ExitCode(2)
    }

    private static func validated(_ opened: SourceOptions.Opened, format: OutputFormat, label: String?) async throws -> RevisionSource.Validated {
        do {
            return try await opened.validated()
        } catch let invalid as InvalidRevision {
            try reject(invalid, format: format, label: label)
        } catch {
            Console.error(error)
            throw ExitCode(2)
        }
    }
}
