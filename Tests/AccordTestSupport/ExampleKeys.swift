import AccordEngine
import Foundation

/// The demo keys of `examples/keys` (public, never for production): the
/// model-signing key that signed the example models, and the controller's
/// certificate-signing key.
public enum ExampleKeys {
    public static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("examples/keys")

    /// A copy of the key file `name` that only its owner can read (mode
    /// 0600), as Accord requires of key files; git keeps the examples 0644.
    public static func path(_ name: String) -> String { privateCopies.appendingPathComponent(name).path }

    static let privateCopies: URL = {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("accord-example-keys-\(UUID().uuidString)")
        try! FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        for name in try! FileManager.default.contentsOfDirectory(atPath: directory.path) {
            let copy = dir.appendingPathComponent(name)
            try! FileManager.default.copyItem(at: directory.appendingPathComponent(name), to: copy)
            try! FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: copy.path)
        }
        return dir
    }()

    /// A directory that trusts only the example model-signing key (the
    /// examples directory also holds private keys, which are not trusted keys).
    public static let trustedDirectory: String = {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("accord-trusted-\(UUID().uuidString)")
        try! FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try! FileManager.default.copyItem(atPath: directory.appendingPathComponent("model-signing.pub.pem").path,
                                          toPath: dir.appendingPathComponent("model-signing.pub.pem").path)
        return dir.path
    }()

    public static let trusted = try! TrustedKeys.load(directory: trustedDirectory)

    /// A trusted-keys directory laid out as Kubernetes mounts a ConfigMap:
    /// the files in a timestamped hidden directory, `..data` a link to it,
    /// and each key a link through `..data`.
    public static func kubernetesLayout() throws -> URL {
        let fm = FileManager.default
        let dir = fm.temporaryDirectory.appendingPathComponent("accord-configmap-\(UUID().uuidString.prefix(8))")
        let stamp = dir.appendingPathComponent("..2026_12_06_05_20_00.123456789")
        try fm.createDirectory(at: stamp, withIntermediateDirectories: true)
        try fm.copyItem(at: directory.appendingPathComponent("model-signing.pub.pem"), to: stamp.appendingPathComponent("model-signing.pub.pem"))
        try fm.createSymbolicLink(atPath: dir.appendingPathComponent("..data").path, withDestinationPath: stamp.lastPathComponent)
        try fm.createSymbolicLink(atPath: dir.appendingPathComponent("model-signing.pub.pem").path, withDestinationPath: "..data/model-signing.pub.pem")
        return dir
    }

    /// The controller's certificate-signing key.
    public static let signing = try! SigningKey.load(file: path("controller-signing.pem"))

    /// Signs a model digest the way `hack/sign-digest` does (base64).
    public static func signModelDigest(_ digest: String) -> String {
        let key = try! Ed25519Keys.privateKey(file: path("model-signing.pem"))
        return Data(try! key.signature(for: Data(digest.utf8))).base64EncodedString()
    }
}
