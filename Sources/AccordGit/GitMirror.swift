import AccordCore
import CLibGit2
import Foundation

/// A bare mirror of a remote repository under a cache directory: cloned on
/// first use, fetched (branches and tags, pruned) afterwards. A mirror that
/// is damaged — it cannot be opened, a fetch into it fails for a reason
/// other than the network once the remote answered, or a branch tip's
/// commit or tree cannot be read — is cloned anew beside it and swapped in;
/// the damaged one is removed. An unreachable remote (or a network failure
/// mid-transfer) leaves the mirror as it was.
public enum GitMirror {
    /// `$ACCORD_CACHE_DIR`, else `$XDG_CACHE_HOME/accord`, else `~/.cache/accord`; mirrors live in `mirrors/` below it.
    public static func defaultCacheDirectory(_ env: [String: String] = ProcessInfo.processInfo.environment) -> String {
        if let dir = env["ACCORD_CACHE_DIR"], !dir.isEmpty { return dir }
        if let xdg = env["XDG_CACHE_HOME"], !xdg.isEmpty { return xdg + "/accord" }
        return (env["HOME"] ?? NSTemporaryDirectory()) + "/.cache/accord"
    }

    /// A synced mirror, and why it was cloned anew (nil when it was only fetched, or new).
    public struct Synced: Sendable {
        public let repository: GitRepository
        public let recloned: String?
    }

    /// Where the mirror of `url` lives under `cacheDirectory`.
    public static func path(of url: String, cacheDirectory: String) -> String {
        cacheDirectory + "/mirrors/" + RemoteURL.mirrorDirectoryName(url)
    }

    public static func sync(url: String, cacheDirectory: String, credentials: GitCredentials) async throws -> GitRepository {
        try await synchronize(url: url, cacheDirectory: cacheDirectory, credentials: credentials).repository
    }

    /// Fetches into the mirror, cloning it anew when it is missing or
    /// damaged, or when `fresh` (its reader found it damaged).
    public static func synchronize(url: String, cacheDirectory: String, credentials: GitCredentials,
                                   fresh reason: String? = nil) async throws -> Synced {
        let path = Self.path(of: url, cacheDirectory: cacheDirectory)
        let mirrors = (path as NSString).deletingLastPathComponent
        let name = (path as NSString).lastPathComponent
        let recloned: String? = try await GitThread.shared.run {
            let files = FileManager.default
            try files.createDirectory(atPath: mirrors, withIntermediateDirectories: true)
            // Left over from a clone that was interrupted (old enough not to be another process's).
            for entry in (try? files.contentsOfDirectory(atPath: mirrors)) ?? [] where entry.hasPrefix(name + ".new-") || entry.hasPrefix(name + ".old-") {
                let modified = (try? files.attributesOfItem(atPath: mirrors + "/" + entry))?[.modificationDate] as? Date
                if (modified ?? .distantPast) < Date(timeIntervalSinceNow: -600) { try? files.removeItem(atPath: mirrors + "/" + entry) }
            }
            guard files.fileExists(atPath: path) else {
                try clone(url: url, into: path, credentials: credentials)
                return nil
            }
            guard let damage = try reason ?? fetchInPlace(path, url: url, credentials: credentials) else { return nil }
            let fresh = mirrors + "/" + name + ".new-" + UUID().uuidString
            do {
                try clone(url: url, into: fresh, credentials: credentials)
            } catch {
                try? files.removeItem(atPath: fresh)
                throw error
            }
            let old = mirrors + "/" + name + ".old-" + UUID().uuidString
            try files.moveItem(atPath: path, toPath: old)
            try files.moveItem(atPath: fresh, toPath: path)
            try? files.removeItem(atPath: old)
            return damage
        }
        return Synced(repository: GitRepository(path: path), recloned: recloned)
    }

    /// Fetches into an existing mirror: nil when it worked, else what is
    /// wrong with the mirror. An unreachable remote throws.
    private static func fetchInPlace(_ path: String, url: String, credentials: GitCredentials) throws -> String? {
        let repo: GitObject
        do {
            repo = try GitObject.make("open mirror", free: git_repository_free) { git_repository_open_bare($0, path) }
        } catch let error as GitError {
            return "it cannot be opened: \(error)"
        }
        do {
            try fetch(repo.pointer, url: url, credentials: credentials)
        } catch FetchFailure.connect(let error) {
            throw error
        } catch FetchFailure.transfer(let error) where error.isTransport {
            throw error // the network failed mid-transfer: the mirror is not at fault
        } catch FetchFailure.transfer(let error) {
            return "fetching into it failed: \(error)"
        }
        do {
            try verify(repo.pointer)
        } catch let error as GitError {
            return "it is damaged: \(error)"
        }
        return nil
    }

