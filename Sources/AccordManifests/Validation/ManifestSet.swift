import AccordCore

/// The desired state read from one revision of a manifests repository, with
/// every problem found in it. A set with any diagnostic must not be applied.
public struct ManifestSet: Sendable {
    /// Valid objects, sorted by identity.
    public let manifests: [Manifest]
    /// All problems, sorted by file, line and column.
    public let diagnostics: [Diagnostic]
    /// Manifest files read.
    public let fileCount: Int

    public var isValid: Bool { diagnostics.isEmpty }

    /// Reads, decodes and validates the given files.
    /// Files are read on every core (each file is independent); the
    /// cross-file checks run once all are decoded.
    public static func load(_ files: [SourceFile]) -> ManifestSet {
        load(files, outside: [])
    }

    /// Validates a subset of a repository's files: references to `outside`
    /// identities (defined in the files not given) hold.
    public static func load(_ files: [SourceFile], outside: Set<ObjectID>) -> ManifestSet {
        var diagnostics: [Diagnostic] = []
        let parts = ParallelMap.run(files.sorted(by: { $0.path.utf8Precedes($1.path) }), read)
        for part in parts { diagnostics += part.diagnostics }
        // Each file's documents stay in their file's list: one list of
        // 113,500 documents would copy (and release) every one of them on
        // one core.
        let read = parts.map(\.documents)
        // The identities' index and their sort are each one core's work: side by side.
        let ((known, duplicates), manifests) = ParallelMap.both({ ReferenceCheck.index(read, outside: outside) },
                                                                { sortedByIdentity(read) })
        diagnostics += duplicates
        diagnostics += ReferenceCheck.check(read, known)
        return ManifestSet(manifests: manifests, diagnostics: diagnostics.sorted(), fileCount: files.count)
    }

    /// The documents' manifests (each file's, files in path order) in
    /// identity order. Sorted through their identities (moving large values
    /// costs more than comparing), kind by kind: within a kind, files read
    /// in path order mostly already give identity order, runs the sort
    /// finds and merges.
    static func sortedByIdentity(_ files: [[DecodedDocument]]) -> [Manifest] {
        var byKind: [Kind: [(ObjectID, file: Int, document: Int)]] = [:]
        var count = 0
        for f in files.indices {
            for d in files[f].indices {
                guard let id = files[f][d].manifest?.id else { continue }
                byKind[id.kind, default: []].append((id, f, d))
                count += 1
            }
        }
        var out: [Manifest] = []
        out.reserveCapacity(count)
        for kind in byKind.keys.sorted() {
            for at in byKind[kind]!.sorted(by: { $0.0 < $1.0 }) { out.append(files[at.file][at.document].manifest!) }
        }
        return out
    }

    /// One file's documents and problems.
    static func read(_ file: SourceFile) -> (diagnostics: [Diagnostic], documents: [DecodedDocument]) {
        switch file.content {
        case .symlink:
            return ([Diagnostic(.start(of: file.path), "is a symbolic link; Accord does not follow symbolic links")], [])
        case .tooLarge(let size):
            return ([Diagnostic(.start(of: file.path),
                "file is \(size) bytes; the limit is \(ManifestLimits.maxFileBytes) bytes (4 MiB)")], [])
        case .bytes(let bytes):
            return read(bytes, file: file.path, decodingWorkers: true)
        }
    }

    /// A file's documents in file order: workers decoded from their events
    /// (`WorkerEvents`) where `decodingWorkers`, the others from their trees.
    static func read(_ bytes: [UInt8], file: String, decodingWorkers: Bool) -> (diagnostics: [Diagnostic], documents: [DecodedDocument]) {
        let yaml = YAMLReader.read(bytes, file: file, decodingWorkers: decodingWorkers)
        var diagnostics = yaml.diagnostics
        var documents: [DecodedDocument] = []
        documents.reserveCapacity(yaml.documents.count + yaml.decoded.count)
        var decoded = yaml.decoded[...]
        for (i, root) in yaml.documents.enumerated() {
            while let next = decoded.first, next.before == i {
                documents.append(next.document)
                decoded = decoded.dropFirst()
            }
            let doc = DocumentDecoder.decode(root, file: file)
            diagnostics += doc.diagnostics
            documents.append(doc)
        }
        documents += decoded.map(\.document)
        return (diagnostics, documents)
    }

    public init(manifests: [Manifest], diagnostics: [Diagnostic], fileCount: Int) {
        self.manifests = manifests
        self.diagnostics = diagnostics
        self.fileCount = fileCount
    }

    /// Objects per kind, in apply order.
    public var countsByKind: [(Kind, Int)] {
        var counts: [Kind: Int] = [:]
        for m in manifests { counts[m.kind, default: 0] += 1 }
        return Kind.allCases.sorted().map { kind in (kind, counts[kind] ?? 0) }
    }
}
