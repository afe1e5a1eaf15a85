import AccordEngine
import Foundation

/// The demo keys of `examples/keys` (public, never for production): the
/// model-signing key that signed the example models, and the controller's
/// certificate-signing key.
public enum ExampleKeys {
    public static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("examples/keys")

    public static func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    /// A directory that trusts only the example model-signing key (the
    /// examples directory also holds private keys, which are not trusted keys).
    public static let trustedDirectory: String = {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("accord-trusted-\(UUID().uuidString)")
        try! FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try! FileManager.default.copyItem(atPath: path("model-signing.pub.pem"), toPath: dir.appendingPathComponent("model-signing.pub.pem").path)
        return dir.path
    }()

    public static let trusted = try! TrustedKeys.load(directory: trustedDirectory)

    /// The controller's certificate-signing key.
    public static let signing = try! SigningKey.load(file: path("controller-signing.pem"))

    /// Signs a model digest the way `hack/sign-digest` does (base64).
    public static func signModelDigest(_ digest: String) -> String {
        let key = try! Ed25519Keys.privateKey(file: path("model-signing.pem"))
        return Data(try! key.signature(for: Data(digest.utf8))).base64EncodedString()
    }
}
