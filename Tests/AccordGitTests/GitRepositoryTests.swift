import AccordCore
import AccordTestSupport
@testable import AccordGit
import Foundation
import Testing

@Suite struct GitRepositoryTests {
    @Test func resolvesBranchesTagsShasAndExpressions() async throws {
        let fx = try GitFixture()
        try fx.write("a.yaml", "a: 1\n")
        let first = try fx.commit("first")
        try fx.git("tag", "v1")
        try fx.write("a.yaml", "a: 2\n")
        let second = try fx.commit("second")

        let repo = try await GitRepository.open(at: fx.root.path)
        #expect(try await repo.resolve("HEAD") == second)
        #expect(try await repo.resolve("main") == second)
        #expect(try await repo.resolve("v1") == first)
        #expect(try await repo.resolve("HEAD~1") == first)
        #expect(try await repo.resolve(String(first.prefix(10))) == first)
        await #expect(throws: GitError.self) { try await repo.resolve("no-such-branch") }
    }

    @Test func readsManifestFilesOfACommitWithoutCheckout() async throws {
        let fx = try GitFixture()
        try fx.write("tenants/acme.yaml", "kind: Tenant\n")
        try fx.write("workers/w.yml", "kind: Worker\n")
        try fx.write("README.md", "not a manifest\n")
        try fx.write(".hidden/x.yaml", "skipped\n")
        try fx.write("tenants/.draft.yaml", "skipped\n")
        try fx.symlink("linked.yaml", to: "/etc/passwd")
        try fx.symlink("docs", to: "/etc")
        let commit = try fx.commit("files")
        // An uncommitted edit is not seen when reading the commit.
        try fx.write("tenants/acme.yaml", "kind: Changed\n")

        let repo = try await GitRepository.open(at: fx.root.path)
        let files = try await repo.files(at: commit, under: "")
        #expect(files.map(\.path) == ["linked.yaml", "tenants/acme.yaml", "workers/w.yml"])
        #expect(files[0].content == .symlink)
        #expect(files[1].content == .bytes(Array("kind: Tenant\n".utf8)))
        #expect(files[1].blobID?.count == 40)

        let sub = try await repo.files(at: commit, under: "tenants")
        #expect(sub.map(\.path) == ["tenants/acme.yaml"])
        await #expect(throws: GitError.self) { try await repo.files(at: commit, under: "nope") }
    }

    /// A tree large enough to be read on two threads gives the same files,
    /// in the same order, as reading each by its path on one: contents,
    /// blob ids, a symbolic link and an oversized file among them.
    @Test func aLargeTreeReadOnTwoThreadsIsTheSameAsReadFileByFile() async throws {
        let fx = try GitFixture()
        let count = GitRepository.filesReadOnTwoThreads + 37
        for i in 0..<count { try fx.write("d\(i % 7)/f\(i).yaml", "i: \(i)\n" + String(repeating: "x", count: i % 50) + "\n") }
        try fx.symlink("d3/link.yaml", to: "/etc/passwd")
        try fx.write("d5/big.yaml", Data(repeating: UInt8(ascii: "#"), count: ManifestLimits.maxFileBytes + 1))
        let commit = try fx.commit("many files")

        let repo = try await GitRepository.open(at: fx.root.path)
        let files = try await repo.files(at: commit, under: "")
        #expect(files.count == count + 2)
        let paths = files.map(\.path)
        #expect(paths == paths.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) })
        let byPath = try await repo.files(at: commit, paths: paths)
        #expect(files == byPath)
        #expect(files.first { $0.path == "d3/link.yaml" }?.content == .symlink)
        #expect(files.first { $0.path == "d5/big.yaml" }?.content == .tooLarge(size: ManifestLimits.maxFileBytes + 1))
        #expect(files.first { $0.path == "d1/f8.yaml" }?.content == .bytes(Array(("i: 8\n" + String(repeating: "x", count: 8) + "\n").utf8)))
    }

    @Test func oversizedBlobsAreNotLoaded() async throws {
        let fx = try GitFixture()
        try fx.write("big.yaml", Data(repeating: UInt8(ascii: "#"), count: ManifestLimits.maxFileBytes + 1))
        let commit = try fx.commit("big")
        let files = try await GitRepository.open(at: fx.root.path).files(at: commit, under: "")
        #expect(files.first?.content == .tooLarge(size: ManifestLimits.maxFileBytes + 1))
    }

