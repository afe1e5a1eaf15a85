import AccordEngine

/// A fixed key-encryption key for tests, and another one that is not it.
enum TestKeys {
    static let kekBytes: [UInt8] = (0..<32).map { UInt8(($0 * 37 + 11) % 256) }
    static let kek = try! KeyEncryptionKey(bytes: kekBytes)
    static let otherKEK = try! KeyEncryptionKey(bytes: (0..<32).map { UInt8(($0 * 53 + 7) % 256) })
}
