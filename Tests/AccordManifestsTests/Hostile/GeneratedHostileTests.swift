import AccordCore
import AccordManifests
import Testing

/// Runs the generated hostile inputs: each gives exactly its expected
/// errors, at their places, in bounded time — or is read, when legal.
@Suite struct GeneratedHostileTests {
    /// `?` in an expectation's line or column matches any number.
    static func matches(_ diagnostic: Diagnostic, _ expected: String) -> Bool {
        let parts = expected.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3 else { return false }
        let place = diagnostic.position
        return (parts[0] == "?" || parts[0] == "\(place.line)") && (parts[1] == "?" || parts[1] == "\(place.column)")
            && place.file == HostileInput.file
            && diagnostic.message.hasPrefix(parts[2].drop { $0 == " " })
    }

    @Test(arguments: HostileInput.all)
    func inputGivesItsExpectedErrors(_ input: HostileInput) {
        let set = ManifestSet.load([SourceFile(path: HostileInput.file, content: .bytes(input.make()))])
        let got = set.diagnostics
        #expect(got.count == input.expected.count, "\(got.prefix(5).map(\.description))")
        for (diagnostic, expected) in zip(got, input.expected) {
            #expect(Self.matches(diagnostic, expected), "got \(diagnostic.description.prefix(300))")
            #expect(diagnostic.description.count < 400, "messages stay short whatever the input")
        }
        if input.expected.isEmpty { #expect(set.manifests.count == 1) }
    }

    @Test func familiesAreCovered() {
        #expect(HostileInput.aliasBombs.count >= 8)
        #expect(HostileInput.encodings.count >= 12)
        #expect(HostileInput.all.count >= 40)
    }
}
