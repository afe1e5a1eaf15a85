import AccordCore
import AccordEngine
import AccordTestSupport
import Foundation
import Testing

/// Key wrapping and the encodings it relies on, on plain values.
@Suite struct KeyWrappingTests {
    @Test func base64DecodesWhatItEncodesAndRejectsEverythingElse() {
        for n in 0..<40 {
            let bytes = (0..<n).map { UInt8(($0 * 91 + n) % 256) }
            #expect(Base64.decode(Base64.encode(bytes)) == bytes)
        }
        for bad in ["a", "abc", "ab=c", "a===", "ab c", "ab\n==", "=abc", "abc*", "YQ==YQ=="] {
            #expect(Base64.decode(bad) == nil, "\(bad)")
        }
    }

    @Test func aKEKFileHoldsThirtyTwoRawBytesOrTheirBase64() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("kek-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let bytes = (0..<32).map { UInt8($0 * 7 % 256) }
        let raw = dir.appendingPathComponent("raw"), text = dir.appendingPathComponent("b64"), short = dir.appendingPathComponent("short")
        try SecretFixture.write(Data(bytes), to: raw)
        try SecretFixture.write(Base64.encode(bytes) + "\n", to: text)
        try SecretFixture.write(Data(bytes.prefix(16)), to: short)
        let a = try KeyEncryptionKey.load(file: raw.path), b = try KeyEncryptionKey.load(file: text.path)
        #expect(a.fingerprint == b.fingerprint)
        #expect(a.fingerprint.count == 16)
        #expect(!a.description.contains(Hex.encode(bytes)) && !a.description.contains(Base64.encode(bytes)))
        #expect(throws: KeyEncryptionKey.Invalid.self) { try KeyEncryptionKey.load(file: short.path) }
        #expect(throws: KeyEncryptionKey.Invalid.self) { try KeyEncryptionKey.load(file: dir.appendingPathComponent("none").path) }
        do {
            _ = try KeyEncryptionKey.load(file: short.path)
        } catch {
            #expect("\(error)".contains(short.path), "the error names the file")
        }
    }

    @Test func aWrappedKeyUnwrapsOnlyForItsTenantVersionAndKEK() throws {
        let kek = try KeyEncryptionKey(bytes: Array(repeating: 1, count: 32))
        let other = try KeyEncryptionKey(bytes: Array(repeating: 2, count: 32))
        let key = DataKey.generate()
        #expect(key.bytes.count == 32)
        #expect(key.description == "DataKey(redacted)")
        var dumped = ""
        dump(key, to: &dumped)
        let hex = key.bytes.map { String(format: "%02x", $0) }.joined()
        #expect(!dumped.contains(hex) && !dumped.contains(key.bytes.map(String.init).joined(separator: ", ")) && dumped.contains("redacted"))
        #expect(String(reflecting: key) == "DataKey(redacted)")
        let wrapped = try TenantKeyWrapping.wrap(key, tenant: "acme", version: 1, keyID: "dek-1", with: kek)
        #expect(Base64.decode(wrapped)?.count == 12 + 32 + 16, "nonce, ciphertext, tag")
        #expect(try TenantKeyWrapping.unwrap(wrapped, tenant: "acme", version: 1, keyID: "dek-1", with: kek).bytes == key.bytes)
        #expect(try TenantKeyWrapping.wrap(key, tenant: "acme", version: 1, keyID: "dek-1", with: kek) != wrapped, "a fresh nonce each time")
        for (tenant, version, id, k) in [("other", 1, "dek-1", kek), ("acme", 2, "dek-1", kek), ("acme", 1, "dek-2", kek), ("acme", 1, "dek-1", other)] {
            #expect(throws: TenantKeyWrapping.Failure.self) {
                try TenantKeyWrapping.unwrap(wrapped, tenant: tenant, version: version, keyID: id, with: k)
            }
        }
        var tampered = Base64.decode(wrapped)!
        tampered[20] ^= 1
        #expect(throws: TenantKeyWrapping.Failure.self) {
            try TenantKeyWrapping.unwrap(Base64.encode(tampered), tenant: "acme", version: 1, keyID: "dek-1", with: kek)
        }
    }
}

@Suite struct ExampleKEKTests {
    @Test func theDemoKEKOfTheExamplesLoadsFromAFileOnlyItsOwnerReads() throws {
        let kek = try KeyEncryptionKey.load(file: ExampleKeys.path("kek.b64"))
        #expect(kek.fingerprint.count == 16)
    }
}
