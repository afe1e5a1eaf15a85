import AccordCore
import Crypto

/// Turns a valid manifest set into the registry rows Accord wants, with the
/// hashes its inventory and history keep.
public enum DesiredState {
    /// Bumped whenever the rows derived from the same manifests change, so
    /// that stored fast-path state from an older engine is not trusted.
    public static let formatVersion = 3

    /// What rows are derived from, for models and tenants that are not
    /// among the manifests being built (an incremental pass builds only the
    /// changed files' objects).
    public struct Context: Sendable {
        public var production: [String: String]
        public var suspendedTenants: Set<String>

        public init(production: [String: String] = [:], suspendedTenants: Set<String> = []) {
            self.production = production
            self.suspendedTenants = suspendedTenants
        }
    }

    /// `blobIDs` maps a source path to its git blob id, when known.
    public static func build(_ manifests: [Manifest], blobIDs: [String: String] = [:], context: Context = Context()) -> [DesiredObject] {
        let context = derivations(manifests, context)
        return manifests.map { object($0, blobIDs: blobIDs, context: context) }
    }

    /// The same rows, built on every core for large sets: in 32 chunks, so
    /// that no core is left with a long last one (with 8, one of two cores
    /// idled for about 30 ms at the end of 113,500 objects).
    public static func buildConcurrently(_ manifests: [Manifest], blobIDs: [String: String] = [:],
                                         context: Context = Context(), chunks: Int = 32) async -> [DesiredObject] {
        guard manifests.count > 2_000 else { return build(manifests, blobIDs: blobIDs, context: context) }
        let context = derivations(manifests, context)
        return await withTaskGroup(of: (Int, [DesiredObject]).self) { group in
            for chunk in 0..<chunks {
                let range = (manifests.count * chunk / chunks)..<(manifests.count * (chunk + 1) / chunks)
                group.addTask { (chunk, manifests[range].map { object($0, blobIDs: blobIDs, context: context) }) }
            }
            var parts = [[DesiredObject]](repeating: [], count: chunks)
            for await (chunk, objects) in group { parts[chunk] = objects }
            return parts.flatMap { $0 }
        }
    }

    /// Production versions and suspended tenants: the context, overridden
    /// by the manifests given.
    static func derivations(_ manifests: [Manifest], _ context: Context) -> Context {
        var context = context
        for m in manifests {
            switch m.spec {
            case .model(let spec): context.production[m.metadata.name] = spec.production
            case .tenant(let spec):
                if spec.suspended { context.suspendedTenants.insert(m.metadata.name) } else { context.suspendedTenants.remove(m.metadata.name) }
            default: break
            }
        }
        return context
    }

    static func object(_ m: Manifest, blobIDs: [String: String], context: Context) -> DesiredObject {
        var stall: Stall?
        // A worker's record hash is written without its dictionary (`canonicalFields`).
        var recordBytes: (@Sendable () -> [UInt8])?
        let fields: [String: JSONValue]
        switch m.spec {
        case .tenant(let s): fields = TenantRecord.fields(m.metadata.name, s)
        case .worker(let s):
            let production = context.production[s.model]
            let suspended = m.metadata.tenant.map(context.suspendedTenants.contains) ?? false
            fields = WorkerRecord.fields(s, productionVersion: production, tenantSuspended: suspended)
            recordBytes = { WorkerRecord.canonicalFields(s, productionVersion: production, tenantSuspended: suspended) }
            stall = WorkerRecord.stall(model: s.model, productionVersion: production)
        case .workflow(let s): fields = WorkflowRecord.fields(s)
        case .retentionPolicy(let s): fields = RetentionPolicyRecord.fields(s)
        case .model(let s): fields = ModelRecord.fields(s)
        case .erasure(let s): fields = ErasureRecord.fields(s)
        case .store(let s): fields = StoreRecord.fields(s)
        case .notification(let s): fields = NotificationRecord.fields(s)
        }
        // The hashes are worked out when first needed (`DesiredObject`): for
        // a full apply, beside the execution.
        return DesiredObject(
            record: Record(id: m.id, fields: fields),
            hashes: { [recordBytes] in (manifestHash(m), recordBytes.map { sha256Hex(bytes: $0()) } ?? sha256Hex(canonicalOf: .object(fields))) },
            sourcePath: m.source.file,
            blobID: blobIDs[m.source.file],
            stall: stall,
            auditDetail: m.kind == .tenant && m.metadata.annotations[TenantRecord.migrateRegionAnnotation] == "true"
                ? ["migrateRegion": .bool(true)] : [:])
    }

