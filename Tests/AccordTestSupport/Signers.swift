import Foundation

/// An SSH key made by `ssh-keygen` in a private temporary directory.
public final class SSHTestKey: Sendable {
    public let directory: URL
    public let privateKey: String
    public let type: String

    /// `ed25519`, `ecdsa` (with `bits` 256, 384 or 521) or `rsa` (`bits` ≥ 2048).
    public init(_ type: String, bits: Int? = nil) throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("accord-ssh-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        privateKey = directory.appendingPathComponent("id").path
        self.type = type
        try GitFixture.run(["ssh-keygen", "-q", "-t", type, "-N", "", "-C", "\(type)@test", "-f", privateKey] + (bits.map { ["-b", String($0)] } ?? []))
    }

    deinit { try? FileManager.default.removeItem(at: directory) }

    /// The `.pub` line: `TYPE BASE64 COMMENT`.
    public var publicLine: String {
        get throws { try String(contentsOfFile: privateKey + ".pub", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines) }
    }
}

/// An OpenPGP key made by `gpg` in a private GNUPGHOME.
public final class GPGTestKey: Sendable {
    public let home: URL
    public let fingerprint: String

    /// `fakedTime` (`20200101T000000`) makes a key as of that time, and
    /// `expire` (`1y`, `0` for never) its lifetime: an expired key.
    public init(uid: String = "Release Bot <bot@example.invalid>", expire: String = "0", fakedTime: String? = nil) throws {
        home = FileManager.default.temporaryDirectory.appendingPathComponent("accord-gpg-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: home, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        try GitFixture.run(["gpg", "--homedir", home.path, "--batch", "--passphrase", "", "--pinentry-mode", "loopback"]
                           + (fakedTime.map { ["--faked-system-time", $0] } ?? []) + ["--quick-gen-key", uid, "ed25519", "sign", expire])
        let colons = try GitFixture.run(["gpg", "--homedir", home.path, "--batch", "--with-colons", "--list-keys"])
        fingerprint = colons.split(separator: "\n").first { $0.hasPrefix("fpr:") }.map { String($0.split(separator: ":", omittingEmptySubsequences: false)[9]) } ?? ""
    }

    deinit {
        _ = try? GitFixture.run(["gpgconf", "--homedir", home.path, "--kill", "all"])
        try? FileManager.default.removeItem(at: home)
    }

    /// Writes the armored public key to `path`.
    public func export(to path: String) throws {
        let armored = try GitFixture.run(["gpg", "--homedir", home.path, "--batch", "--armor", "--export", fingerprint])
        try Data((armored + "\n").utf8).write(to: URL(fileURLWithPath: path))
    }

    /// Revokes the key with the certificate gpg made when it made the key.
    public func revoke() throws {
        let certificate = home.appendingPathComponent("openpgp-revocs.d/\(fingerprint).rev")
        var text = try String(contentsOf: certificate, encoding: .utf8)
        text = text.replacingOccurrences(of: ":-----BEGIN PGP PUBLIC KEY BLOCK-----", with: "-----BEGIN PGP PUBLIC KEY BLOCK-----")
        let cleaned = home.appendingPathComponent("revoke.asc")
        try Data(text.utf8).write(to: cleaned)
        try GitFixture.run(["gpg", "--homedir", home.path, "--batch", "--import", cleaned.path])
    }
}

extension GitFixture {
    /// Commits what changed, signed with an SSH key (git's `gpg.format=ssh`).
    @discardableResult
    public func commitSigned(_ message: String, ssh key: SSHTestKey) throws -> String {
        try git("add", "-A")
        try git("-c", "user.name=t", "-c", "user.email=t@example.invalid", "-c", "gpg.format=ssh", "-c", "user.signingkey=\(key.privateKey)",
                "commit", "-q", "-S", "--allow-empty", "-m", message)
        return try head
    }

    /// Commits what changed, signed with an OpenPGP key; `fakedTime` signs as of then.
    @discardableResult
    public func commitSigned(_ message: String, gpg key: GPGTestKey, fakedTime: String? = nil) throws -> String {
        try git("add", "-A")
        var program = "gpg"
        if let fakedTime {
            let wrapper = key.home.appendingPathComponent("gpg-at-\(fakedTime)").path
            try Data("#!/bin/sh\nexec gpg --faked-system-time \(fakedTime) \"$@\"\n".utf8).write(to: URL(fileURLWithPath: wrapper))
            try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: wrapper)
            program = wrapper
        }
        try Self.run(["env", "GNUPGHOME=\(key.home.path)", "git", "-C", root.path, "-c", "user.name=t", "-c", "user.email=t@example.invalid",
                      "-c", "gpg.program=\(program)", "-c", "user.signingkey=\(key.fingerprint)", "commit", "-q", "-S", "--allow-empty", "-m", message])
        return try head
    }
}
