import AccordCore
import CLibGit2
import Foundation

/// A bare mirror of a remote repository under a cache directory: cloned on
/// first use, fetched (branches and tags, pruned) afterwards. A mirror that
/// cannot be opened is cloned anew.
public enum GitMirror {
    /// `$ACCORD_CACHE_DIR`, else `$XDG_CACHE_HOME/accord`, else `~/.cache/accord`; mirrors live in `mirrors/` below it.
    public static func defaultCacheDirectory(_ env: [String: String] = ProcessInfo.processInfo.environment) -> String {
        if let dir = env["ACCORD_CACHE_DIR"], !dir.isEmpty { return dir }
        if let xdg = env["XDG_CACHE_HOME"], !xdg.isEmpty { return xdg + "/accord" }
        return (env["HOME"] ?? NSTemporaryDirectory()) + "/.cache/accord"
    }

    public static func sync(url: String, cacheDirectory: String, credentials: GitCredentials) async throws -> GitRepository {
        let mirrors = cacheDirectory + "/mirrors"
        let path = mirrors + "/" + RemoteURL.mirrorDirectoryName(url)
        try await GitThread.shared.run {
            try FileManager.default.createDirectory(atPath: mirrors, withIntermediateDirectories: true)
            var repo: GitObject?
            if FileManager.default.fileExists(atPath: path) {
                repo = try? GitObject.make("open mirror", free: git_repository_free) {
                    git_repository_open_bare($0, path)
                }
                if repo == nil { try FileManager.default.removeItem(atPath: path) }
            }
            if repo == nil {
                repo = try GitObject.make("create mirror", free: git_repository_free) {
                    git_repository_init($0, path, 1)
                }
            }
            try fetch(repo!.pointer, url: url, credentials: credentials)
        }
        return GitRepository(path: path)
    }

    private static let refspecs = ["+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*"]

    /// Connects, learns the remote's default branch, downloads, updates refs
    /// and points HEAD at the default branch. Runs on the libgit2 thread.
    private static func fetch(_ repo: OpaquePointer, url: String, credentials: GitCredentials) throws {
        let shown = RemoteURL.redacted(url)
        let remote = try GitObject.make("fetch \(shown)", free: git_remote_free) {
            git_remote_create_anonymous($0, repo, url)
        }
        let payload = CredentialPayload(credentials)
        let unmanaged = Unmanaged.passRetained(payload)
        defer { unmanaged.release() }

        var callbacks = git_remote_callbacks()
        try check("fetch \(shown)", git_remote_init_callbacks(&callbacks, UInt32(GIT_REMOTE_CALLBACKS_VERSION)))
        callbacks.credentials = credentialCallback
        callbacks.payload = unmanaged.toOpaque()

        try check("connect to \(shown)", git_remote_connect(remote.pointer, GIT_DIRECTION_FETCH, &callbacks, nil, nil))
        defer { git_remote_disconnect(remote.pointer) }

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