    /// The manifest as canonical JSON: apiVersion, kind, metadata, spec.
    public static func canonical(_ m: Manifest) -> JSONValue {
        var metadata: [String: JSONValue] = ["name": .string(m.metadata.name)]
        if let tenant = m.metadata.tenant { metadata["tenant"] = .string(tenant) }
        if !m.metadata.labels.isEmpty { metadata["labels"] = .object(m.metadata.labels.mapValues { .string($0) }) }
        if !m.metadata.annotations.isEmpty { metadata["annotations"] = .object(m.metadata.annotations.mapValues { .string($0) }) }
        let spec: JSONValue = switch m.spec {
        case .tenant(let s): TenantRecord.spec(s)
        case .worker(let s): WorkerRecord.spec(s)
        case .workflow(let s): WorkflowRecord.spec(s)
        case .retentionPolicy(let s): RetentionPolicyRecord.spec(s)
        case .model(let s): ModelRecord.spec(s)
        case .erasure(let s): ErasureRecord.spec(s)
        case .store(let s): StoreRecord.spec(s)
        case .notification(let s): NotificationRecord.spec(s)
        }
        return .object([
            "apiVersion": .string("accord.dev/v1"), "kind": .string(m.kind.rawValue),
            "metadata": .object(metadata), "spec": spec,
        ])
    }

    public static func manifestHash(_ m: Manifest) -> String {
        if let bytes = canonicalBytes(m) { return sha256Hex(bytes: bytes) }
        return sha256Hex(canonicalOf: canonical(m))
    }

    /// `canonical(m)`'s bytes written without the tree, for the kinds most
    /// manifests are (workers); nil for the others. Tested against the tree.
    static func canonicalBytes(_ m: Manifest) -> [UInt8]? {
        guard case .worker(let spec) = m.spec else { return nil }
        var w = CanonicalObject(capacity: 384)
        w.string("apiVersion", "accord.dev/v1")
        w.string("kind", m.kind.rawValue)
        w.object("metadata") { metadata in
            if !m.metadata.annotations.isEmpty { metadata.value("annotations", .object(m.metadata.annotations.mapValues { .string($0) })) }
            if !m.metadata.labels.isEmpty { metadata.value("labels", .object(m.metadata.labels.mapValues { .string($0) })) }
            metadata.string("name", m.metadata.name)
            if let tenant = m.metadata.tenant { metadata.string("tenant", tenant) }
        }
        w.object("spec") { WorkerRecord.writeSpec(spec, &$0) }
        return w.finished()
    }
}

public func sha256Hex(_ text: String) -> String {
    sha256Hex(joining: text)
}

/// SHA-256 (hex) of the texts' UTF-8 bytes one after the other, hashed in
/// place: the same digest as of their concatenation, without making it.
public func sha256Hex(joining texts: String...) -> String {
    var hasher = SHA256()
    for var text in texts {
        text.withUTF8 { hasher.update(bufferPointer: UnsafeRawBufferPointer($0)) }
    }
    return hex(hasher.finalize())
}

public func sha256Hex(bytes: [UInt8]) -> String {
    hex(SHA256.hash(data: bytes))
}

/// SHA-256 (hex) of a value's canonical JSON.
public func sha256Hex(canonicalOf value: JSONValue) -> String {
    var bytes: [UInt8] = []
    bytes.reserveCapacity(512)
    value.write(to: &bytes)
    return hex(SHA256.hash(data: bytes))
}

/// A digest in hex, from its bytes in place (a counted collection: the hex
/// is written straight into the string).
func hex(_ digest: SHA256Digest) -> String {
    digest.withUnsafeBytes { Hex.encode($0) }
}

/// The Merkle root over the manifest hashes of a revision. Leaves are the
/// 32-byte digests, put in 4,096 buckets by their first 12 bits (the first
/// three hex digits). A bucket's root
/// is the Merkle tree of its leaves in sorted order: each level hashes
/// neighbours together, SHA-256(left ‖ right), and an odd last node moves
/// up unchanged. The revision's root is the same tree over the roots of
/// the non-empty buckets in bucket order. The root of no manifests is
/// SHA-256 of nothing. The buckets let an incremental pass recompute only
/// the buckets its changes fall in.
public enum Merkle {
    public static func root(_ hexHashes: [String]) -> String {
        combine(bucketRoots(hexHashes))
    }

