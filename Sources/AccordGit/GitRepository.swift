import AccordCore
import CLibGit2

/// A git repository on disk (work tree or bare), read through libgit2.
public final class GitRepository: Sendable {
    /// The directory that was opened (the mirror, for remotes).
    public let path: String

    init(path: String) {
        self.path = path
    }

    /// Opens a local repository: a work tree (or a directory inside one) or a bare repository.
    public static func open(at path: String) async throws -> GitRepository {
        let resolved: String = try await GitThread.shared.run {
            let repo = try GitObject.make("open repository \(path)", free: git_repository_free) {
                git_repository_open_ext($0, path, 0, nil)
            }
            let dir = git_repository_workdir(repo.pointer) ?? git_repository_path(repo.pointer)
            return dir.map { String(cString: $0) } ?? path
        }
        return GitRepository(path: resolved)
    }

    func withRepository<T: Sendable>(on thread: GitThread = .shared, _ body: @escaping @Sendable (OpaquePointer) throws -> T) async throws -> T {
        let path = self.path
        return try await thread.run {
            let repo = try GitObject.make("open repository \(path)", free: git_repository_free) {
                git_repository_open_ext($0, path, UInt32(GIT_REPOSITORY_OPEN_NO_SEARCH.rawValue), nil)
            }
            return try body(repo.pointer)
        }
    }

    /// The commit a revision expression names: a branch, tag, full or short
    /// sha, `HEAD`, `HEAD~2`, `main^` ….
    public func resolve(_ ref: String) async throws -> String {
        try await withRepository { repo in try Self.commitID(repo, ref) }
    }

    /// A shallow clone: commits before its graft points are missing.
    public func isShallow() async throws -> Bool {
        try await withRepository { repo in git_repository_is_shallow(repo) == 1 }
    }

    static func commitID(_ repo: OpaquePointer, _ ref: String) throws -> String {
        let object: GitObject
        do {
            object = try GitObject.make("resolve \(Text.quoted(ref))", free: git_object_free) {
                git_revparse_single($0, repo, ref)
            }
        } catch let error as GitError where error.reason == .notFound || error.reason == .invalid {
            throw GitError(operation: "resolve \(Text.quoted(ref))", code: error.code, message: "no such branch, tag or commit")
        }
        let commit = try GitObject.make("resolve \(Text.quoted(ref)) to a commit", free: git_object_free) {
            git_object_peel($0, object.pointer, GIT_OBJECT_COMMIT)
        }
        return oidString(git_object_id(commit.pointer))
    }

    /// Every manifest file (`*.yaml`, `*.yml`, outside hidden directories)
    /// under `directory` in the commit's tree, read without a checkout.
    /// Paths are relative to the repository root.
    ///
    /// The blobs of a large tree are read on two threads at once, each with
    /// a repository handle of its own (libgit2 objects are used by one
    /// thread at a time): 13,500 files in about half the time on two cores.
    public func files(at commit: String, under directory: String) async throws -> [SourceFile] {
        let entries = try await withRepository { repo in try TreeReader(repo: repo).entries(commit: commit, under: directory) }
        guard entries.count >= Self.filesReadOnTwoThreads else {
            return try await withRepository { repo in try TreeReader(repo: repo).read(entries) }
        }
        // Alternate entries, so that both halves hold files of every directory.
        let even = entries.enumerated().filter { $0.offset % 2 == 0 }.map(\.element)
        let odd = entries.enumerated().filter { $0.offset % 2 == 1 }.map(\.element)
        async let first = withRepository { repo in try TreeReader(repo: repo).read(even) }
        async let second = withRepository(on: .second) { repo in try TreeReader(repo: repo).read(odd) }
        let (a, b) = try await (first, second)
        var files: [SourceFile] = []
        files.reserveCapacity(entries.count)
        for i in a.indices {
            files.append(a[i])
            if i < b.count { files.append(b[i]) }
        }
        return files
    }

    /// Trees with at least this many manifest files are read on two threads.
    static let filesReadOnTwoThreads = 512

    /// The manifest files under `directory` as (path, blob id), without
    /// reading them: enough to tell whether anything changed.
    public func listing(at commit: String, under directory: String) async throws -> [(path: String, blobID: String)] {
        try await withRepository { repo in
            try TreeReader(repo: repo).entries(commit: commit, under: directory).map { entry in
                var oid = entry.oid
                return (entry.path, oidString(&oid))
            }
        }
    }

    /// The id of the tree at `directory` of the commit (one object read per
    /// level): what the fast path compares.
    public func treeID(at commit: String, under directory: String) async throws -> String {
        try await withRepository { repo in try TreeReader(repo: repo).treeID(commit: commit, under: directory) }
    }

    /// The blob ids of those of `paths` that exist in the commit.
    public func blobIDs(at commit: String, paths: [String]) async throws -> [(path: String, blobID: String)] {
        try await withRepository { repo in try TreeReader(repo: repo).blobIDs(commit: commit, paths: paths) }
    }

    /// The named manifest files of a commit (as `listing` gives them).
    public func files(at commit: String, paths: [String]) async throws -> [SourceFile] {
        try await withRepository { repo in try TreeReader(repo: repo).files(commit: commit, paths: paths) }
    }

    /// Paths added, modified, deleted or renamed (both names) between two commits.
    public func changedPaths(from old: String, to new: String) async throws -> [String] {
        try await withRepository { repo in
            let reader = TreeReader(repo: repo)
            let oldTree = try reader.tree(ofCommit: old)
            let newTree = try reader.tree(ofCommit: new)
            let diff = try GitObject.make("diff \(old.prefix(12))..\(new.prefix(12))", free: git_diff_free) {
                git_diff_tree_to_tree($0, repo, oldTree.pointer, newTree.pointer, nil)
            }
            var paths = Set<String>()
            for i in 0..<git_diff_num_deltas(diff.pointer) {
                guard let delta = git_diff_get_delta(diff.pointer, i)?.pointee else { continue }
                if let p = delta.old_file.path { paths.insert(String(cString: p)) }
                if let p = delta.new_file.path { paths.insert(String(cString: p)) }
            }
            return paths.sorted()
        }
    }
}

func oidString(_ oid: UnsafePointer<git_oid>?) -> String {
    var buffer = [CChar](repeating: 0, count: Int(GIT_OID_HEXSZ) + 1)
    git_oid_tostr(&buffer, buffer.count, oid)
    return String(cString: buffer)
}
