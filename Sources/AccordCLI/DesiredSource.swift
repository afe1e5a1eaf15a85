import AccordCore
import AccordEngine
import AccordManifests
import ArgumentParser
import Foundation

/// A validated revision turned into desired registry rows. An invalid
/// revision is never planned or applied, not even its valid parts.
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
        var timings = Stopwatch()
        let loaded: (files: [SourceFile], revision: String?)
        do {
            loaded = (try await source.files(opened), opened.commit)
        } catch {
            Console.error(error)
            throw ExitCode(2)
        }
        timings.lap("read \(loaded.files.count) files")
        let set = ManifestSet.load(loaded.files)
        timings.lap("parse and validate \(set.manifests.count) objects")
        guard set.isValid else {
            Console.write(ValidationReport(set: set, revision: loaded.revision, listObjects: false).render(format))
            let which = label.map { " at \($0)" } ?? ""
            Console.error(CLIError("the manifests\(which) are invalid; nothing was planned or applied"))
            throw ExitCode(2)
        }
        var blobs: [String: String] = [:]
        for f in loaded.files { if let id = f.blobID { blobs[f.path] = id } }
        let desired = DesiredState.build(set.manifests, blobIDs: blobs)
        timings.lap("desired rows")
        return DesiredSource(desired: desired, revision: loaded.revision, timings: timings)
    }
}
