import AccordCore
import AccordEngine
import Foundation

extension DiffIndex {
    /// An index as stored, verified (its checksum, key and object count)
    /// and read lazily: what a diff needs of the objects outside its
    /// changed files is found by one scan of the bytes (`outside`), which
    /// makes strings only for the few objects asked about; an index that
    /// differs in a few files is written by copying the others' bytes
    /// (`encoded(key:replacing:with:)`).
    public struct File: Sendable {
        public let key: String
        public let count: Int
        /// The encoded index, checksum line included.
        let bytes: [UInt8]
        /// Each run of one file's entries: its path and its entry lines.
        let runs: [Run]

        struct Run: Sendable {
            let path: String
            /// The run's `F` line and entry lines.
            let bytes: Range<Int>
            /// Its entry lines.
            let entries: Range<Int>
        }

        /// Runs of files (a file's entries are written together).
        public var fileCount: Int { runs.count }

        /// The index in `bytes` when it is whole, of `key` and undamaged.
        public init?(_ bytes: [UInt8], key: String) {
            guard let cut = DiffIndex.verifiedBody(bytes) else { return nil }
            var runs: [Run] = []
            var count = 0
            var header: [String]?
            let parsed: Bool = bytes.withUnsafeBufferPointer { buffer in
                var reader = Reader(bytes: UnsafeBufferPointer(rebasing: buffer[...cut]))
                header = reader.line()
                var run: (path: String, start: Int, entries: Int)?
                func close(at end: Int) {
                    if let r = run { runs.append(Run(path: r.path, bytes: r.start..<end, entries: r.entries..<end)) }
                }
                while reader.at < reader.bytes.count {
                    let start = reader.at
                    if reader.bytes[start] == UInt8(ascii: "F"), start + 1 < reader.bytes.count, reader.bytes[start + 1] == 9 {
                        guard let f = reader.line(), f.count == 2 else { return false }
                        close(at: start)
                        run = (f[1], start, reader.at)
                    } else {
                        guard run != nil, let end = reader.bytes[start...].firstIndex(of: 10) else { return false }
                        reader.at = end + 1
                        count += 1
                    }
                }
                close(at: reader.at)
                return true
            }
            guard parsed, let header, header.count == 3, header[0] == DiffIndex.magic, header[1] == key,
                  Int(header[2]) == count else { return nil }
            self.key = key
            self.count = count
            self.bytes = bytes
            self.runs = runs
        }

        /// Every entry, decoded.
        public func decoded() -> DiffIndex? {
            bytes.withUnsafeBufferPointer { buffer -> DiffIndex? in
                var entries: [Entry] = []
                entries.reserveCapacity(count)
                for run in runs {
                    var reader = Reader(bytes: UnsafeBufferPointer(rebasing: buffer[run.entries]))
                    while let fields = reader.line() {
                        guard let entry = DiffIndex.entry(fields, path: run.path) else { return nil }
                        entries.append(entry)
                    }
                }
                return DiffIndex(key: key, entries: entries)
            }
        }

        /// What the objects outside some files tell about the identities asked.
        public struct Outside: Sendable {
            /// Of the identities asked, those defined outside the files.
            public var existing: Set<ObjectID> = []
            /// Production versions and suspended tenants among them.
            public var context = DesiredState.Context()
            /// Regions of the tenants among them.
            public var tenantRegions: [String: String] = [:]
            /// Objects outside the files.
            public var kept = 0
        }

