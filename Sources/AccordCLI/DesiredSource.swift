import AccordCore
import AccordEngine
import AccordManifests
import AccordStore
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
        let loaded = try await loadManifests(source, opened: opened, format: format, label: label)
        var timings = loaded.timings
        var blobs: [String: String] = [:]
        for f in loaded.files { if let id = f.blobID { blobs[f.path] = id } }
        let desired = await DesiredState.buildConcurrently(loaded.set.manifests, blobIDs: blobs)
        timings.lap("desired rows")
        return DesiredSource(desired: desired, revision: loaded.revision, timings: timings)
    }

    /// Reads and validates the manifests; on errors prints them in the
    /// chosen format and exits 2.
    static func loadManifests(_ source: SourceOptions, opened: SourceOptions.Opened, format: OutputFormat, label: String? = nil)
        async throws -> (set: ManifestSet, files: [SourceFile], revision: String?, timings: Stopwatch) {
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
        return (set, loaded.files, loaded.revision, timings)
    }
}

extension DesiredSource {
    /// Reads and validates only the named files of the opened commit, for
    /// an incremental pass. Returns nil — and the pass falls back to a full
    /// one, which reports every problem — when the files are not valid
    /// together with what exists outside them, or define an object that is
    /// also defined outside them.
    static func incrementalLoader(_ opened: SourceOptions.Opened)
        -> (@Sendable ([String], ApplyPass.Input.Lookup) async throws -> [DesiredObject]?)? {
        guard let repository = opened.repository, let commit = opened.commit else { return nil }
        return { paths, lookup in
            var timings = Stopwatch()
            let files = try await repository.files(at: commit, paths: paths)
            timings.lap("incremental: read \(files.count) blobs")
            var blobs: [String: String] = [:]
            for f in files { if let id = f.blobID { blobs[f.path] = id } }
            let local = ManifestSet.load(files, outside: [])
            let ids = Set(local.manifests.map(\.id))
            let references = Set(DesiredState.build(local.manifests).flatMap { References.of($0.record) })
            timings.lap("incremental: parse")
            let outside = try await lookup(ids.union(references))
            timings.lap("incremental: look up \(references.count) references outside")
            guard outside.existing.isDisjoint(with: ids) else { return nil }
            let set = ManifestSet.load(files, outside: outside.existing)
            guard set.isValid else { return nil }
            Timings.print(timings)
            return DesiredState.build(set.manifests, blobIDs: blobs, context: outside.context)
        }
    }
}

extension DesiredSource {
    /// The manifest paths changed between a revision and the opened commit,
    /// from git's tree diff (unchanged subtrees are skipped by their ids).
    static func changedSince(_ opened: SourceOptions.Opened) -> (@Sendable (String) async -> [String]?)? {
        guard let repository = opened.repository, let commit = opened.commit else { return nil }
        let directory = opened.directory
        return { base in
            guard let paths = try? await repository.changedPaths(from: base, to: commit) else { return nil }
            return paths.filter { ManifestPaths.isManifestPath($0, under: directory) }
        }
    }
}
