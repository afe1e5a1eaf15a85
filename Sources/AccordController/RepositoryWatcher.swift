import AccordGit
import Foundation

/// The repository the controller watches: a remote URL kept as a bare
/// mirror (fetched on every poll and webhook, cloned anew when damaged), or
/// a local repository read in place. `head()` fetches and resolves the
/// branch to a commit.
struct RepositoryWatcher: Sendable {
    let repo: String
    let branch: String?
    let cacheDirectory: String

    var isRemote: Bool { RemoteURL.isRemote(repo) }

    /// Where the manifests are shown in logs: the URL without user info.
    var shown: String { RemoteURL.redacted(repo) }

    struct Head: Sendable {
        let repository: GitRepository
        let commit: String
        /// Why the mirror was cloned anew during this fetch.
        let recloned: String?
    }

    /// `damaged`: why the mirror must be cloned anew (reading it failed).
    func head(damaged: String? = nil) async throws -> Head {
        if isRemote {
            let synced = try await GitMirror.synchronize(url: repo, cacheDirectory: cacheDirectory,
                                                         credentials: try GitCredentials.fromEnvironment(), fresh: damaged)
            return Head(repository: synced.repository, commit: try await synced.repository.resolve(branch ?? "HEAD"),
                        recloned: synced.recloned)
        }
        let repository = try await GitRepository.open(at: repo)
        return Head(repository: repository, commit: try await repository.resolve(branch ?? "HEAD"), recloned: nil)
    }
}
