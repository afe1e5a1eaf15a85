import CLibGit2
import Dispatch

/// libgit2's calls block, so they run on dedicated serial queues, never on
/// Swift's cooperative pool. All libgit2 objects are created, used and freed
/// inside a single `run` body, on one queue; only Swift values leave it.
final class GitThread: Sendable {
    static let shared = GitThread(label: "dev.accord.libgit2")
    /// A second thread, for reading a large tree's blobs beside the first
    /// (`GitRepository.files(at:under:)`), with a repository handle of its own.
    static let second = GitThread(label: "dev.accord.libgit2.second")
    /// For a work tree's status, looked at beside the reads of a command
    /// (`uncommittedChanges`): a stat of every file must not hold them up.
    static let status = GitThread(label: "dev.accord.libgit2.status")

    private let queue: DispatchQueue

    private init(label: String) {
        queue = DispatchQueue(label: label, qos: .userInitiated)
        queue.sync {
            _ = git_libgit2_init()
            _ = accord_git_set_tree_cache_limit(16 << 20)
        }
    }

    func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            queue.async { continuation.resume(with: Result { try body() }) }
        }
    }
}

/// An owned libgit2 object pointer, freed with its matching function.
final class GitObject {
    let pointer: OpaquePointer
    private let free: (OpaquePointer) -> Void

    init(_ pointer: OpaquePointer, free: @escaping (OpaquePointer) -> Void) {
        self.pointer = pointer
        self.free = free
    }

    deinit { free(pointer) }

    /// Calls a libgit2 constructor `f(&out)` and wraps its result.
    static func make(_ operation: @autoclosure () -> String, free: @escaping (OpaquePointer) -> Void,
                     _ f: (UnsafeMutablePointer<OpaquePointer?>) -> Int32) throws -> GitObject {
        var out: OpaquePointer?
        try check(operation(), f(&out))
        guard let out else { throw GitError(operation: operation(), code: -1, message: "libgit2 returned no object") }
        return GitObject(out, free: free)
    }
}
