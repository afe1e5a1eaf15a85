import Foundation

/// Secret files for tests: written with the mode Accord requires of them
/// (0600, only the owner reads), or with another mode to see it refused.
public enum SecretFixture {
    /// Writes `data` to `url` and sets its mode.
    public static func write(_ data: Data, to url: URL, mode: Int = 0o600) throws {
        try data.write(to: url)
        try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: url.path)
    }

    public static func write(_ text: String, to url: URL, mode: Int = 0o600) throws {
        try write(Data(text.utf8), to: url, mode: mode)
    }

    /// A fresh directory only its owner can enter.
    public static func directory(_ prefix: String) throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        return dir
    }
}
