/// The envelope every document shares.
public struct Metadata: Hashable, Sendable {
    public var name: String
    public var tenant: String?
    public var labels: [String: String]
    public var annotations: [String: String]

    public init(name: String, tenant: String? = nil, labels: [String: String] = [:], annotations: [String: String] = [:]) {
        self.name = name
        self.tenant = tenant
        self.labels = labels
        self.annotations = annotations
    }
}

/// The typed `spec` of one document.
public enum Spec: Hashable, Sendable {
    case tenant(TenantSpec)
    case worker(WorkerSpec)
    case workflow(WorkflowSpec)
    case retentionPolicy(RetentionPolicySpec)
    case model(ModelSpec)
    case erasure(ErasureSpec)
    case store(StoreSpec)
    case notification(NotificationSpec)

    public var kind: Kind {
        switch self {
        case .tenant: .tenant
        case .worker: .worker
        case .workflow: .workflow
        case .retentionPolicy: .retentionPolicy
        case .model: .model
        case .erasure: .erasure
        case .store: .store
        case .notification: .notification
        }
    }
}

/// One desired object, as read from the repository. Its parts live in one
/// `SharedBox`, as `DesiredObject`'s do.
public struct Manifest: Hashable, Sendable {
    private struct Parts: Hashable, Sendable {
        let metadata: Metadata
        let spec: Spec
        let source: SourcePosition
        let positions: FieldPositions
    }

    private let parts: SharedBox<Parts>

    public var metadata: Metadata { parts.value.metadata }
    public var spec: Spec { parts.value.spec }
    /// Where the document starts.
    public var source: SourcePosition { parts.value.source }
    /// Where each field was written, by dotted path (`spec.model`,
    /// `spec.steps[1].worker`), so later checks can point at it.
    public var positions: FieldPositions { parts.value.positions }

    public init(metadata: Metadata, spec: Spec, source: SourcePosition, positions: FieldPositions) {
        parts = SharedBox(Parts(metadata: metadata, spec: spec, source: source, positions: positions))
    }

    public var kind: Kind { spec.kind }
    public var id: ObjectID { ObjectID(kind: kind, tenant: metadata.tenant, name: metadata.name) }

    /// The position of a field, falling back to the nearest enclosing field
    /// that was written, then to the document itself.
    public func position(of path: String) -> SourcePosition {
        var path = path
        while true {
            if let found = positions[path] { return SourcePosition(file: source.file, line: found.line, column: found.column) }
            guard let cut = path.lastIndex(where: { $0 == "." || $0 == "[" }) else { return source }
            path = String(path[..<cut])
        }
    }
}

/// A scalar as written in YAML, after YAML 1.2 core typing.
public enum Scalar: Hashable, Sendable, CustomStringConvertible {
    case string(String)
    case integer(Int)
    case number(Double)
    case bool(Bool)
    case null

    public var description: String {
        switch self {
        case .string(let s): "\"\(s)\""
        case .integer(let i): String(i)
        case .number(let d): String(d)
        case .bool(let b): String(b)
        case .null: "null"
        }
    }

    /// The numeric value of an integer or a number.
    public var numericValue: Double? {
        switch self {
        case .integer(let i): Double(i)
        case .number(let d): d
        default: nil
        }
    }
}

/// A span of time written as `30m`, `4h`, `2d` or `1d12h`.
public struct DurationValue: Hashable, Sendable, CustomStringConvertible {
    public let seconds: Int
    public let text: String

    public init(seconds: Int, text: String) {
        self.seconds = seconds
        self.text = text
    }

    public var description: String { text }
}

/// Where each field of a document was written, in the order recorded: a
/// list, not a dictionary, because every document records a dozen or so
/// and only the few that a problem is reported at are ever looked up.
/// An entry keeps its path as the enclosing path and the key or index
/// below it (strings the decoder already holds), so that recording a
/// field joins no strings; the dotted path is put together only when
/// asked for, and a lookup compares without making it.
public struct FieldPositions: Hashable, Sendable {
    public struct Entry: Hashable, Sendable {
        /// The enclosing field's path ("" at the top of a document).
        let parent: String
        /// The key below `parent`; nil for a list item or a whole path.
        let key: String?
        /// The list item's index below `parent`, or -1.
        let index: Int32
        public let line: Int32
        public let column: Int32

        /// The dotted path: `spec.model`, `spec.steps[1].worker`.
        public var path: String {
            if index >= 0 { return "\(parent)[\(index)]" }
            guard let key else { return parent }
            return parent.isEmpty ? key : "\(parent).\(key)"
        }

        /// Whether `path` is this entry's path, compared in place.
        func matches(_ path: String) -> Bool {
            let p = path.utf8, head = parent.utf8
            // By length first: most entries differ in it, and then no byte is compared.
            if index >= 0 {
                guard p.count > head.count + 2 else { return false }
            } else if let key {
                guard p.count == (head.isEmpty ? 0 : head.count + 1) + key.utf8.count else { return false }
            } else {
                guard p.count == head.count else { return false }
            }
            guard p.starts(with: head) else { return false }
            let rest = p[p.index(p.startIndex, offsetBy: head.count)...]
            if index >= 0 {
                // "[index]"
                guard rest.first == UInt8(ascii: "["), rest.last == UInt8(ascii: "]") else { return false }
                return rest.dropFirst().dropLast().elementsEqual(String(index).utf8)
            }
            guard let key else { return rest.isEmpty }
            if head.isEmpty { return rest.elementsEqual(key.utf8) }
            return rest.first == UInt8(ascii: ".") && rest.dropFirst().elementsEqual(key.utf8)
        }
    }

    public private(set) var entries: [Entry] = []

    public init() {}

    /// Positions for about `capacity` fields, without growing on the way.
    public init(reservingCapacity capacity: Int) { entries.reserveCapacity(capacity) }

    public mutating func record(_ path: String, line: Int, column: Int) {
        entries.append(Entry(parent: path, key: nil, index: -1, line: Int32(clamping: line), column: Int32(clamping: column)))
    }

    /// The field `key` of the mapping at `parent` (`parent.key`, or `key` at the top).
    public mutating func record(_ parent: String, key: String, line: Int, column: Int) {
        entries.append(Entry(parent: parent, key: key, index: -1, line: Int32(clamping: line), column: Int32(clamping: column)))
    }

    /// Item `index` of the list at `parent` (`parent[index]`).
    public mutating func record(_ parent: String, index: Int, line: Int, column: Int) {
        entries.append(Entry(parent: parent, key: nil, index: Int32(clamping: index), line: Int32(clamping: line),
                             column: Int32(clamping: column)))
    }

    /// The position last recorded for the path.
    public subscript(path: String) -> (line: Int, column: Int)? {
        for e in entries.reversed() where e.matches(path) { return (Int(e.line), Int(e.column)) }
        return nil
    }

    /// Equal when the same paths were recorded at the same places, in the
    /// same order, however each path was split.
    public static func == (a: FieldPositions, b: FieldPositions) -> Bool {
        a.entries.count == b.entries.count && zip(a.entries, b.entries).allSatisfy {
            $0.line == $1.line && $0.column == $1.column && $0.path == $1.path
        }
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(entries.count)
        for e in entries {
            hasher.combine(e.path)
            hasher.combine(e.line)
            hasher.combine(e.column)
        }
    }
}