    /// A new bare repository at `path`, fetched and verified. Runs on the libgit2 thread.
    private static func clone(url: String, into path: String, credentials: GitCredentials) throws {
        let repo = try GitObject.make("create mirror", free: git_repository_free) { git_repository_init($0, path, 1) }
        do {
            try fetch(repo.pointer, url: url, credentials: credentials)
        } catch let failure as FetchFailure {
            throw failure.error
        }
        try verify(repo.pointer)
    }

    /// Reads the commit and root tree of HEAD and of every branch tip: a
    /// mirror whose refs point at missing or broken objects fails here.
    private static func verify(_ repo: OpaquePointer) throws {
        var tips = ["HEAD"]
        var iterator: OpaquePointer?
        try check("list the mirror's branches", git_reference_iterator_glob_new(&iterator, repo, "refs/heads/*"))
        defer { git_reference_iterator_free(iterator) }
        var ref: OpaquePointer?
        while git_reference_next(&ref, iterator) == 0 {
            if let name = git_reference_name(ref) { tips.append(String(cString: name)) }
            git_reference_free(ref)
        }
        for tip in tips {
            let commitID: String
            do {
                commitID = try GitRepository.commitID(repo, tip)
            } catch let error as GitError where tip == "HEAD" && error.reason == .notFound {
                continue // an empty remote, or HEAD names a branch it does not have
            }
            var oid = git_oid()
            try check("read \(tip) of the mirror", git_oid_fromstr(&oid, commitID))
            let commit = try GitObject.make("read commit \(commitID.prefix(12)) of \(tip)", free: git_commit_free) {
                git_commit_lookup($0, repo, &oid)
            }
            _ = try GitObject.make("read the tree of \(commitID.prefix(12)) (\(tip))", free: git_tree_free) {
                git_commit_tree($0, commit.pointer)
            }
        }
    }

    /// Where a fetch failed: connecting (the remote is unreachable; the
    /// mirror is not at fault) or transferring into the mirror.
    private enum FetchFailure: Error {
        case connect(GitError)
        case transfer(GitError)
        var error: GitError {
            switch self { case .connect(let e), .transfer(let e): e }
        }
    }

    private static let refspecs = ["+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*"]

    /// Connects, learns the remote's default branch, downloads, updates refs
    /// and points HEAD at the default branch. Runs on the libgit2 thread.
    private static func fetch(_ repo: OpaquePointer, url: String, credentials: GitCredentials) throws {
        let shown = RemoteURL.redacted(url)
        let payload = CredentialPayload(credentials)
        let unmanaged = Unmanaged.passRetained(payload)
        defer { unmanaged.release() }

        let remote: GitObject
        var callbacks = git_remote_callbacks()
        do {
            remote = try GitObject.make("fetch \(shown)", free: git_remote_free) {
                git_remote_create_anonymous($0, repo, url)
            }
            try check("fetch \(shown)", git_remote_init_callbacks(&callbacks, UInt32(GIT_REMOTE_CALLBACKS_VERSION)))
            callbacks.credentials = credentialCallback
            callbacks.payload = unmanaged.toOpaque()
            try check("connect to \(shown)", git_remote_connect(remote.pointer, GIT_DIRECTION_FETCH, &callbacks, nil, nil))
        } catch let error as GitError {
            throw FetchFailure.connect(error)
        }
        defer { git_remote_disconnect(remote.pointer) }

        do {
            var defaultBranch = git_buf()
            defer { git_buf_dispose(&defaultBranch) }
            let hasDefault = git_remote_default_branch(&defaultBranch, remote.pointer) == 0

            var options = git_fetch_options()
            try check("fetch \(shown)", git_fetch_options_init(&options, UInt32(GIT_FETCH_OPTIONS_VERSION)))
            options.callbacks = callbacks
            options.prune = GIT_FETCH_PRUNE
            options.download_tags = GIT_REMOTE_DOWNLOAD_TAGS_NONE

            try withStrArray(refspecs) { specs in
                try check("fetch \(shown)", git_remote_download(remote.pointer, specs, &options))
                try check("update refs from \(shown)", git_remote_update_tips(remote.pointer, &callbacks, 0, GIT_REMOTE_DOWNLOAD_TAGS_NONE, "accord: fetch"))
                if options.prune == GIT_FETCH_PRUNE {
                    try check("prune refs from \(shown)", git_remote_prune(remote.pointer, &callbacks))
                }
            }
            if hasDefault, let ptr = defaultBranch.ptr {
                try check("set HEAD of mirror", git_repository_set_head(repo, ptr))
            }
        } catch let error as GitError {
            throw FetchFailure.transfer(error)
        }
    }

    private static func withStrArray<T>(_ strings: [String], _ body: (UnsafeMutablePointer<git_strarray>) throws -> T) throws -> T {
        var cStrings = strings.map { strdup($0) }
        defer { cStrings.forEach { free($0) } }
        return try cStrings.withUnsafeMutableBufferPointer { buffer in
            var array = git_strarray(strings: buffer.baseAddress, count: buffer.count)
            return try body(&array)
        }
    }
}
