import AccordTestSupport
import Foundation

/// A hostile change to the example platform's repository, and what
/// `accordctl diff` and `apply` must say about it.
struct HostileRepository: Sendable, CustomStringConvertible {
    let description: String
    var files: [String: Data] = [:]
    /// Symbolic links: path in the repository → target.
    var links: [String: String] = [:]
    var arguments: [String] = []
    /// Exit status of both commands: 2 (refused) unless the input is harmless.
    var status: Int32 = 2
    /// Fragments the output (stdout and stderr) must hold, places included.
    var expected: [String]
    /// Text that must never appear in the output.
    var forbidden: [String] = []

    init(_ description: String, files: [String: Data] = [:], links: [String: String] = [:], arguments: [String] = [],
         status: Int32 = 2, expected: [String], forbidden: [String] = []) {
        self.description = description
        self.files = files
        self.links = links
        self.arguments = arguments
        self.status = status
        self.expected = expected
        self.forbidden = forbidden
    }

    init(_ description: String, file: String, _ text: String, expected: [String], forbidden: [String] = []) {
        self.init(description, files: [file: Data(text.utf8)], expected: expected, forbidden: forbidden)
    }

    /// The example platform with this change committed on top.
    func fixture() throws -> GitFixture {
        let fx = try GitFixture(copying: CLITests.root.appendingPathComponent("examples/platform"))
        for (path, data) in files { try fx.write(path, data) }
        for (path, target) in links {
            try FileManager.default.createDirectory(at: fx.root.appendingPathComponent(path).deletingLastPathComponent(),
                                                    withIntermediateDirectories: true)
            try fx.symlink(path, to: target)
        }
        try fx.commit("hostile: \(description)")
        return fx
    }
}
