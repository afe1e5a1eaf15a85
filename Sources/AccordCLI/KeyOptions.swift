import AccordCore
import AccordEngine
import ArgumentParser
import Foundation

/// The key files of SPEC §5 that `apply` needs, from flags or environment.
/// A missing key is not an error here: only the operations that need it
/// fail (a tenant that needs a data key is stalled). A key file that is
/// named but unreadable or malformed is an error before anything starts.
struct KeyOptions: ParsableArguments {
    @Option(name: .customLong("kek-file"),
            help: "Key-encryption key for tenant data keys: 32 raw bytes or their base64 (default: $ACCORD_KEK_FILE).")
    var kekFile: String?

    @Option(name: .customLong("signing-key-file"),
            help: "Ed25519 key that signs erasure certificates: PEM PKCS#8 or a raw 32-byte seed (default: $ACCORD_SIGNING_KEY_FILE).")
    var signingKeyFile: String?

    @Option(name: .customLong("secrets-dir"),
            help: "Directory of secret files: the external stores' credentials, named by each Store's spec.credentials (default: $ACCORD_SECRETS_DIR).")
    var secretsDir: String?

    func signingKey() throws -> SigningKey? {
        try Self.signingKey(signingKeyFile)
    }

    /// The secrets directory, when one is named; it must be a directory.
    func secretsDirectory() throws -> String? {
        guard let path = secretsDir ?? ProcessEnvironment.value("ACCORD_SECRETS_DIR"), !path.isEmpty else { return nil }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else {
            Console.error(CLIError("--secrets-dir (ACCORD_SECRETS_DIR): \(Text.quoted(path, limit: 200)) is not a directory"))
            throw ExitCode(2)
        }
        return path
    }

    static func signingKey(_ flag: String?) throws -> SigningKey? {
        try load(flag, environment: "ACCORD_SIGNING_KEY_FILE", SigningKey.load(file:))
    }

    func kek() throws -> KeyEncryptionKey? {
        try Self.load(kekFile, environment: "ACCORD_KEK_FILE", KeyEncryptionKey.load(file:))
    }

    /// The key the flag or else the environment variable names, loaded;
    /// nil when neither names one. A named key that does not load is
    /// reported and exits 2.
    static func load<Key>(_ flag: String?, environment: String, _ loader: (String) throws -> Key) throws -> Key? {
        guard let path = flag ?? ProcessEnvironment.value(environment), !path.isEmpty else { return nil }
        do {
            return try loader(path)
        } catch {
            Console.error(error)
            throw ExitCode(2)
        }
    }
}

/// The directory of public keys model signatures are checked against, for
/// the commands that judge promotions (`apply`, and `diff`, which shows
/// the same verdict). Without it no version is promoted; rollbacks still apply.
struct TrustedKeyOptions: ParsableArguments {
    @Option(name: .customLong("trusted-keys-dir"),
            help: "Directory of Ed25519 public keys for model signatures: *.pem (SubjectPublicKeyInfo) or *.pub (32 raw bytes) (default: $ACCORD_TRUSTED_KEYS_DIR).")
    var trustedKeysDir: String?

    /// The keys; what was skipped, and a directory without a key, are
    /// warnings on standard error.
    func trustedKeys() throws -> TrustedKeys? {
        let keys = try KeyOptions.load(trustedKeysDir, environment: "ACCORD_TRUSTED_KEYS_DIR", TrustedKeys.load(directory:))
        for warning in keys?.warnings ?? [] { Console.warning(warning) }
        return keys
    }
}