    @Test func listsChangedPathsBetweenCommits() async throws {
        let fx = try GitFixture()
        try fx.write("a.yaml", "a\n")
        try fx.write("b.yaml", "b\n")
        try fx.write("c.yaml", "c\n")
        let first = try fx.commit("first")
        try fx.write("a.yaml", "a2\n")
        try FileManager.default.removeItem(at: fx.root.appendingPathComponent("b.yaml"))
        try fx.write("d/e.yaml", "e\n")
        let second = try fx.commit("second")
        let changed = try await GitRepository.open(at: fx.root.path).changedPaths(from: first, to: second)
        #expect(changed == ["a.yaml", "b.yaml", "d/e.yaml"])
    }

    @Test func opensBareRepositoriesAndRefusesNonRepositories() async throws {
        let fx = try GitFixture()
        try fx.write("a.yaml", "a\n")
        let commit = try fx.commit("first")
        let bare = fx.root.path + "-bare.git"
        defer { try? FileManager.default.removeItem(atPath: bare) }
        try GitFixture.run(["git", "clone", "-q", "--bare", fx.root.path, bare])
        #expect(try await GitRepository.open(at: bare).resolve("main") == commit)

        let plain = FileManager.default.temporaryDirectory.appendingPathComponent("accord-plain-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: plain, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: plain) }
        await #expect(throws: GitError.self) { try await GitRepository.open(at: plain.path) }
    }

    @Test func mirrorsAFileRemoteAndFetchesNewCommits() async throws {
        let fx = try GitFixture()
        try fx.write("a.yaml", "a\n")
        let first = try fx.commit("first")
        try fx.git("tag", "v1")
        let cache = FileManager.default.temporaryDirectory.appendingPathComponent("accord-cache-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: cache) }
        let url = "file://" + fx.root.path

        let mirror = try await GitMirror.sync(url: url, cacheDirectory: cache.path, credentials: GitCredentials())
        #expect(try await mirror.resolve("HEAD") == first)
        #expect(try await mirror.resolve("v1") == first)
        #expect(mirror.path.hasPrefix(cache.path + "/mirrors/"))

        try fx.write("b.yaml", "b\n")
        let second = try fx.commit("second")
        let again = try await GitMirror.sync(url: url, cacheDirectory: cache.path, credentials: GitCredentials())
        #expect(again.path == mirror.path)
        #expect(try await again.resolve("main") == second)
        #expect(try await again.files(at: second, under: "").map(\.path) == ["a.yaml", "b.yaml"])

        // A corrupt mirror is cloned anew.
        try FileManager.default.removeItem(atPath: mirror.path + "/HEAD")
        let healed = try await GitMirror.sync(url: url, cacheDirectory: cache.path, credentials: GitCredentials())
        #expect(try await healed.resolve("main") == second)
    }

    @Test func unreachableRemoteIsAnErrorWithoutCredentials() async throws {
        let cache = FileManager.default.temporaryDirectory.appendingPathComponent("accord-cache-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: cache) }
        do {
            _ = try await GitMirror.sync(url: "https://user:s3cret@127.0.0.1:1/repo.git", cacheDirectory: cache.path, credentials: GitCredentials())
            Issue.record("expected an error")
        } catch let error as GitError {
            #expect(!error.description.contains("s3cret"))
            #expect(error.description.contains("127.0.0.1"))
        }
    }

    @Test func urlsAreShownWithoutUserInfo() {
        #expect(RemoteURL.redacted("https://user:tok@git.example/x.git") == "https://***@git.example/x.git")
        #expect(RemoteURL.redacted("ssh://git@host/x.git") == "ssh://***@host/x.git")
        #expect(RemoteURL.redacted("file:///srv/x") == "file:///srv/x")
        #expect(RemoteURL.redactingUserInfo(in: "failed: 'https://a:b@h/x' refused") == "failed: 'https://***@h/x' refused")
        #expect(RemoteURL.isRemote("git@github.com:org/repo.git"))
        #expect(!RemoteURL.isRemote("./manifests"))
        #expect(RemoteURL.mirrorDirectoryName("https://a:b@h/x.git") != RemoteURL.mirrorDirectoryName("https://h/x.git"))
    }

    @Test func worktreeSourceReadsDiskWithoutFollowingLinks() throws {
        let fx = try GitFixture()
        try fx.write("t/a.yaml", "a\n")
        try fx.write(".git-like/x.yaml", "hidden\n")
        try fx.symlink("evil.yaml", to: "/etc/passwd")
        try fx.symlink("outside", to: "/etc")
        let files = try WorktreeSource.files(root: fx.root.path, under: "")
        #expect(files.map(\.path) == ["evil.yaml", "t/a.yaml"])
        #expect(files[0].content == .symlink)
    }
}
