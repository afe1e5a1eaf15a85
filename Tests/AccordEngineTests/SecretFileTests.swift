import AccordCore
import AccordTestSupport
import Foundation
import Testing

/// The reader of every secret file, on files in a temporary directory.
@Suite struct SecretFileTests {
    @Test func onlyARegularFileOnlyItsOwnerCanReadIsRead() throws {
        let dir = try SecretFixture.directory("secret-file")
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("key")
        try SecretFixture.write("  the-secret\n", to: file, mode: 0o600)
        #expect(try SecretFile.text(file.path) == "the-secret")
        try SecretFixture.write("  the-secret\n", to: file, mode: 0o400)
        #expect(try SecretFile.read(file.path) == Array("  the-secret\n".utf8))

        for mode in [0o644, 0o640, 0o604, 0o620, 0o602, 0o610, 0o601, 0o666] {
            try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: file.path)
            let error = #expect(throws: SecretFile.Refused.self) { try SecretFile.read(file.path) }
            #expect(error?.description.hasPrefix("\"\(file.path)\" has mode 0\(String(mode, radix: 8)), ") == true, "\(String(describing: error))")
            #expect(error?.description.contains("the-secret") == false)
        }

        // A link (how Kubernetes mounts a secret) is followed: the mode of the file it leads to counts.
        let link = dir.appendingPathComponent("link")
        try FileManager.default.createSymbolicLink(at: link, withDestinationURL: file)
        #expect(throws: SecretFile.Refused.self) { try SecretFile.read(link.path) }
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: file.path)
        #expect(try SecretFile.text(link.path) == "the-secret")

        let notFile = #expect(throws: SecretFile.Refused.self) { try SecretFile.read(dir.path) }
        #expect(notFile?.description == "\"\(dir.path)\" is not a regular file")
        let missing = #expect(throws: SecretFile.Refused.self) { try SecretFile.read(dir.appendingPathComponent("absent").path) }
        #expect(missing?.description == "cannot read \"\(dir.appendingPathComponent("absent").path)\": No such file or directory")
    }
}

extension SecretFileTests {
    /// The rule by owner, on values (the tests run as one user): the
    /// process's own files 0600 or stricter; root's may add group read (a
    /// Kubernetes secret with fsGroup is root's, mode 0440); anyone else's no.
    @Test(arguments: [
        // mode, owner, user, allowed
        (0o600, 1000, 1000, true), (0o400, 1000, 1000, true), (0o640, 1000, 1000, false), (0o604, 1000, 1000, false),
        (0o440, 0, 1000, true), (0o640, 0, 1000, true), (0o600, 0, 1000, true),
        (0o660, 0, 1000, false), (0o644, 0, 1000, false), (0o650, 0, 1000, false), (0o641, 0, 1000, false),
        (0o640, 0, 0, false), (0o600, 0, 0, true),
        (0o600, 1001, 1000, false), (0o400, 1001, 1000, false),
    ])
    func theRuleByOwner(mode: Int, owner: Int, user: Int, allowed: Bool) {
        let problem = SecretFile.problem(mode: UInt32(mode), owner: UInt32(owner), user: UInt32(user))
        #expect((problem == nil) == allowed, "\(String(mode, radix: 8)) owner \(owner) user \(user): \(problem ?? "allowed")")
        if owner != user && owner != 0 {
            #expect(problem == "is owned by uid \(owner), neither this process's user (uid \(user)) nor root")
        }
    }
}