        /// One scan over the entries outside the files `changed`: which of
        /// `asked` they define, and what rows derive from; nil when one of
        /// them refers to an identity in `gone`, when a tenant's region is
        /// not among `regions` (when given), or when a line cannot be read.
        public func outside(skipping changed: Set<String>, asked: Set<ObjectID>, gone: Set<ObjectID>, regions: Set<Region>?) -> Outside? {
            var out = Outside()
            var askedByHash: [UInt64: [(ObjectID, [UInt8])]] = [:]
            for id in asked {
                let key = Self.encoded(id)
                askedByHash[Self.hash(key[...]), default: []].append((id, key))
            }
            var goneByHash: [UInt64: [[UInt8]]] = [:]
            var goneTenants: [UInt64: [[UInt8]]] = [:]
            for id in gone {
                let key = Self.encoded(id)
                goneByHash[Self.hash(key[...]), default: []].append(key)
                if id.kind == .tenant {
                    let name = Array(DiffIndex.escapedField(id.name).utf8)
                    goneTenants[Self.hash(name[...]), default: []].append(name)
                }
            }
            let ok: Bool = bytes.withUnsafeBufferPointer { buffer in
                for run in runs where !changed.contains(run.path) {
                    var at = run.entries.lowerBound
                    while at < run.entries.upperBound {
                        guard let end = buffer[at..<run.entries.upperBound].firstIndex(of: 10) else { return false }
                        // The tabs of the line: kind, tenant, name, production, region, flags, references.
                        var tabs: [Int] = []
                        tabs.reserveCapacity(12)
                        var i = at
                        while i < end {
                            if buffer[i] == 9 { tabs.append(i) }
                            i += 1
                        }
                        guard tabs.count >= 5, (tabs.count - 5) % 3 == 0 else { return false }
                        out.kept += 1
                        let idBytes = buffer[at..<tabs[2]]
                        let production = buffer[(tabs[2] + 1)..<tabs[3]]
                        let region = buffer[(tabs[3] + 1)..<tabs[4]]
                        let flags = buffer[(tabs[4] + 1)..<(tabs.count > 5 ? tabs[5] : end)]
                        if !askedByHash.isEmpty, let candidates = askedByHash[Self.hash(idBytes)],
                           let (id, _) = candidates.first(where: { $0.1.elementsEqual(idBytes) }) {
                            out.existing.insert(id)
                            if !production.isEmpty { out.context.production[id.name] = Self.string(production) }
                            if flags.contains(UInt8(ascii: "s")) { out.context.suspendedTenants.insert(id.name) }
                            if !region.isEmpty { out.tenantRegions[id.name] = Self.string(region) }
                        }
                        if let regions, !region.isEmpty, !(Region(rawValue: Self.string(region)).map(regions.contains) ?? false) { return false }
                        if !gone.isEmpty {
                            var r = 5
                            while r + 2 < tabs.count {
                                let reference = buffer[(tabs[r] + 1)..<(r + 3 < tabs.count ? tabs[r + 3] : end)]
                                if let candidates = goneByHash[Self.hash(reference)], candidates.contains(where: { $0.elementsEqual(reference) }) {
                                    return false
                                }
                                r += 3
                            }
                            if flags.contains(UInt8(ascii: "T")), !goneTenants.isEmpty {
                                let tenant = buffer[(tabs[0] + 1)..<tabs[1]]
                                if let candidates = goneTenants[Self.hash(tenant)], candidates.contains(where: { $0.elementsEqual(tenant) }) { return false }
                            }
                        }
                        at = end + 1
                    }
                }
                return true
            }
            return ok ? out : nil
        }

        /// The encoded index of `key` whose entries are this one's but
        /// those of the files `replaced`, then `added`: the bytes
        /// `DiffIndex.encoded()` gives for those entries, the other files'
        /// copied.
        public func encoded(key: String, replacing replaced: Set<String>, with added: [Entry]) -> [UInt8] {
            var kept = 0
            for run in runs where !replaced.contains(run.path) {
                kept += bytes[run.entries].reduce(0) { $0 + ($1 == 10 ? 1 : 0) }
            }
            var out: [UInt8] = []
            out.reserveCapacity(bytes.count + added.count * 80 + 256)
            DiffIndex.header(key: key, count: kept + added.count, into: &out)
            for run in runs where !replaced.contains(run.path) { out.append(contentsOf: bytes[run.bytes]) }
            DiffIndex.append(added, into: &out)
            out.append(contentsOf: "sha256 \(sha256Hex(bytes: out))\n".utf8)
            return out
        }

        /// An identity as its line begins: kind, tenant and name, escaped, between tabs.
        static func encoded(_ id: ObjectID) -> [UInt8] {
            Array((DiffIndex.escapedField(id.kind.rawValue) + "\t" + DiffIndex.escapedField(id.tenant ?? "") + "\t"
                   + DiffIndex.escapedField(id.name)).utf8)
        }

        static func string(_ bytes: Slice<UnsafeBufferPointer<UInt8>>) -> String {
            let s = String(decoding: UnsafeBufferPointer(rebasing: bytes), as: UTF8.self)
            return bytes.contains(92) ? DiffIndex.unescape(s[...]) : s
        }

        /// FNV-1a.
        static func hash<C: Collection>(_ bytes: C) -> UInt64 where C.Element == UInt8 {
            var h: UInt64 = 0xcbf2_9ce4_8422_2325
            for b in bytes {
                h ^= UInt64(b)
                h = h &* 0x0000_0100_0000_01b3
            }
            return h
        }
    }
}
