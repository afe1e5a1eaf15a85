import AccordGit
import Foundation

/// The repository the controller watches: a remote URL kept as a bare
/// mirror (fetched on every poll and webhook), or a local repository read
/// in place. `head()` fetches and resolves the branch to a commit.
struct RepositoryWatcher: Sendable {
    let repo: String
    let branch: String?
    let cacheDirectory: String

    var isRemote: Bool { RemoteURL.isRemote(repo) }

    /// Where the manifests are shown in logs: the URL without user info.
    var shown: String { RemoteURL.redacted(repo) }

    func head() async throws -> (GitRepository, String) {
        let repository: GitRepository
        if isRemote {
            repository = try await GitMirror.sync(url: repo, cacheDirectory: cacheDirectory,
                                                  credentials: try GitCredentials.fromEnvironment())
        } else {
            repository = try await GitRepository.open(at: repo)
        }
        return (repository, try await repository.resolve(branch ?? "HEAD"))
    }
}
