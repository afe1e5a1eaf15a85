import Synchronization

/// The column types Accord writes to `platform` tables.
public enum ColumnType: String, Sendable {
    case text, integer, double, boolean, json, timestamp
}

/// One column of a kind's registry row that Accord decides from the manifests.
public struct Column: Sendable, Hashable {
    public let name: String
    public let type: ColumnType
    public init(_ name: String, _ type: ColumnType) {
        self.name = name
        self.type = type
    }
}

/// An object's registry row as Accord wants it (desired) or as it is
/// (live): the columns of its kind's table that Accord owns, by name.
/// Columns that hold observed state (a workflow's version number, an
/// erasure's status) are not part of it.
public struct Record: Sendable, Hashable {
    public let id: ObjectID
    public var fields: [String: JSONValue]

    public init(id: ObjectID, fields: [String: JSONValue]) {
        self.id = id
        self.fields = fields
    }

    public subscript(column: String) -> JSONValue {
        fields[column] ?? .null
    }
}

/// A desired object: its registry row plus what Accord records about where
/// it came from.
///
/// Its parts live in one `SharedBox`: a plan step, a batch or an outcome
/// copies an object with one reference count. Its two hashes may be worked
/// out on first use (`init(record:hashes:…)`): a full apply into an empty
/// database needs them only for the inventory rows and the Merkle buckets,
/// which are written beside the execution, so building the desired state
/// does not wait for 2 × 113,500 SHA-256 of canonical JSON.
public struct DesiredObject: Sendable, Hashable {
    private struct Parts: Hashable, Sendable {
        let record: Record
        let hashes: Hashes
        let sourcePath: String
        let blobID: String?
        let stall: Stall?
        let auditDetail: [String: JSONValue]
    }

    /// The manifest and record hashes: given, or worked out once, by the
    /// first thread that asks (the others wait for it on this object's lock).
    private final class Hashes: Hashable, Sendable {
        typealias Pair = (manifest: String, record: String)
        private enum State {
            case known(Pair)
            case pending(@Sendable () -> Pair)
        }
        private let state: Mutex<State>

        init(_ pair: Pair) { state = Mutex(.known(pair)) }
        init(_ work: @escaping @Sendable () -> Pair) { state = Mutex(.pending(work)) }

        var pair: Pair {
            state.withLock { state in
                switch state {
                case .known(let pair): return pair
                case .pending(let work):
                    let pair = work()
                    state = .known(pair)
                    return pair
                }
            }
        }

        static func == (a: Hashes, b: Hashes) -> Bool { a === b || a.pair == b.pair }
        func hash(into hasher: inout Hasher) {
            let pair = self.pair
            hasher.combine(pair.manifest)
            hasher.combine(pair.record)
        }
    }

    private let parts: SharedBox<Parts>

    public var record: Record { parts.value.record }
    /// SHA-256 (hex) of the canonical manifest: kind, metadata and spec.
    public var manifestHash: String { parts.value.hashes.pair.manifest }
    /// SHA-256 (hex) of the canonical registry row; it changes when the
    /// manifest or something the row is derived from changes.
    public var recordHash: String { parts.value.hashes.pair.record }
    public var sourcePath: String { parts.value.sourcePath }
    public var blobID: String? { parts.value.blobID }
    /// Set when the object cannot be applied as git has it until something
    /// else changes (a worker whose model has no production version).
    public var stall: Stall? { parts.value.stall }
    /// What applying the object means beyond its row (a model promotion),
    /// for its audit entry.
    public var auditDetail: [String: JSONValue] { parts.value.auditDetail }

    public init(record: Record, manifestHash: String, recordHash: String, sourcePath: String, blobID: String?,
                stall: Stall? = nil, auditDetail: [String: JSONValue] = [:]) {
        parts = SharedBox(Parts(record: record, hashes: Hashes((manifestHash, recordHash)), sourcePath: sourcePath,
                                blobID: blobID, stall: stall, auditDetail: auditDetail))
    }

    /// An object whose hashes `hashes` works out when they are first asked for
    /// (from any thread, once).
    public init(record: Record, hashes: @escaping @Sendable () -> (manifest: String, record: String), sourcePath: String,
                blobID: String?, stall: Stall? = nil, auditDetail: [String: JSONValue] = [:]) {
        parts = SharedBox(Parts(record: record, hashes: Hashes(hashes), sourcePath: sourcePath,
                                blobID: blobID, stall: stall, auditDetail: auditDetail))
    }

    /// The same object with another row (its hash recomputed by the caller), stall and audit detail.
    public func with(record: Record, recordHash: String, stall: Stall?, auditDetail: [String: JSONValue]) -> DesiredObject {
        DesiredObject(record: record, manifestHash: manifestHash, recordHash: recordHash, sourcePath: sourcePath,
                      blobID: blobID, stall: stall, auditDetail: auditDetail)
    }

    public var id: ObjectID { record.id }
}

/// Why an object waits: its reason (`ModelNotPromoted`) and a
/// message that names what it waits for.
public struct Stall: Sendable, Hashable {
    public let reason: FailureReason
    public let message: String
    /// The object's row is applied as planned (the part that waits was
    /// already left as live has it), and the object still reports the stall:
    /// a blocked promotion keeps production where it is while new versions
    /// register.
    public let appliesRest: Bool
    /// Structured facts for the audit entry (versions, metric values).
    public let detail: JSONValue?
    /// Columns that wait: an object with a live row keeps these as the row
    /// has them and applies the rest (`appliesRest`); one without a row is
    /// not created. A worker whose model has no production version keeps
    /// the version it runs while its tenant's kill switch still reaches it.
    public let keepsLive: [String]

    public init(reason: FailureReason, message: String, appliesRest: Bool = false, detail: JSONValue? = nil, keepsLive: [String] = []) {
        self.reason = reason
        self.message = message
        self.appliesRest = appliesRest
        self.detail = detail
        self.keepsLive = keepsLive
    }
}

/// What Accord's inventory says about an object it manages.
public struct InventoryEntry: Sendable, Hashable {
    public let id: ObjectID
    public let manifestHash: String
    /// The record hash of the row Accord last wrote.
    public let recordHash: String
    public let blobID: String?
    public let sourcePath: String
    public let generation: Int
    /// Set when the object left git but Accord keeps its rows on purpose
    /// (an offboarded tenant, a released erasure).
    public let retained: Bool
    /// The database that holds the object's data, with a regions file:
    /// a tenant's region, `control` for every other object; empty without.
    public let database: String

    public init(id: ObjectID, manifestHash: String, recordHash: String, blobID: String?, sourcePath: String,
                generation: Int, retained: Bool = false, database: String = "") {
        self.id = id
        self.manifestHash = manifestHash
        self.recordHash = recordHash
        self.blobID = blobID
        self.sourcePath = sourcePath
        self.generation = generation
        self.retained = retained
        self.database = database
    }
}
