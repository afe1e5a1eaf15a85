import Synchronization

/// Where a large value's deallocation runs. Freeing 100,000 objects is a
/// cascade of releases on whichever thread drops the last reference.
public enum Release {
    /// Keeps `value` until the process exits: for a command that ends once
    /// it has printed its result, the operating system takes back the
    /// memory at once, where freeing it object by object would delay the
    /// exit. Only for values a process holds once (never in a loop).
    public static func atExit(_ value: some Sendable) {
        kept.withLock { $0.append(value) }
    }

    private static let kept = Mutex<[any Sendable]>([])
}
