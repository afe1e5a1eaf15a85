import Dispatch
import Foundation
import Synchronization

/// Maps independent items on every core, keeping their order. Each worker
/// writes only its own slots; the mutex orders those writes with the read
/// at the end.
public enum ParallelMap {
    public static func run<T: Sendable, R: Sendable>(_ items: [T], _ transform: @Sendable (T) -> R) -> [R] {
        let parts = ranges(items.count) { range in items[range].map(transform) }
        guard parts.count > 1 else { return parts.first ?? [] }
        var out: [R] = []
        out.reserveCapacity(items.count)
        for part in parts { out += part }
        return out
    }

    /// `a` and `b` side by side (one after the other on a single core).
    public static func both<A: Sendable, B: Sendable>(_ a: @Sendable () -> A, _ b: @Sendable () -> B) -> (A, B) {
        guard ProcessInfo.processInfo.activeProcessorCount > 1 else { return (a(), b()) }
        let first = Results<A>(count: 1), second = Results<B>(count: 1)
        DispatchQueue.concurrentPerform(iterations: 2) { i in
            if i == 0 { first.store([a()], at: 0) } else { second.store([b()], at: 0) }
        }
        return (first.values()[0], second.values()[0])
    }

    /// `0..<count` cut into ranges, each handed to `body` on some core;
    /// the results in range order. Small counts (64 or fewer) or a single
    /// core: one range, on the calling thread.
    public static func ranges<R: Sendable>(_ count: Int, _ body: @Sendable (Range<Int>) -> R) -> [R] {
        let workers = max(1, ProcessInfo.processInfo.activeProcessorCount)
        guard count > 64, workers > 1 else { return [body(0..<count)] }
        let chunks = workers * 8
        let box = Results<R>(count: chunks)
        DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
            let range = (count * chunk / chunks)..<(count * (chunk + 1) / chunks)
            box.store([body(range)], at: chunk)
        }
        return box.values()
    }

    private final class Results<R: Sendable>: Sendable {
        private let slots: Mutex<[R?]>

        init(count: Int) { slots = Mutex(Array(repeating: nil, count: count)) }

        func store(_ values: [R], at start: Int) {
            slots.withLock { slots in
                for (i, v) in values.enumerated() { slots[start + i] = v }
            }
        }

        func values() -> [R] {
            slots.withLock { $0.map { $0! } }
        }
    }
}