    /// Each non-empty bucket's root (hex), by bucket.
    public static func bucketRoots(_ hexHashes: [String]) -> [Int: String] {
        var leaves: [Node] = []
        leaves.reserveCapacity(hexHashes.count)
        for h in hexHashes { if let leaf = Node(hex: h) { leaves.append(leaf) } }
        // Sorted whole, each bucket's leaves lie together and in order.
        leaves.sort()
        var roots: [Int: String] = [:]
        var start = 0
        while start < leaves.count {
            let bucket = leaves[start].bucket
            var end = start + 1
            while end < leaves.count, leaves[end].bucket == bucket { end += 1 }
            roots[bucket] = tree(leaves[start..<end]).hex
            start = end
        }
        return roots
    }

    /// The bucket a hash falls in.
    public static func bucket(of hexHash: String) -> Int {
        Int(hexHash.prefix(3), radix: 16) ?? 0
    }

    /// The hex prefix every hash of a bucket starts with.
    public static func prefix(of bucket: Int) -> String {
        let hex = String(bucket, radix: 16)
        return String(repeating: "0", count: max(0, 3 - hex.count)) + hex
    }

    /// The revision's root from its buckets' roots.
    public static func combine(_ roots: [Int: String]) -> String {
        let ordered = roots.keys.sorted().compactMap { Node(hex: roots[$0]!) }
        return ordered.isEmpty ? Hex.encode(SHA256.hash(data: [UInt8]())) : tree(ordered[...]).hex
    }

    /// Pairwise SHA-256 levels over nodes in the given order.
    static func tree(_ nodes: ArraySlice<Node>) -> Node {
        var level = Array(nodes)
        while level.count > 1 {
            var next: [Node] = []
            next.reserveCapacity((level.count + 1) / 2)
            var i = 0
            while i < level.count {
                next.append(i + 1 < level.count ? Node.hash(level[i], level[i + 1]) : level[i])
                i += 2
            }
            level = next
        }
        return level[0]
    }

    /// A SHA-256 value as four big-endian words, so that it orders as its
    /// bytes do and a pair is hashed from the stack, without an array.
    struct Node: Comparable {
        var w0: UInt64, w1: UInt64, w2: UInt64, w3: UInt64

        /// 64 hex digits (either case); nil for any other length.
        init?(hex: String) {
            var hex = hex
            guard let words = hex.withUTF8({ digits -> (UInt64, UInt64, UInt64, UInt64)? in
                guard digits.count == 64 else { return nil }
                func word(_ w: Int) -> UInt64 {
                    var v: UInt64 = 0
                    for c in digits[(w * 16)..<(w * 16 + 16)] {
                        v = v << 4 | UInt64(c <= 57 ? c &- 48 : (c | 0x20) &- 87)
                    }
                    return v
                }
                return (word(0), word(1), word(2), word(3))
            }) else { return nil }
            (w0, w1, w2, w3) = words
        }

        init(digest: SHA256.Digest) {
            var words: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
            digest.withUnsafeBytes { bytes in
                withUnsafeMutableBytes(of: &words) { $0.copyMemory(from: bytes) }
            }
            (w0, w1, w2, w3) = (UInt64(bigEndian: words.0), UInt64(bigEndian: words.1),
                                UInt64(bigEndian: words.2), UInt64(bigEndian: words.3))
        }

        /// SHA-256(left ‖ right).
        static func hash(_ left: Node, _ right: Node) -> Node {
            var pair = (left.w0.bigEndian, left.w1.bigEndian, left.w2.bigEndian, left.w3.bigEndian,
                        right.w0.bigEndian, right.w1.bigEndian, right.w2.bigEndian, right.w3.bigEndian)
            return withUnsafeBytes(of: &pair) { Node(digest: SHA256.hash(data: $0)) }
        }

        /// The first 12 bits: the bucket.
        var bucket: Int { Int(w0 >> 52) }

        var hex: String {
            var words = (w0.bigEndian, w1.bigEndian, w2.bigEndian, w3.bigEndian)
            return withUnsafeBytes(of: &words) { Hex.encode($0) }
        }

        static func < (a: Node, b: Node) -> Bool {
            (a.w0, a.w1, a.w2, a.w3) < (b.w0, b.w1, b.w2, b.w3)
        }
    }
}
