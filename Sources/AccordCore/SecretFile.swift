import Foundation

/// A file that holds a secret (a key, a password, a store's credentials):
/// read only when no one but its owner can read it, like ssh refuses a
/// private key others can read. Errors name the file and its mode, never
/// what it holds.
///
/// The one allowance is libpq's for its client key: a file owned by root
/// may also be readable (not writable) by its group, which is how
/// Kubernetes mounts a secret for a pod with an `fsGroup` (root, the pod's
/// group, mode 0440). Owned by this process's user, it must be 0600 or
/// stricter; owned by anyone else, it is refused.
public enum SecretFile {
    public struct Refused: Error, CustomStringConvertible, Sendable {
        public let description: String
    }

    /// The file's bytes; refused when missing, unreadable, not a regular
    /// file, or readable or writable by its group or others. Symbolic links
    /// are followed (Kubernetes mounts secrets as links into `..data`): the
    /// mode checked is the file's they lead to.
    public static func read(_ path: String) throws -> [UInt8] {
        var info = stat()
        guard stat(path, &info) == 0 else {
            throw Refused(description: "cannot read \(Text.quoted(path, limit: 200)): \(String(cString: strerror(errno)))")
        }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            throw Refused(description: "\(Text.quoted(path, limit: 200)) is not a regular file")
        }
        if let problem = problem(mode: UInt32(info.st_mode & 0o777), owner: UInt32(info.st_uid), user: UInt32(geteuid())) {
            throw Refused(description: "\(Text.quoted(path, limit: 200)) \(problem)")
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw Refused(description: "cannot read \(Text.quoted(path, limit: 200))")
        }
        return Array(data)
    }

    /// What is wrong with a secret file of `mode` owned by `owner` for a
    /// process running as `user`, or nil when it may be read.
    public static func problem(mode: UInt32, owner: UInt32, user: UInt32) -> String? {
        let octal = String(mode, radix: 8).leftPadded(to: 4)
        if owner == user {
            guard mode & 0o077 == 0 else {
                return "has mode \(octal), readable or writable by its group or others; make it 0600 (chmod 600) or 0400"
            }
            return nil
        }
        guard owner == 0 else {
            return "is owned by uid \(owner), neither this process's user (uid \(user)) nor root"
        }
        guard mode & 0o037 == 0 else {
            return "has mode \(octal), writable by its group or open to others; a file owned by root may be at most 0640"
        }
        return nil
    }

    /// The file's text, trimmed of surrounding whitespace.
    public static func text(_ path: String) throws -> String {
        String(decoding: try read(path), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// The credentials file of a Store: `name` under `directory`
    /// (`ACCORD_SECRETS_DIR`); `name` is a plain file name (the manifest
    /// checks it), never a path.
    public static func credentials(_ name: String, in directory: String?, store: String) throws -> String {
        try named(name, in: directory, object: "Store/\(store)", field: "credentials")
    }

    /// The file a manifest's `field` names under `directory`
    /// (`ACCORD_SECRETS_DIR`), trimmed; refused when empty.
    public static func named(_ name: String, in directory: String?, object: String, field: String) throws -> String {
        guard let directory, !directory.isEmpty else {
            throw Refused(description: "\(object) names \(field) \(Text.quoted(name)), but no secrets directory is configured (ACCORD_SECRETS_DIR or --secrets-dir)")
        }
        guard !name.contains("/"), !name.hasPrefix(".") else {
            throw Refused(description: "\(object): \(field) \(Text.quoted(name)) is not a plain file name")
        }
        let text = try Self.text((directory as NSString).appendingPathComponent(name))
        guard !text.isEmpty else { throw Refused(description: "\(object): the \(field) file \(Text.quoted(name)) is empty") }
        return text
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
