import AccordCore
import AccordGit
import AccordManifests
import AccordSource
import ArgumentParser
import Foundation

/// Where manifests come from: a repository (local path or URL), a revision
/// and a directory inside it, or the files on disk with `--worktree`.
struct SourceOptions: ParsableArguments {
    @Option(help: "Repository: a local path, or an https://, ssh:// or file:// URL (mirrored under $ACCORD_CACHE_DIR).")
    var repo: String = "."

    @Option(help: "Revision to read: a branch, tag, commit, or an expression such as HEAD~1.")
    var ref: String = "HEAD"

    @Option(help: "Directory inside the repository that holds the manifests (default: the repository root).")
    var path: String = ""

    @Flag(help: "Read the files on disk under --repo instead of a commit (uncommitted edits included; apply needs --allow-uncommitted).")
    var worktree = false

    func validate() throws {
        guard ManifestPaths.normalize(path) != nil else {
            throw ValidationError("--path must be a directory inside the repository, not \(Text.quoted(path))")
        }
        if worktree && RemoteURL.isRemote(repo) {
            throw ValidationError("--worktree reads a local directory; \(RemoteURL.redacted(repo)) is a remote URL")
        }
        if worktree && ref != "HEAD" {
            throw ValidationError("--worktree reads files on disk; it cannot be combined with --ref")
        }
    }

    /// A resolved source: the repository and commit (nil for --worktree).
    typealias Opened = RevisionSource

    /// Opens the repository (syncing the mirror for a URL) and resolves the
    /// revision. `ref` overrides --ref (for `diff --against`).
    func open(ref override: String? = nil) async throws -> Opened {
        let directory = ManifestPaths.normalize(path) ?? ""
        if worktree { return RevisionSource(worktree: repo, directory: directory, base: try await workTree()?.head) }
        let repository: GitRepository
        if RemoteURL.isRemote(repo) {
            repository = try await GitMirror.sync(url: repo, cacheDirectory: GitMirror.defaultCacheDirectory(),
                                                  credentials: try GitCredentials.fromEnvironment())
        } else {
            guard FileManager.default.fileExists(atPath: repo) else {
                throw CLIError("repository \(Text.quoted(repo)) does not exist")
            }
            do {
                repository = try await GitRepository.open(at: repo)
            } catch let error as GitError where error.reason == .notFound {
                throw CLIError("\(Text.quoted(repo)) is not a git repository (use --worktree to read the files on disk)")
            }
        }
        let commit: String
        do {
            commit = try await repository.resolve(override ?? ref)
        } catch let error as GitError {
            guard (try? await repository.isShallow()) == true else { throw error }
            throw CLIError("\(error); this is a shallow clone, which may not hold \(Text.quoted(override ?? ref)): fetch more history "
                           + "(git fetch --unshallow, or actions/checkout with fetch-depth: 0)")
        }
        if override == nil, !RemoteURL.isRemote(repo) {
            // Looked at beside the command's work (a thread of its own), said before it exits.
            let ref = self.ref
            Console.noteWhenKnown("the work tree compared with HEAD (for a note on uncommitted changes)") {
                guard let status = try? await repository.uncommittedChanges(under: directory), status.head == commit,
                      !status.changes.isEmpty else { return nil }
                return "the work tree has uncommitted changes to \(Self.describe(status.changes, under: directory)); "
                    + "this read the commit \(ref) (\(commit.prefix(12))): commit them, or pass --worktree to read the files on disk"
            }
        }
        return RevisionSource(repository: repository, commit: commit, directory: directory)
    }

    /// The work tree under --repo when --repo is the root of a repository's
    /// work tree: its HEAD commit and the manifest files that differ from
    /// it. nil for a directory that is not a repository's root.
    func workTree() async throws -> (head: String, changes: [UncommittedChange])? {
        guard let repository = try? await GitRepository.open(at: repo),
              URL(fileURLWithPath: repository.path).resolvingSymlinksInPath().standardizedFileURL.path
                == URL(fileURLWithPath: repo).resolvingSymlinksInPath().standardizedFileURL.path else { return nil }
        return try await repository.uncommittedChanges(under: ManifestPaths.normalize(path) ?? "")
    }

    /// `3 manifest files under platform (a.yaml modified, b.yaml untracked, …)`.
    static func describe(_ changes: [UncommittedChange], under directory: String) -> String {
        let shown = changes.prefix(5).map(\.description).joined(separator: ", ") + (changes.count > 5 ? ", …" : "")
        return "\(changes.count) manifest file\(changes.count == 1 ? "" : "s")\(directory.isEmpty ? "" : " under \(directory)") (\(shown))"
    }

    /// The manifest files, and the commit they were read from (nil for
    /// --worktree). `ref` overrides --ref (for `diff --against`).
    func load(ref override: String? = nil) async throws -> (files: [SourceFile], revision: String?) {
        let opened = try await open(ref: override)
        return (try await opened.files(), opened.commit)
    }
}

enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
    case text, json, markdown
}

struct OutputOptions: ParsableArguments {
    @Option(name: [.customShort("o"), .customLong("output")], help: "Output format: text, json or markdown.")
    var format: OutputFormat = .text
}

/// An error the user can act on; printed as `accordctl: error: …`, exit 2.
struct CLIError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
