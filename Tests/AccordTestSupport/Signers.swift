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

    /// `algorithm` as gpg names it (`ed25519`, `nistp256`, `rsa3072`,
    /// `dsa2048`), `usage` `sign` or `cert` (a key that signs through a
    /// subkey only); `fakedTime` (`20200101T000000`) makes a key as of that
    /// time, and `expire` (`1y`, `0` for never) its lifetime: an expired key.
    public init(uid: String = "Release Bot <bot@example.invalid>", algorithm: String = "ed25519", usage: String = "sign",
                expire: String = "0", fakedTime: String? = nil) throws {
        home = FileManager.default.temporaryDirectory.appendingPathComponent("accord-gpg-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: home, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        try GitFixture.run(Self.gpg(home, fakedTime) + ["--quick-gen-key", uid, algorithm, usage, expire])
        fingerprint = try Self.fingerprints(home).first ?? ""
    }

    static func gpg(_ home: URL, _ fakedTime: String?) -> [String] {
        ["gpg", "--homedir", home.path, "--batch", "--passphrase", "", "--pinentry-mode", "loopback"] + (fakedTime.map { ["--faked-system-time", $0] } ?? [])
    }

    /// The fingerprints of the key and its subkeys, in order.
    static func fingerprints(_ home: URL) throws -> [String] {
        let colons = try GitFixture.run(["gpg", "--homedir", home.path, "--batch", "--with-colons", "--list-keys"])
        return colons.split(separator: "\n").filter { $0.hasPrefix("fpr:") }.map { String($0.split(separator: ":", omittingEmptySubsequences: false)[9]) }
    }

    /// Adds a subkey (`usage` `sign`), as of `fakedTime`; its fingerprint.
    public func addSubkey(algorithm: String = "ed25519", usage: String = "sign", expire: String = "0", fakedTime: String? = nil) throws -> String {
        try GitFixture.run(Self.gpg(home, fakedTime) + ["--quick-add-key", fingerprint, algorithm, usage, expire])
        return try Self.fingerprints(home).last ?? ""
    }

    /// Sets the primary key's expiry anew (`0`: never), with a new self-signature.
    public func setExpiry(_ expire: String) throws {
        try GitFixture.run(Self.gpg(home, nil) + ["--quick-set-expire", fingerprint, expire])
    }

    /// A detached, armored signature of `data` by `key` (a fingerprint;
    /// `FPR!` for that subkey exactly), with gpg's `options`
    /// (`--digest-algo SHA1`, `--textmode`).
    public func sign(_ data: [UInt8], key: String? = nil, options: [String] = [], fakedTime: String? = nil) throws -> String {
        let input = home.appendingPathComponent("data-\(UUID().uuidString)")
        try Data(data).write(to: input)
        defer { try? FileManager.default.removeItem(at: input) }
        return try GitFixture.run(Self.gpg(home, fakedTime) + options + ["--local-user", key ?? fingerprint, "--armor", "--detach-sign", "--output", "-", input.path])
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
    public func commitSigned(_ message: String, gpg key: GPGTestKey, signingKey: String? = nil, fakedTime: String? = nil) throws -> String {
        try git("add", "-A")
        var program = "gpg"
        if let fakedTime {
            let wrapper = key.home.appendingPathComponent("gpg-at-\(fakedTime)").path
            try Data("#!/bin/sh\nexec gpg --faked-system-time \(fakedTime) \"$@\"\n".utf8).write(to: URL(fileURLWithPath: wrapper))
            try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: wrapper)
            program = wrapper
        }
        try Self.run(["env", "GNUPGHOME=\(key.home.path)", "git", "-C", root.path, "-c", "user.name=t", "-c", "user.email=t@example.invalid",
                      "-c", "gpg.program=\(program)", "-c", "user.signingkey=\(signingKey ?? key.fingerprint)", "commit", "-q", "-S", "--allow-empty", "-m", message])
        return try head
    }
}
