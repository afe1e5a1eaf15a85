import AccordCore
import AccordEngine
import Foundation

/// What an offline diff (`accordctl diff --against BASE`) needs to know of
/// a whole revision without reading it: every object's identity, file and
/// references, the production version of each Model, each Tenant's region
/// and whether it is suspended (what other objects' rows derive from).
/// Keyed by the revision's tree (`RevisionSource.treeDigest`, which names
/// the `--path` subtree and the desired-state format) and the binary's
/// version; kept on disk under the cache directory (`diff-index/`), built
/// once per tree from a full read, written atomically (a temporary file
/// renamed into place, so concurrent runs each leave a whole file), and
/// verified by its key, its object count and a SHA-256 of its body when
/// read: a damaged or foreign file is ignored (and replaced), never
/// trusted.
public struct DiffIndex: Sendable, Equatable {
    public struct Entry: Sendable, Equatable {
        public let id: ObjectID
        public let path: String
        public let references: [ObjectID]
        /// A Model's production version.
        public let production: String?
        /// A Tenant's region.
        public let region: String?
        /// A suspended Tenant.
        public let suspended: Bool

        public init(id: ObjectID, path: String, references: [ObjectID], production: String?, region: String?, suspended: Bool) {
            self.id = id
            self.path = path
            self.references = references
            self.production = production
            self.region = region
            self.suspended = suspended
        }

        /// A desired object's entry.
        public init(_ d: DesiredObject) {
            self.init(id: d.id, path: d.sourcePath, references: References.of(d.record),
                      production: d.id.kind == .model ? d.record["production_version"].stringValue : nil,
                      region: d.id.kind == .tenant ? d.record["region"].stringValue : nil,
                      suspended: d.id.kind == .tenant && d.record["status"] == .string("suspended"))
        }
    }

    public let key: String
    public let entries: [Entry]

    public init(key: String, entries: [Entry]) {
        self.key = key
        self.entries = entries
    }


    /// The index of a revision read whole.
    public init(key: String, desired: [DesiredObject]) {
        self.init(key: key, entries: desired.map(Entry.init))
    }

    /// Files the revision's objects are written in.
    public var fileCount: Int { Set(entries.map(\.path)).count }

    static let magic = "accord-diff-index 2"

    // MARK: encoding

