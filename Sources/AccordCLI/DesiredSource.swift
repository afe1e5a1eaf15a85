import AccordCore
import AccordEngine
import AccordManifests
import ArgumentParser
import Foundation

/// A validated revision turned into desired registry rows. An invalid
/// revision is never planned or applied, not even its valid parts.
struct DesiredSource {
    let set: ManifestSet
    let desired: [DesiredObject]
    let revision: String?

    /// Loads and validates; on errors prints them in the chosen format and
    /// exits 2. `ref` overrides --ref.
    static func load(_ source: SourceOptions, ref: String? = nil, format: OutputFormat, label: String? = nil) async throws -> DesiredSource {
        let loaded: (files: [SourceFile], revision: String?)
        do {
            loaded = try await source.load(ref: ref)
        } catch {
            Console.error(error)
            throw ExitCode(2)
        }
        let set = ManifestSet.load(loaded.files)
        guard set.isValid else {
            Console.write(ValidationReport(set: set, revision: loaded.revision, listObjects: false).render(format))
            let which = label.map { " at \($0)" } ?? ""
            Console.error(CLIError("the manifests\(which) are invalid; nothing was planned or applied"))
            throw ExitCode(2)
        }
        var blobs: [String: String] = [:]
        for f in loaded.files { if let id = f.blobID { blobs[f.path] = id } }
        return DesiredSource(set: set, desired: DesiredState.build(set.manifests, blobIDs: blobs), revision: loaded.revision)
    }
}
