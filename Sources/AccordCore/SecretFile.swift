import AccordCore
import Foundation

/// A file that holds a secret (a key, a password, a store's credentials):
/// read only when no one but its owner can read it, like ssh refuses a
/// private key others can read. Errors name the file and its mode, never
/// what it holds.
public enum SecretFile {
    public struct Refused: Error, CustomStringConvertible, Sendable {
        public let description: String
    }

    /// The file's bytes; refused when missing, unreadable, not a regular
    /// file, or readable or writable by its group or others.
    public static func read(_ path: String) throws -> [UInt8] {
        var info = stat()
        guard stat(path, &info) == 0 else {
            throw Refused(description: "cannot read \(Text.quoted(path, limit: 200)): \(String(cString: strerror(errno)))")
        }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            throw Refused(description: "\(Text.quoted(path, limit: 200)) is not a regular file")
        }
        let mode = info.st_mode & 0o777
        if mode & 0o077 != 0 {
            throw Refused(description: "\(Text.quoted(path, limit: 200)) has mode \(String(mode, radix: 8, uppercase: false).leftPadded(to: 4)), readable or writable by its group or others; make it 0600 (chmod 600) or 0400")
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw Refused(description: "cannot read \(Text.quoted(path, limit: 200))")
        }
        return Array(data)
    }

    /// The file's text, trimmed of surrounding whitespace.
    public static func text(_ path: String) throws -> String {
        String(decoding: try read(path), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// The credentials file of a Store: `name` under `directory`
    /// (`ACCORD_SECRETS_DIR`); `name` is a plain file name (the manifest
    /// checks it), never a path.
    public static func credentials(_ name: String, in directory: String?, store: String) throws -> String {
        guard let directory, !directory.isEmpty else {
            throw Refused(description: "Store/\(store) names credentials \(Text.quoted(name)), but no secrets directory is configured (ACCORD_SECRETS_DIR or --secrets-dir)")
        }
        guard !name.contains("/"), !name.hasPrefix(".") else {
            throw Refused(description: "Store/\(store): credentials \(Text.quoted(name)) is not a plain file name")
        }
        let text = try Self.text((directory as NSString).appendingPathComponent(name))
        guard !text.isEmpty else { throw Refused(description: "Store/\(store): the credentials file \(Text.quoted(name)) is empty") }
        return text
    }
}

extension String {
    func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
