import AccordCore
import AccordEngine
import AccordManifests
import Foundation
import Testing

/// The example platform as path → YAML text, edited by tests and turned
/// into desired objects the way `accordctl` does.
struct Manifests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    var files: [String: String]

    static func examples() throws -> Manifests {
        let base = root.appendingPathComponent("examples/platform")
        var files: [String: String] = [:]
        let enumerator = FileManager.default.enumerator(at: base, includingPropertiesForKeys: nil)!
        for case let url as URL in enumerator where url.pathExtension == "yaml" {
            let path = String(url.path.dropFirst(base.path.count + 1))
            files[path] = try String(contentsOf: url, encoding: .utf8)
        }
        return Manifests(files: files)
    }

    /// Replaces exactly one occurrence of `old` in `path`.
    mutating func edit(_ path: String, _ old: String, _ new: String) {
        let text = files[path]!
        precondition(text.components(separatedBy: old).count == 2, "\(old) must occur once in \(path)")
        files[path] = text.replacingOccurrences(of: old, with: new)
    }

    func desired() throws -> [DesiredObject] {
        let set = ManifestSet.load(files.map { SourceFile(path: $0.key, content: .bytes(Array($0.value.utf8))) })
        guard set.isValid else { throw Invalid(description: set.diagnostics.map(\.description).joined(separator: "\n")) }
        return DesiredState.build(set.manifests)
    }

    struct Invalid: Error, CustomStringConvertible { let description: String }
}
