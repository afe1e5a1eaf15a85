import Foundation

/// A real git repository in a temporary directory, built with the git CLI,
/// removed when the fixture goes away.
public final class GitFixture: Sendable {
    public let root: URL

    /// An empty repository, or one holding a copy of `source` (not yet committed).
    public init(copying source: URL? = nil) throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("accord-git-\(UUID().uuidString)")
        if let source {
            try FileManager.default.copyItem(at: source, to: root)
        } else {
            try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        }
        try git("init", "-q", "-b", "main")
    }

    deinit { try? FileManager.default.removeItem(at: root) }

    public func write(_ path: String, _ text: String) throws {
        try write(path, Data(text.utf8))
    }

    public func write(_ path: String, _ data: Data) throws {
        let url = root.appendingPathComponent(path)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try data.write(to: url)
    }

    public func symlink(_ path: String, to target: String) throws {
        try FileManager.default.createSymbolicLink(atPath: root.appendingPathComponent(path).path, withDestinationPath: target)
    }

    @discardableResult
    public func commit(_ message: String) throws -> String {
        try git("add", "-A")
        try git("-c", "user.name=t", "-c", "user.email=t@example.invalid", "commit", "-q", "-m", message)
        return try git("rev-parse", "HEAD")
    }

    @discardableResult
    public func git(_ args: String...) throws -> String {
        try Self.run(["git", "-C", root.path] + args)
    }

    @discardableResult
    public static func run(_ args: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = args
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw FixtureError(description: "\(args.joined(separator: " ")) exited \(process.terminationStatus)")
        }
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// The commit HEAD points at.
    public var head: String {
        get throws { try git("rev-parse", "HEAD") }
    }

    public struct FixtureError: Error, CustomStringConvertible { public let description: String }
}

/// Damage done to a bare mirror by the mirror fault tests.
public enum MirrorDamage {
    /// Removes every object file of the bare repository at `path` (loose and packed): its refs point at nothing.
    public static func deleteObjects(_ path: String) throws {
        let objects = path + "/objects"
        for entry in try FileManager.default.contentsOfDirectory(atPath: objects) where entry != "info" {
            try FileManager.default.removeItem(atPath: objects + "/" + entry)
        }
    }

    /// Copies the loose objects `revisions` name in `source` (whose objects are loose, as
    /// `git commit` writes them) into the bare repository at `path`.
    public static func copyLooseObjects(_ revisions: [String], from source: GitFixture, into path: String) throws {
        for revision in revisions {
            let id = try source.git("rev-parse", revision).trimmingCharacters(in: .whitespacesAndNewlines)
            let dir = path + "/objects/" + id.prefix(2)
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            try FileManager.default.copyItem(atPath: source.root.path + "/.git/objects/" + id.prefix(2) + "/" + id.dropFirst(2),
                                             toPath: dir + "/" + id.dropFirst(2))
        }
    }
}
