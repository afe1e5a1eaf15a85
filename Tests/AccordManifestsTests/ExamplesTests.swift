import AccordCore
import AccordManifests
import Foundation
import Testing

/// The shipped examples: `examples/platform` is valid, and each file of
/// `examples/invalid` gives exactly the errors its `# expect:` lines state.
@Suite struct ExamplesTests {
    static let invalidDirectory = packageRoot.appendingPathComponent("examples/invalid")

    static func invalidFiles() -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: invalidDirectory.path)) ?? [])
            .filter { $0.hasSuffix(".yaml") }.sorted()
    }

    @Test func platformIsValid() throws {
        let files = try readTree(packageRoot.appendingPathComponent("examples/platform"))
        let set = ManifestSet.load(files)
        #expect(set.diagnostics.map(\.description) == [])
        let counts = Dictionary(set.countsByKind, uniquingKeysWith: +)
        #expect(counts[.tenant, default: 0] >= 3)
        #expect(counts[.worker, default: 0] >= 6)
        #expect(counts[.workflow, default: 0] >= 2)
        #expect(counts[.model, default: 0] >= 2)
        #expect(counts[.retentionPolicy, default: 0] >= 1)
        #expect(counts[.erasure, default: 0] >= 1)
        let plans = Set(set.manifests.compactMap { m -> TenantPlan? in if case .tenant(let t) = m.spec { t.plan } else { nil } })
        #expect(plans == [.starter, .pro, .enterprise])
    }

    /// The Notification examples (kept apart from the platform, which tests
    /// apply with no receiver to deliver to): valid, one of each type.
    @Test func notificationsAreValid() throws {
        let set = ManifestSet.load(try readTree(packageRoot.appendingPathComponent("examples/notifications")))
        #expect(set.diagnostics.map(\.description) == [])
        let types = set.manifests.compactMap { m -> NotificationSpec.NotificationType? in
            if case .notification(let n) = m.spec { n.type } else { nil }
        }
        #expect(Set(types) == Set(NotificationSpec.NotificationType.allCases))
    }

    @Test func corpusIsThere() {
        #expect(Self.invalidFiles().count >= 30)
    }

    @Test(arguments: invalidFiles())
    func invalidExampleGivesItsExpectedErrors(_ name: String) throws {
        let text = try String(contentsOf: Self.invalidDirectory.appendingPathComponent(name), encoding: .utf8)
        let expected = text.split(separator: "\n").filter { $0.hasPrefix("# expect: ") }.map { "\(name):" + $0.dropFirst(10) }
        #expect(!expected.isEmpty, "\(name) has no # expect: line")
        let set = ManifestSet.load([SourceFile(path: name, content: .bytes(Array(text.utf8)))])
        #expect(set.diagnostics.map(\.description) == expected)
    }

    func readTree(_ root: URL) throws -> [SourceFile] {
        let fm = FileManager.default
        var files: [SourceFile] = []
        for case let path as String in fm.enumerator(atPath: root.path)! where ManifestPaths.isManifestFile((path as NSString).lastPathComponent) {
            let data = try Data(contentsOf: root.appendingPathComponent(path))
            files.append(SourceFile(path: path, content: .bytes(Array(data))))
        }
        return files
    }
}
