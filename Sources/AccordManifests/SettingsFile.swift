import AccordCore
import Foundation

/// The YAML files Accord reads from outside the repository — the
/// verification policy (SPEC §10), the regions file (SPEC §9) — read the
/// same way: one document, every field checked, each problem at its
/// place, all of them reported at once.
public struct SettingsFileReader {
    public let file: String
    public var diagnostics: [Diagnostic] = []

    public init(file: String) {
        self.file = file
    }

    /// The file's one document, or the diagnostics that say why there is none.
    public static func document(_ path: String, what: String) -> Result<YAMLNode, SettingsFileError> {
        guard let data = FileManager.default.contents(atPath: path) else {
            return .failure(SettingsFileError(what: what, diagnostics: [Diagnostic(.start(of: path), "cannot read the \(what)")]))
        }
        let read = YAMLReader.read(Array(data), file: path)
        if !read.diagnostics.isEmpty { return .failure(SettingsFileError(what: what, diagnostics: read.diagnostics)) }
        guard read.documents.count == 1, let root = read.documents.first else {
            return .failure(SettingsFileError(what: what, diagnostics: [
                Diagnostic(.start(of: path), "the \(what) must be one YAML document, not \(read.documents.count)"),
            ]))
        }
        return .success(root)
    }

    public func position(_ node: YAMLNode) -> SourcePosition {
        SourcePosition(file: file, line: node.line, column: node.column)
    }

    public mutating func error(_ node: YAMLNode, _ path: String, _ message: String) {
        diagnostics.append(Diagnostic(position(node), path.isEmpty ? message : "\(path): \(message)"))
    }

    public mutating func mapping(_ node: YAMLNode, _ path: String, allowed: [String]?) -> [String: YAMLNode]? {
        guard let pairs = orderedMapping(node, path, allowed: allowed) else { return nil }
        return Dictionary(pairs.map { ($0.key, $0.value) }, uniquingKeysWith: { a, _ in a })
    }

    /// A mapping's pairs in file order (each key once; unknown keys
    /// reported when `allowed` is given).
    public mutating func orderedMapping(_ node: YAMLNode, _ path: String, allowed: [String]?) -> [(key: String, keyNode: YAMLNode, value: YAMLNode)]? {
        guard case .mapping(let pairs) = node.content else {
            error(node, path, "must be a mapping; got \(node.typeName)")
            return nil
        }
        var out: [(key: String, keyNode: YAMLNode, value: YAMLNode)] = []
        var seen = Set<String>()
        for pair in pairs {
            guard let key = pair.key.scalarText else {
                error(pair.key, path, "keys must be strings")
                continue
            }
            let at = path.isEmpty ? key : "\(path).\(key)"
            if let allowed, !allowed.contains(key) {
                error(pair.key, at, "unknown field; the fields are \(allowed.joined(separator: ", "))")
                continue
            }
            guard seen.insert(key).inserted else {
                error(pair.key, at, "duplicate key")
                continue
            }
            out.append((key, pair.key, pair.value))
        }
        return out
    }

    public mutating func string(_ node: YAMLNode, _ path: String) -> String? {
        guard case .string(let s)? = node.scalar, !s.isEmpty else {
            error(node, path, "must be a non-empty string; got \(node.typeName)")
            return nil
        }
        return s
    }

    public mutating func list(_ node: YAMLNode, _ path: String) -> [YAMLNode]? {
        guard case .sequence(let items) = node.content else {
            error(node, path, "must be a list; got \(node.typeName)")
            return nil
        }
        return items
    }
}

/// Reads the regions file (SPEC §9): `control` and `regions` each name a
/// file holding a database URL; `timeout` optionally bounds a region's
/// statements. The URL files are read when the databases are opened
/// (`RegionDatabases`), so their secrets never pass through here.
public enum RegionsFileParser {
    public static func load(file path: String) throws -> RegionsFile {
        let root: YAMLNode
        switch SettingsFileReader.document(path, what: "regions file") {
        case .success(let node): root = node
        case .failure(let error): throw error
        }
        var reader = SettingsFileReader(file: path)
        let file = parse(root, &reader, directory: URL(fileURLWithPath: path).deletingLastPathComponent().path)
        guard let file, reader.diagnostics.isEmpty else {
            throw SettingsFileError(what: "regions file", diagnostics: reader.diagnostics.sorted())
        }
        return file
    }

    static func parse(_ root: YAMLNode, _ reader: inout SettingsFileReader, directory: String) -> RegionsFile? {
        guard let fields = reader.mapping(root, "", allowed: ["control", "regions", "timeout"]) else { return nil }
        func entry(_ node: YAMLNode, _ path: String) -> RegionsFile.Entry? {
            guard let f = reader.mapping(node, path, allowed: ["databaseUrlFile"]) else { return nil }
            guard let fileNode = f["databaseUrlFile"] else {
                reader.error(node, path, "missing required field \"databaseUrlFile\" (a file holding the database's URL)")
                return nil
            }
            guard let name = reader.string(fileNode, "\(path).databaseUrlFile") else { return nil }
            let full = name.hasPrefix("/") ? name : directory + "/" + name
            return RegionsFile.Entry(urlFile: full, position: reader.position(fileNode))
        }
        var control: RegionsFile.Entry?
        if let node = fields["control"] {
            control = entry(node, "control")
        } else {
            reader.error(root, "", "missing required field \"control\" (the database of Accord's own schema and the platform registry)")
        }
        var regions: [Region: RegionsFile.Entry] = [:]
        if let node = fields["regions"] {
            let pairs = reader.orderedMapping(node, "regions", allowed: nil) ?? []
            if pairs.isEmpty, case .mapping = node.content {
                reader.error(node, "regions", "names no region; give at least one of \(Region.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            for pair in pairs {
                guard let region = Region(rawValue: pair.key) else {
                    reader.error(pair.keyNode, "regions.\(pair.key)",
                                 "unknown region \(Text.quoted(pair.key, limit: 40)); the regions are \(Region.allCases.map(\.rawValue).joined(separator: ", "))")
                    continue
                }
                if let e = entry(pair.value, "regions.\(pair.key)") { regions[region] = e }
            }
        } else {
            reader.error(root, "", "missing required field \"regions\" (each region's database)")
        }
        var timeout = RegionsFile.defaultTimeoutSeconds
        if let node = fields["timeout"], let text = reader.string(node, "timeout") {
            if let seconds = Patterns.durationSeconds(text) {
                timeout = Double(seconds)
            } else {
                reader.error(node, "timeout", "must be a duration such as 30s or 2m; got \(Text.quoted(text, limit: 40))")
            }
        }
        guard let control else { return nil }
        return RegionsFile(file: reader.file, control: control, regions: regions, timeoutSeconds: timeout)
    }
}
