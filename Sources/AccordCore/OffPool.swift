import Dispatch

/// Long synchronous work run on a thread of its own instead of Swift's
/// cooperative pool. That pool has one thread per core; a job that holds
/// one for tens of milliseconds (preparing the next batches, working out
/// 113,500 hashes) leaves the tasks behind it waiting — on two cores, the
/// transactions a pass awaits. A dispatch queue of its own gets a thread
/// beside the pool, and the operating system shares the cores.
public enum OffPool {
    public static func run<T: Sendable>(_ label: String, _ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue(label: label).async { continuation.resume(with: Result { try work() }) }
        }
    }

    public static func run<T: Sendable>(_ label: String, _ work: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            DispatchQueue(label: label).async { continuation.resume(returning: work()) }
        }
    }
}
