import AccordCore
import AccordManifests
import Foundation

/// What `accordctl validate` prints, in each output format.
struct ValidationReport {
    let set: ManifestSet
    let revision: String?
    let listObjects: Bool

    func render(_ format: OutputFormat) -> String {
        switch format {
        case .text: text()
        case .json: json()
        case .markdown: markdown()
        }
    }

    private var revisionNote: String {
        revision.map { " at \($0.prefix(12))" } ?? " (work tree)"
    }

    private var errorFiles: Int { Set(set.diagnostics.map(\.position.file)).count }

    func text() -> String {
        guard set.isValid else {
            let lines = set.diagnostics.map { "\($0)\n" }.joined()
            return lines + "invalid: \(count(set.diagnostics.count, "error")) in \(count(errorFiles, "file"))\(revisionNote)\n"
        }
        var out = "valid: \(count(set.manifests.count, "object")) in \(count(set.fileCount, "file"))\(revisionNote)\n"
        for (kind, n) in set.countsByKind where n > 0 {
            out += "  \(kind.rawValue.padding(toLength: 16, withPad: " ", startingAt: 0))\(n)\n"
        }
        if listObjects {
            for m in set.manifests {
                out += "\(m.id)  \(m.source.file):\(m.source.line)\n"
            }
        }
        return out
    }

    struct JSONReport: Encodable {
        struct Object: Encodable { let kind: String; let tenant: String?; let name: String; let file: String; let line: Int }
        struct Problem: Encodable { let file: String; let line: Int; let column: Int; let message: String }
        let formatVersion = 1
        let valid: Bool
        let revision: String?
        let files: Int
        let objects: [Object]
        let errors: [Problem]
    }

    func json() -> String {
        let report = JSONReport(
            valid: set.isValid, revision: revision, files: set.fileCount,
            objects: set.isValid ? set.manifests.map {
                .init(kind: $0.kind.rawValue, tenant: $0.metadata.tenant, name: $0.metadata.name, file: $0.source.file, line: $0.source.line)
            } : [],
            errors: set.diagnostics.map {
                .init(file: $0.position.file, line: $0.position.line, column: $0.position.column, message: $0.message)
            })
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: (try? encoder.encode(report)) ?? Data(), as: UTF8.self) + "\n"
    }

    /// Fits a pull-request comment: under 60,000 characters, whole lines only.
    func markdown(limit: Int = 60_000) -> String {
        guard !set.isValid else {
            var out = "### ✅ Manifests valid\n\n\(count(set.manifests.count, "object")) in \(count(set.fileCount, "file"))\(revisionNote).\n\n| kind | objects |\n|---|---|\n"
            for (kind, n) in set.countsByKind where n > 0 { out += "| \(kind.rawValue) | \(n) |\n" }
            return out
        }
        let header = "### ❌ Manifests invalid\n\n\(count(set.diagnostics.count, "error")) in \(count(errorFiles, "file"))\(revisionNote). Nothing can be applied until every error is fixed.\n\n| place | problem |\n|---|---|\n"
        var out = header
        for (i, d) in set.diagnostics.enumerated() {
            let row = "| `\(d.position)` | \(Self.escapeCell(d.message)) |\n"
            let rest = set.diagnostics.count - i
            let footer = "\n…and \(count(rest, "more error")) (run `accordctl validate` for the full list).\n"
            if out.utf8.count + row.utf8.count + footer.utf8.count > limit - 200 {
                return out + footer
            }
            out += row
        }
        return out
    }

    static func escapeCell(_ s: String) -> String {
        s.replacingOccurrences(of: "|", with: "\\|").replacingOccurrences(of: "`", with: "'")
    }

    private func count(_ n: Int, _ noun: String) -> String {
        "\(n) \(noun)\(n == 1 ? "" : "s")"
    }
}
