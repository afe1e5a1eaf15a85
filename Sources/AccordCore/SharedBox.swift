/// An immutable value behind one reference: a struct that keeps its parts
/// in one is copied with one reference count instead of one per string,
/// list and dictionary it holds (`Manifest`, `DesiredObject`: a full apply
/// copies 113,500 of each several times over; docs/benchmarks-notes.md).
/// Equal and hashed as its value; the same box is equal without comparing.
public final class SharedBox<Value: Hashable & Sendable>: Hashable, Sendable {
    public let value: Value

    public init(_ value: Value) { self.value = value }

    public static func == (a: SharedBox, b: SharedBox) -> Bool { a === b || a.value == b.value }

    public func hash(into hasher: inout Hasher) { hasher.combine(value) }
}
