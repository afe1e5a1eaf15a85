import AccordCore
import AccordEngine
import AccordGit
import AccordManifests
import AccordStore
import Foundation

/// One revision of a manifests repository — a commit and the directory
/// inside it — or the files on disk under a directory, and how an apply
/// pass reads it: the listing for the fast path, the changed files for an
/// incremental pass, every file for a full one. `accordctl apply` and the
/// controller wire their passes through this one type.
public struct RevisionSource: Sendable {
    public let repository: GitRepository?
    /// nil when reading files on disk.
    public let commit: String?
    /// The manifests directory inside the repository ("" for the root).
    public let directory: String
    /// The directory read for files on disk (`accordctl --worktree`).
    public let worktreeRoot: String?

    public init(repository: GitRepository, commit: String, directory: String) {
        self.repository = repository
        self.commit = commit
        self.directory = directory
        self.worktreeRoot = nil
    }

    public init(worktree root: String, directory: String) {
        self.repository = nil
        self.commit = nil
        self.directory = directory
        self.worktreeRoot = root
    }

    /// Every manifest file of the revision.
    public func files() async throws -> [SourceFile] {
        guard let repository, let commit else {
            return try WorktreeSource.files(root: worktreeRoot ?? ".", under: directory)
        }
        return try await repository.files(at: commit, under: directory)
    }

    /// Read and validated manifests.
    public struct Validated: Sendable {
        public let set: ManifestSet
        public let files: [SourceFile]
        public let timings: Stopwatch
    }

    /// Reads and validates every file. A revision with any validation error
    /// throws `InvalidRevision`: it is never planned or applied, not even
    /// its valid parts.
    public func validated() async throws -> Validated {
        var timings = Stopwatch()
        let files = try await self.files()
        timings.lap("read \(files.count) files")
        let set = ManifestSet.load(files)
        timings.lap("parse and validate \(set.manifests.count) objects")
        guard set.isValid else { throw InvalidRevision(set: set, revision: commit) }
        return Validated(set: set, files: files, timings: timings)
    }

    /// The desired registry rows of validated manifests.
    public static func desired(_ validated: Validated) async -> ApplyPass.Input.Loaded {
        var timings = validated.timings
        var blobs: [String: String] = [:]
        for f in validated.files { if let id = f.blobID { blobs[f.path] = id } }
        let desired = await DesiredState.buildConcurrently(validated.set.manifests, blobIDs: blobs)
        timings.lap("desired rows")
        return .init(desired: desired, timings: timings)
    }

    /// What an apply pass needs from this revision. `load` replaces the
    /// default full load (which throws `InvalidRevision`), for callers that
    /// report invalid manifests their own way; `timings` receives the
    /// incremental loader's phase timings.
    public func passInput(load: (@Sendable () async throws -> ApplyPass.Input.Loaded)? = nil,
                          timings: (@Sendable (Stopwatch) -> Void)? = nil) async throws -> ApplyPass.Input {
        var listing: [(path: String, blobID: String)]?
        var digest: String?
        if let repository, let commit {
            let files = try await repository.listing(at: commit, under: directory)
            listing = files
            digest = FastPath.listingDigest(files, path: directory)
        }
        let source = self
        let full = load ?? { try await Self.desired(try await source.validated()) }
        return ApplyPass.Input(listingDigest: digest, listing: listing,
                               loadFiles: incrementalLoader(timings: timings), changedSince: changedSince(), load: full)
    }

    /// Reads and validates only the named files of the commit, for an
    /// incremental pass. Returns nil — and the pass falls back to a full
    /// one, which reports every problem — when the files are not valid
    /// together with what exists outside them, or define an object that is
    /// also defined outside them.
    func incrementalLoader(timings report: (@Sendable (Stopwatch) -> Void)?)
        -> (@Sendable ([String], ApplyPass.Input.Lookup) async throws -> [DesiredObject]?)? {
        guard let repository, let commit else { return nil }
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
            report?(timings)
            return DesiredState.build(set.manifests, blobIDs: blobs, context: outside.context)
        }
    }

    /// The manifest paths changed between a revision and this commit, from
    /// git's tree diff (unchanged subtrees are skipped by their ids).
    func changedSince() -> (@Sendable (String) async -> [String]?)? {
        guard let repository, let commit else { return nil }
        let directory = self.directory
        return { base in
            guard let paths = try? await repository.changedPaths(from: base, to: commit) else { return nil }
            return paths.filter { ManifestPaths.isManifestPath($0, under: directory) }
        }
    }
}

/// A revision whose manifests do not validate. Its description counts the
/// errors and shows the first few as `file:line:col: message`.
public struct InvalidRevision: Error, CustomStringConvertible, Sendable {
    public let set: ManifestSet
    public let revision: String?

    public var description: String {
        let at = revision.map { " at \($0.prefix(12))" } ?? ""
        let shown = set.diagnostics.prefix(3).map(\.description).joined(separator: "; ")
        let more = set.diagnostics.count > 3 ? "; and \(set.diagnostics.count - 3) more" : ""
        return "the manifests\(at) are invalid (\(set.diagnostics.count) errors), nothing was planned or applied: \(shown)\(more)"
    }
}