    /// A header line (magic, key, count); then for each run of entries of
    /// one file a line `F<TAB>path` and a line per entry: kind, tenant,
    /// name, production version, region, flags (`s` suspended, `T` its
    /// first reference is its own tenant, not written), then each
    /// reference's kind, tenant and name; then the body's SHA-256. Fields
    /// escape tab, newline, carriage return and backslash.
    public func encoded() -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(entries.count * 80 + 256)
        Self.header(key: key, count: entries.count, into: &out)
        Self.append(entries, into: &out)
        out.append(contentsOf: "sha256 \(sha256Hex(bytes: out))\n".utf8)
        return out
    }

    static func header(key: String, count: Int, into out: inout [UInt8]) {
        out.append(contentsOf: (escape(magic) + "\t" + escape(key) + "\t" + String(count) + "\n").utf8)
    }

    /// A field as written: escaped when it holds a tab, newline, carriage return or backslash.
    static func escapedField(_ s: String) -> String {
        s.utf8.contains(where: { $0 == 9 || $0 == 10 || $0 == 13 || $0 == 92 }) ? escape(s) : s
    }

    static func append(_ entries: [Entry], into out: inout [UInt8]) {
        func field(_ s: String) { out.append(contentsOf: escapedField(s).utf8) }
        func tab() { out.append(9) }
        func newline() { out.append(10) }
        func id(_ id: ObjectID) {
            field(id.kind.rawValue); tab(); field(id.tenant ?? ""); tab(); field(id.name)
        }
        var path: String?
        for e in entries {
            if e.path != path {
                out.append(UInt8(ascii: "F")); tab(); field(e.path); newline()
                path = e.path
            }
            var references = e.references[...]
            let ownTenant = e.id.tenant.map { ObjectID(kind: .tenant, name: $0) }
            let elided = ownTenant != nil && references.first == ownTenant
            if elided { references = references.dropFirst() }
            id(e.id); tab(); field(e.production ?? ""); tab(); field(e.region ?? ""); tab()
            if e.suspended { out.append(UInt8(ascii: "s")) }
            if elided { out.append(UInt8(ascii: "T")) }
            for r in references { tab(); id(r) }
            newline()
        }
    }

    /// The body of an encoded index (through its last entry's newline)
    /// when its last line is the SHA-256 of that body; nil otherwise.
    static func verifiedBody(_ bytes: [UInt8]) -> Int? {
        guard bytes.last == 10, let cut = bytes.dropLast().lastIndex(of: 10) else { return nil }
        guard String(decoding: bytes[(cut + 1)...].dropLast(), as: UTF8.self) == "sha256 \(sha256Hex(bytes: Array(bytes[...cut])))" else {
            return nil
        }
        return cut
    }

    /// The index in `bytes` if it is whole, of `key`, and undamaged; nil otherwise.
    public static func decode(_ bytes: [UInt8], key: String) -> DiffIndex? {
        File(bytes, key: key)?.decoded()
    }

    /// One entry line's fields (`encoded()`), of the file `path`.
    static func entry(_ f: [String], path: String) -> Entry? {
        guard f.count >= 6, f.count % 3 == 0, let id = id(f[0], f[1], f[2]) else { return nil }
        var references: [ObjectID] = []
        references.reserveCapacity(f.count / 3 - 1)
        let flags = f[5]
        if flags.contains("T") {
            guard let tenant = id.tenant else { return nil }
            references.append(ObjectID(kind: .tenant, name: tenant))
        }
        var i = 6
        while i < f.count {
            guard let r = Self.id(f[i], f[i + 1], f[i + 2]) else { return nil }
            references.append(r)
            i += 3
        }
        return Entry(id: id, path: path, references: references, production: f[3].isEmpty ? nil : f[3],
                     region: f[4].isEmpty ? nil : f[4], suspended: flags.contains("s"))
    }

    /// Lines of tab-separated, escaped fields.
    struct Reader {
        let bytes: UnsafeBufferPointer<UInt8>
        var at = 0

        mutating func line() -> [String]? {
            guard at < bytes.count else { return nil }
            var fields: [String] = []
            var start = at
            var escaped = false
            while at < bytes.count {
                let b = bytes[at]
                if b == 9 || b == 10 {
                    let raw = UnsafeBufferPointer(rebasing: bytes[start..<at])
                    fields.append(escaped ? DiffIndex.unescape(Substring(String(decoding: raw, as: UTF8.self))) : String(decoding: raw, as: UTF8.self))
                    escaped = false
                    at += 1
                    start = at
                    if b == 10 { return fields }
                } else {
                    if b == 92 { escaped = true }
                    at += 1
                }
            }
            return nil // a last line without its newline
        }
    }

    static func id(_ kind: String, _ tenant: String, _ name: String) -> ObjectID? {
        guard let k = Kind(rawValue: kind), !name.isEmpty, k.isTenantScoped != tenant.isEmpty else { return nil }
        return ObjectID(kind: k, tenant: tenant.isEmpty ? nil : tenant, name: name)
    }

    /// Tabs, newlines, carriage returns and backslashes written as `\t`, `\n`, `\r`, `\\`.
    static func escape(_ s: String) -> String {
        // By scalar: "\r\n" is one Character.
        var out = String.UnicodeScalarView()
        for c in s.unicodeScalars {
            switch c {
            case "\t": out.append(contentsOf: "\\t".unicodeScalars)
            case "\n": out.append(contentsOf: "\\n".unicodeScalars)
            case "\r": out.append(contentsOf: "\\r".unicodeScalars)
            case "\\": out.append(contentsOf: "\\\\".unicodeScalars)
            default: out.append(c)
            }
        }
        return String(out)
    }

    static func unescape(_ s: Substring) -> String {
        var out = String.UnicodeScalarView()
        var escaped = false
        for c in s.unicodeScalars {
            if escaped {
                switch c {
                case "t": out.append("\t")
                case "n": out.append("\n")
                case "r": out.append("\r")
                default: out.append(c)
                }
                escaped = false
            } else if c == "\\" {
                escaped = true
            } else {
                out.append(c)
            }
        }
        return String(out)
    }

    // MARK: on disk

    /// The file of `key` under `directory`: named by the key's SHA-256.
    public static func file(_ key: String, in directory: String) -> String {
        directory + "/diff-index/" + sha256Hex(key) + ".idx"
    }

    /// The stored index of `key`, when there is one that verifies.
    public static func load(_ key: String, from directory: String) -> File? {
        guard let data = FileManager.default.contents(atPath: file(key, in: directory)) else { return nil }
        return File(Array(data), key: key)
    }

    /// Stores the index: a temporary file of this process renamed over the
    /// index's name, so a reader sees an old whole file or a new one.
    public func store(in directory: String) throws {
        try Self.store(encoded(), key: key, in: directory)
    }

    /// Stores an encoded index of `key` (`encoded()`) the same way.
    public static func store(_ bytes: [UInt8], key: String, in directory: String) throws {
        let path = file(key, in: directory)
        let folder = (path as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let temporary = folder + "/.\(ProcessInfo.processInfo.processIdentifier)-\(UUID().uuidString).tmp"
        guard FileManager.default.createFile(atPath: temporary, contents: Data(bytes)) else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: temporary])
        }
        guard rename(temporary, path) == 0 else {
            let code = errno
            try? FileManager.default.removeItem(atPath: temporary)
            throw POSIXError(POSIXErrorCode(rawValue: code) ?? .EIO)
        }
    }
}
