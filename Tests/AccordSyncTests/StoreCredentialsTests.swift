import AccordCore
@testable import AccordSync
import AccordTestSupport
import Foundation
import Testing

/// A Store's credentials file (a plain name under the secrets directory) is
/// read only when no one but its owner can read it; the check reports the
/// file and its mode, and never reaches the store with it.
@Suite struct StoreCredentialsTests {
    static func spec(_ credentials: String?) -> StoreSpec {
        var spec = StoreSpec(type: .clickhouse, region: .eu, endpoint: "http://127.0.0.1:1",
                             holds: [.table(table: "events", subjectField: "s", tenantField: "t", timeField: "c")])
        spec.credentials = credentials
        return spec
    }

    @Test func aCredentialsFileOthersCanReadIsRefusedNamingItAndItsMode() async throws {
        let dir = try SecretFixture.directory("store-secrets")
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("analytics")
        for mode in [0o644, 0o640, 0o604] {
            try SecretFixture.write("accord:a-password-of-the-store\n", to: file, mode: mode)
            let result = await StoreChecks.check("analytics", Self.spec("analytics"), secretsDirectory: dir.path)
            #expect(!result.ready)
            #expect(result.message == "\"\(file.path)\" has mode 0\(String(mode, radix: 8)), readable or writable by its group or others; make it 0600 (chmod 600) or 0400")
        }
        // With 0600 the file is read and the check goes on to the store (nothing listens on port 1).
        try SecretFixture.write("accord:a-password-of-the-store\n", to: file, mode: 0o600)
        let reached = await StoreChecks.check("analytics", Self.spec("analytics"), secretsDirectory: dir.path)
        #expect(!reached.ready)
        #expect(!reached.message.contains("mode") && !reached.message.contains("a-password-of-the-store"), "\(reached.message)")
    }

    @Test func credentialsNeedASecretsDirectoryAndAPlainName() async throws {
        let none = await StoreChecks.check("analytics", Self.spec("analytics"), secretsDirectory: nil)
        #expect(none.message == "Store/analytics names credentials \"analytics\", but no secrets directory is configured (ACCORD_SECRETS_DIR or --secrets-dir)")
        let dir = try SecretFixture.directory("store-secrets")
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = await StoreChecks.check("analytics", Self.spec("../analytics"), secretsDirectory: dir.path)
        #expect(path.message == "Store/analytics: credentials \"../analytics\" is not a plain file name")
        try SecretFixture.write("\n", to: dir.appendingPathComponent("empty"))
        let empty = await StoreChecks.check("analytics", Self.spec("empty"), secretsDirectory: dir.path)
        #expect(empty.message == "Store/analytics: the credentials file \"empty\" is empty")
        let missing = await StoreChecks.check("analytics", Self.spec("absent"), secretsDirectory: dir.path)
        #expect(missing.message == "cannot read \"\(dir.appendingPathComponent("absent").path)\": No such file or directory")
    }
}
