@testable import AccordGit
import AccordTestSupport
import Foundation
import Testing

/// The mirror a remote repository is kept in: an unreachable remote leaves
/// it alone; a damaged or deleted one is cloned anew.
@Suite struct MirrorTests {
    struct Fixture {
        let origin: GitFixture
        let cache: URL
        let url: String
        let first: String

        init() throws {
            origin = try GitFixture()
            try origin.write("tenants/a.yaml", "a\n")
            try origin.write("tenants/b.yaml", "b\n")
            first = try origin.commit("first")
            cache = FileManager.default.temporaryDirectory.appendingPathComponent("accord-cache-\(UUID().uuidString)")
            url = "file://" + origin.root.path
        }

        func sync(fresh: String? = nil) async throws -> GitMirror.Synced {
            try await GitMirror.synchronize(url: url, cacheDirectory: cache.path, credentials: GitCredentials(), fresh: fresh)
        }

        var mirrorPath: String { GitMirror.path(of: url, cacheDirectory: cache.path) }

        /// The mirror directories left beside the mirror (a clone in progress or a swapped-out one).
        func leftovers() throws -> [String] {
            try FileManager.default.contentsOfDirectory(atPath: cache.path + "/mirrors").filter { $0.contains(".new-") || $0.contains(".old-") }
        }
    }

    @Test func aFetchIntoAHealthyMirrorDoesNotCloneAgain() async throws {
        let fx = try Fixture()
        defer { try? FileManager.default.removeItem(at: fx.cache) }
        let created = try await fx.sync()
        #expect(created.recloned == nil)
        try fx.origin.write("tenants/c.yaml", "c\n")
        let second = try fx.origin.commit("second")
        let fetched = try await fx.sync()
        #expect(fetched.recloned == nil)
        #expect(try await fetched.repository.resolve("HEAD") == second)
    }

    @Test func aMirrorWithoutItsObjectsIsClonedAnew() async throws {
        let fx = try Fixture()
        defer { try? FileManager.default.removeItem(at: fx.cache) }
        _ = try await fx.sync()
        try MirrorDamage.deleteObjects(fx.mirrorPath)
        let healed = try await fx.sync()
        let why = try #require(healed.recloned)
        #expect(why.contains("damaged") || why.contains("fetching into it failed"), "\(why)")
        #expect(try await healed.repository.files(at: fx.first, under: "").map(\.path) == ["tenants/a.yaml", "tenants/b.yaml"])
        #expect(try fx.leftovers().isEmpty)
    }

    @Test func aMirrorThatIsNotARepositoryIsClonedAnew() async throws {
        let fx = try Fixture()
        defer { try? FileManager.default.removeItem(at: fx.cache) }
        _ = try await fx.sync()
        try FileManager.default.removeItem(atPath: fx.mirrorPath)
        try Data("not a repository".utf8).write(to: URL(fileURLWithPath: fx.mirrorPath))
        let healed = try await fx.sync()
        #expect(healed.recloned?.contains("cannot be opened") == true, "\(healed.recloned ?? "nil")")
        #expect(try await healed.repository.resolve("HEAD") == fx.first)
    }

    @Test func aDeletedMirrorIsClonedAgain() async throws {
        let fx = try Fixture()
        defer { try? FileManager.default.removeItem(at: fx.cache) }
        _ = try await fx.sync()
        try FileManager.default.removeItem(atPath: fx.mirrorPath)
        let again = try await fx.sync()
        #expect(try await again.repository.resolve("HEAD") == fx.first)
    }

    @Test func aMirrorItsReaderFoundDamagedIsClonedAnewOnRequest() async throws {
        let fx = try Fixture()
        defer { try? FileManager.default.removeItem(at: fx.cache) }
        _ = try await fx.sync()
        // Keep only the objects the tips reach through their commit and trees (copied loose
        // from the origin): a fetch finds nothing wrong, a reader of tenants/a.yaml does.
        try MirrorDamage.deleteObjects(fx.mirrorPath)
        try MirrorDamage.copyLooseObjects(["HEAD", "HEAD^{tree}", "HEAD:tenants"], from: fx.origin, into: fx.mirrorPath)
        let fetched = try await fx.sync()
        #expect(fetched.recloned == nil)
        await #expect(throws: GitError.self) { _ = try await fetched.repository.files(at: fx.first, under: "") }

        let healed = try await fx.sync(fresh: "reading \(fx.first.prefix(12)) failed")
        #expect(healed.recloned == "reading \(fx.first.prefix(12)) failed")
        #expect(try await healed.repository.files(at: fx.first, under: "").count == 2)
        #expect(try fx.leftovers().isEmpty)
    }

    @Test func anUnreachableRemoteLeavesTheMirrorAsItWas() async throws {
        let fx = try Fixture()
        defer { try? FileManager.default.removeItem(at: fx.cache) }
        _ = try await fx.sync()
        let moved = fx.origin.root.deletingLastPathComponent().appendingPathComponent("moved-\(UUID().uuidString)")
        try FileManager.default.moveItem(at: fx.origin.root, to: moved)
        await #expect(throws: GitError.self) { _ = try await fx.sync() }
        // Still there, still readable: the last fetched revision stays usable.
        let kept = try await GitRepository.open(at: fx.mirrorPath)
        #expect(try await kept.resolve("HEAD") == fx.first)
        // Even a request to clone anew keeps the old mirror when the remote cannot be reached.
        await #expect(throws: GitError.self) { _ = try await fx.sync(fresh: "suspect") }
        #expect(try await kept.resolve("HEAD") == fx.first)
        #expect(try fx.leftovers().isEmpty)

        try FileManager.default.moveItem(at: moved, to: fx.origin.root)
        let back = try await fx.sync()
        #expect(back.recloned == nil)
        #expect(try await back.repository.resolve("HEAD") == fx.first)
    }

    @Test func networkFailuresAreToldApartFromDamage() async throws {
        // libgit2's classes: NET 12, SSL 16, SSH 23, HTTP 34 (transport); OS 2, ODB 9, ZLIB 5 (may be local).
        for klass: Int32 in [12, 16, 23, 34] {
            #expect(GitError(operation: "fetch", code: -1, message: "m", errorClass: klass).isTransport, "class \(klass)")
        }
        for klass: Int32 in [0, 2, 5, 9] {
            #expect(!GitError(operation: "fetch", code: -1, message: "m", errorClass: klass).isTransport, "class \(klass)")
        }
        // A mirror without its objects fails to read with a local class: damage, cloned anew.
        let fx = try Fixture()
        defer { try? FileManager.default.removeItem(at: fx.cache) }
        let mirror = try await fx.sync().repository
        try MirrorDamage.deleteObjects(fx.mirrorPath)
        do {
            _ = try await mirror.files(at: fx.first, under: "")
            Issue.record("expected an error")
        } catch let error as GitError {
            #expect(!error.isTransport, "\(error) (class \(error.errorClass))")
        }
    }
}
