import AccordCore
import AccordManifests
import Foundation
import Testing

/// The hostile-input corpus of `Tests/Corpus/hostile/`: one file per case,
/// its first line says what it tries, and its `# expect:` lines the exact
/// errors it gives (`LINE:COL: message`), or `# expect: valid` for input
/// that looks dangerous but is legal and must be read as data.
@Suite struct HostileCorpusTests {
    static let directory = packageRoot.appendingPathComponent("Tests/Corpus/hostile")

    static func caseFiles() -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? [])
            .filter { $0.hasSuffix(".yaml") }.sorted()
    }

    /// The `# expect:` lines of a case file (read as bytes: the rest of the
    /// file may be anything).
    static func expectations(_ bytes: [UInt8]) -> [String] {
        bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
            .map { String(decoding: $0, as: UTF8.self) }
            .filter { $0.hasPrefix("# expect: ") }
            .map { String($0.dropFirst(10)) }
    }

    @Test func corpusHoldsTheCasesOfEveryFamily() {
        let names = Self.caseFiles()
        #expect(names.count >= 90)
        for family in ["alias-bomb", "deep-", "tag-", "merge-key", "duplicate-key", "sql-", "email-", "control-", "nul-", "homoglyph-", "crlf-"] {
            #expect(names.contains { $0.hasPrefix(family) }, "no \(family) case")
        }
    }

    @Test(arguments: caseFiles())
    func caseGivesExactlyItsExpectedErrors(_ name: String) throws {
        let bytes = Array(try Data(contentsOf: Self.directory.appendingPathComponent(name)))
        let expected = Self.expectations(bytes)
        try #require(!expected.isEmpty, "\(name) has no # expect: line")
        let set = ManifestSet.load([SourceFile(path: name, content: .bytes(bytes))])
        if expected == ["valid"] {
            #expect(set.diagnostics.map(\.description) == [])
            #expect(set.isValid)
        } else {
            #expect(set.diagnostics.map(\.description) == expected.map { "\(name):\($0)" })
            #expect(set.manifests.isEmpty || !set.isValid, "an invalid file yields nothing to apply")
        }
    }
}
