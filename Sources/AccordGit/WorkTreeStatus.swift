import AccordCore
import CLibGit2

/// Manifest files whose work-tree copy differs from the HEAD commit:
/// modified, staged, added, deleted, renamed, untracked or ignored (files
/// on disk that `--worktree` would read but no commit holds).
public struct UncommittedChange: Sendable, Hashable, CustomStringConvertible {
    public enum State: String, Sendable {
        case modified, added, deleted, renamed, untracked, ignored
    }

    public let path: String
    public let state: State

    public var description: String { "\(path) \(state.rawValue)" }
}

extension GitRepository {
    /// The repository's HEAD commit and the manifest files under
    /// `directory` that differ from it in the index or the work tree
    /// (libgit2's status, which uses the index's cached file times);
    /// nil for a bare repository or one without a commit.
    public func uncommittedChanges(under directory: String) async throws -> (head: String, changes: [UncommittedChange])? {
        try await withRepository(on: .status) { repo in
            guard git_repository_is_bare(repo) == 0, let head = try? Self.commitID(repo, "HEAD") else { return nil }
            var options = git_status_options()
            git_status_options_init(&options, UInt32(GIT_STATUS_OPTIONS_VERSION))
            options.show = GIT_STATUS_SHOW_INDEX_AND_WORKDIR
            options.flags = GIT_STATUS_OPT_INCLUDE_UNTRACKED.rawValue | GIT_STATUS_OPT_RECURSE_UNTRACKED_DIRS.rawValue
                | GIT_STATUS_OPT_INCLUDE_IGNORED.rawValue | GIT_STATUS_OPT_RECURSE_IGNORED_DIRS.rawValue
                | GIT_STATUS_OPT_RENAMES_HEAD_TO_INDEX.rawValue | GIT_STATUS_OPT_EXCLUDE_SUBMODULES.rawValue
            let list = try GitObject.make("read the work tree's status", free: git_status_list_free) {
                git_status_list_new($0, repo, &options)
            }
            var out = Set<UncommittedChange>()
            for i in 0..<git_status_list_entrycount(list.pointer) {
                guard let entry = git_status_byindex(list.pointer, i)?.pointee else { continue }
                let delta = entry.index_to_workdir ?? entry.head_to_index
                guard let delta, let cPath = delta.pointee.new_file.path ?? delta.pointee.old_file.path else { continue }
                let path = String(cString: cPath)
                guard ManifestPaths.isManifestPath(path, under: directory) else { continue }
                out.insert(UncommittedChange(path: path, state: Self.state(entry.status)))
            }
            return (head, out.sorted { $0.path < $1.path })
        }
    }

    static func state(_ status: git_status_t) -> UncommittedChange.State {
        let s = status.rawValue
        if s & GIT_STATUS_IGNORED.rawValue != 0 { return .ignored }
        if s & GIT_STATUS_WT_NEW.rawValue != 0 { return .untracked }
        if s & (GIT_STATUS_WT_DELETED.rawValue | GIT_STATUS_INDEX_DELETED.rawValue) != 0 { return .deleted }
        if s & (GIT_STATUS_WT_RENAMED.rawValue | GIT_STATUS_INDEX_RENAMED.rawValue) != 0 { return .renamed }
        if s & GIT_STATUS_INDEX_NEW.rawValue != 0 { return .added }
        return .modified
    }
}
