import Dispatch
import Foundation

/// Maps independent items on every core, keeping their order. Each worker
/// writes only its own slots; the lock orders those writes with the read
/// at the end.
enum ParallelMap {
    static func run<T: Sendable, R: Sendable>(_ items: [T], _ transform: @Sendable (T) -> R) -> [R] {
        let workers = max(1, ProcessInfo.processInfo.activeProcessorCount)
        guard items.count > 64, workers > 1 else { return items.map(transform) }
        let chunks = workers * 8
        let box = Results<R>(count: items.count)
        DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
            let range = (items.count * chunk / chunks)..<(items.count * (chunk + 1) / chunks)
            let mapped = items[range].map(transform)
            box.store(mapped, at: range.lowerBound)
        }
        return box.values()
    }

    private final class Results<R: Sendable>: @unchecked Sendable {
        private var slots: [R?]
        private let lock = NSLock()

        init(count: Int) { slots = Array(repeating: nil, count: count) }

        func store(_ values: [R], at start: Int) {
            lock.lock()
            defer { lock.unlock() }
            for (i, v) in values.enumerated() { slots[start + i] = v }
        }

        func values() -> [R] {
            lock.lock()
            defer { lock.unlock() }
            return slots.map { $0! }
        }
    }
}
