import AccordCore
import AccordEngine
import AccordGit
import AccordManifests
import Foundation

/// One revision of a manifests repository — a commit and the directory
/// inside it — or the files on disk under a directory, and the ways a
/// pass reads it: the listing (for the fast path), the files changed since
/// another revision and only those files (an incremental pass), or every
/// file (a full pass). `accordctl` and the controller read revisions
/// through this one type; it knows nothing of the database.
public struct RevisionSource: Sendable {
    public let repository: GitRepository?
    /// nil when reading files on disk.
    public let commit: String?
    /// The manifests directory inside the repository ("" for the root).
    public let directory: String
    /// The directory read for files on disk (`accordctl --worktree`).
    public let worktreeRoot: String?
    /// Files on disk in a repository's work tree: the HEAD commit they sit
    /// on (history records an apply of them as uncommitted on it).
    public let uncommittedBase: String?
    /// With a regions file (SPEC §9): the regions that have a database, and
    /// the file; a tenant in another region is invalid (`RegionCheck`).
    public var regions: (names: Set<Region>, file: String)?

    public init(repository: GitRepository, commit: String, directory: String) {
        self.repository = repository
        self.commit = commit
        self.directory = directory
        self.worktreeRoot = nil
        self.uncommittedBase = nil
    }

    public init(worktree root: String, directory: String, base: String? = nil) {
        self.repository = nil
        self.commit = nil
        self.directory = directory
        self.worktreeRoot = root
        self.uncommittedBase = base
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
        let set = RegionCheck.checked(ManifestSet.load(files), regions: regions?.names, file: regions?.file ?? "")
        timings.lap("parse and validate \(set.manifests.count) objects")
        guard set.isValid else { throw InvalidRevision(set: set, revision: commit) }
        return Validated(set: set, files: files, timings: timings)
    }

    /// The desired objects of a revision, with the time each step took.
    public struct Desired: Sendable {
        public let objects: [DesiredObject]
        public let timings: Stopwatch
        public init(objects: [DesiredObject], timings: Stopwatch = Stopwatch()) {
            self.objects = objects
            self.timings = timings
        }
    }

    /// The desired registry rows of validated manifests.
    public static func desired(_ validated: Validated) async -> Desired {
        var timings = validated.timings
        var blobs: [String: String] = [:]
        for f in validated.files { if let id = f.blobID { blobs[f.path] = id } }
        let desired = await DesiredState.buildConcurrently(validated.set.manifests, blobIDs: blobs)
        timings.lap("desired rows")
        return Desired(objects: desired, timings: timings)
    }

    /// What identifies the revision's desired state without walking its
    /// tree: the id of the manifests directory's tree (one object read per
    /// level of `directory`) and the desired-state format. Equal digests
    /// mean the same files, so the same desired state (the fast path); nil
    /// for files on disk.
    public func treeDigest() async throws -> String? {
        guard let repository, let commit else { return nil }
        return "tree \(try await repository.treeID(at: commit, under: directory)) format \(DesiredState.formatVersion)"
    }

    /// The blob ids of those of `paths` that are files of the commit.
    public func blobIDs(_ paths: [String]) async throws -> [(path: String, blobID: String)]? {
        guard let repository, let commit else { return nil }
        return try await repository.blobIDs(at: commit, paths: paths)
    }

    /// The manifest paths added, modified or deleted between a revision and
    /// this commit, from git's tree diff (unchanged subtrees are skipped by
    /// their ids); nil when they cannot be compared (files on disk, or a
    /// revision not in the repository).
    public func changedPaths(since base: String) async -> [String]? {
        guard let repository, let commit,
              let paths = try? await repository.changedPaths(from: base, to: commit) else { return nil }
        return paths.filter { ManifestPaths.isManifestPath($0, under: directory) }
    }

    /// Some files of the commit read and parsed on their own: what they
    /// define and what they refer to, for a pass to look up outside them.
    public struct Partial: Sendable {
        public let files: [SourceFile]
        /// The objects the files define.
        public let ids: Set<ObjectID>
        /// The objects they refer to.
        public let references: Set<ObjectID>
        public let timings: Stopwatch
        /// The source's regions (`RegionCheck`).
        let regions: (names: Set<Region>, file: String)?
    }

    /// Reads and parses only the named files of the commit (an incremental
    /// pass); nil for files on disk.
    public func read(_ paths: [String]) async throws -> Partial? {
        guard let repository, let commit else { return nil }
        var timings = Stopwatch()
        let files = try await repository.files(at: commit, paths: paths)
        timings.lap("incremental: read \(files.count) blobs")
        let local = ManifestSet.load(files, outside: [])
        let references = Set(DesiredState.build(local.manifests).flatMap { References.of($0.record) })
        timings.lap("incremental: parse")
        return Partial(files: files, ids: Set(local.manifests.map(\.id)), references: references, timings: timings, regions: regions)
    }

    /// The desired rows of partly read files, validated together with the
    /// objects that exist outside them (`outside`: identities defined in
    /// other files; `context`: what rows are derived from). nil — and the
    /// pass falls back to a full one, which reports every problem — when
    /// they are not valid that way, or define an object also defined outside.
    public static func desired(_ partial: Partial, outside: Set<ObjectID>, context: DesiredState.Context) -> [DesiredObject]? {
        guard outside.isDisjoint(with: partial.ids) else { return nil }
        let set = RegionCheck.checked(ManifestSet.load(partial.files, outside: outside), regions: partial.regions?.names,
                                      file: partial.regions?.file ?? "")
        guard set.isValid else { return nil }
        var blobs: [String: String] = [:]
        for f in partial.files { if let id = f.blobID { blobs[f.path] = id } }
        return DesiredState.build(set.manifests, blobIDs: blobs, context: context)
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
        return "the manifests\(at) are invalid (\(set.diagnostics.count) error\(set.diagnostics.count == 1 ? "" : "s")), nothing was planned or applied: \(shown)\(more)"
    }
}
