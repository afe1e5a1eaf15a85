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

    static let magic = "accord-diff-index 1"

    // MARK: encoding

    /// Header line (magic, key, count), one line per entry, then the body's SHA-256.
    public func encoded() -> [UInt8] {
        var body = ""
        body.reserveCapacity(entries.count * 96)
        body += Self.escape(Self.magic) + "\t" + Self.escape(key) + "\t" + String(entries.count) + "\n"
        for e in entries {
            var fields = Self.fields(e.id)
            fields += [e.path, e.production ?? "", e.region ?? "", e.suspended ? "s" : ""]
            for r in e.references { fields += Self.fields(r) }
            body += fields.map(Self.escape).joined(separator: "\t") + "\n"
        }
        let bytes = Array(body.utf8)
        return bytes + Array("sha256 \(sha256Hex(bytes: bytes))\n".utf8)
    }

    /// The index in `bytes` if it is whole, of `key`, and undamaged; nil otherwise.
    public static func decode(_ bytes: [UInt8], key: String) -> DiffIndex? {
        // The last line is the checksum of everything before it.
        guard bytes.last == UInt8(ascii: "\n"),
              let cut = bytes.dropLast().lastIndex(of: UInt8(ascii: "\n")) else { return nil }
        let body = Array(bytes[...cut])
        guard String(decoding: bytes[(cut + 1)...].dropLast(), as: UTF8.self) == "sha256 \(sha256Hex(bytes: body))" else { return nil }
        var lines = String(decoding: body, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
        guard lines.last == "" else { return nil }
        lines.removeLast()
        guard let header = lines.first.map({ $0.split(separator: "\t", omittingEmptySubsequences: false).map(unescape) }),
              header.count == 3, header[0] == magic, header[1] == key, let count = Int(header[2]), count == lines.count - 1 else { return nil }
        var entries: [Entry] = []
        entries.reserveCapacity(count)
        for line in lines.dropFirst() {
            let f = line.split(separator: "\t", omittingEmptySubsequences: false).map(unescape)
            guard f.count >= 7, (f.count - 7) % 3 == 0, let id = id(f[0], f[1], f[2]) else { return nil }
            var references: [ObjectID] = []
            var i = 7
            while i < f.count {
                guard let r = Self.id(f[i], f[i + 1], f[i + 2]) else { return nil }
                references.append(r)
                i += 3
            }
            entries.append(Entry(id: id, path: f[3], references: references, production: f[4].isEmpty ? nil : f[4],
                                 region: f[5].isEmpty ? nil : f[5], suspended: f[6] == "s"))
        }
        return DiffIndex(key: key, entries: entries)
    }

    static func fields(_ id: ObjectID) -> [String] { [id.kind.rawValue, id.tenant ?? "", id.name] }

    static func id(_ kind: String, _ tenant: String, _ name: String) -> ObjectID? {
        guard let k = Kind(rawValue: kind), !name.isEmpty, k.isTenantScoped != tenant.isEmpty else { return nil }
        return ObjectID(kind: k, tenant: tenant.isEmpty ? nil : tenant, name: name)
    }

    /// Tabs, newlines and backslashes written as `\t`, `\n`, `\\`.
    static func escape(_ s: String) -> String {
        guard s.contains(where: { $0 == "\t" || $0 == "\n" || $0 == "\\" || $0 == "\r" }) else { return s }
        var out = ""
        for c in s {
            switch c {
            case "\t": out += "\\t"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\\": out += "\\\\"
            default: out.append(c)
            }
        }
        return out
    }

    static func unescape(_ s: Substring) -> String {
        guard s.contains("\\") else { return String(s) }
        var out = ""
        var escaped = false
        for c in s {
            if escaped {
                switch c {
                case "t": out += "\t"
                case "n": out += "\n"
                case "r": out += "\r"
                default: out.append(c)
                }
                escaped = false
            } else if c == "\\" {
                escaped = true
            } else {
                out.append(c)
            }
        }
        return out
    }

    // MARK: on disk

    /// The file of `key` under `directory`: named by the key's SHA-256.
    public static func file(_ key: String, in directory: String) -> String {
        directory + "/diff-index/" + sha256Hex(key) + ".idx"
    }

    /// The stored index of `key`, when there is one that verifies.
    public static func load(_ key: String, from directory: String) -> DiffIndex? {
        guard let data = FileManager.default.contents(atPath: file(key, in: directory)) else { return nil }
        return decode(Array(data), key: key)
    }

    /// Stores the index: a temporary file of this process renamed over the
    /// index's name, so a reader sees an old whole file or a new one.
    public func store(in directory: String) throws {
        let path = Self.file(key, in: directory)
        let folder = (path as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let temporary = folder + "/.\(ProcessInfo.processInfo.processIdentifier)-\(UUID().uuidString).tmp"
        guard FileManager.default.createFile(atPath: temporary, contents: Data(encoded())) else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: temporary])
        }
        guard rename(temporary, path) == 0 else {
            let code = errno
            try? FileManager.default.removeItem(atPath: temporary)
            throw POSIXError(POSIXErrorCode(rawValue: code) ?? .EIO)
        }
    }
}
