import AccordCore
import CLibGit2
import Foundation

/// Credentials for remote repositories, read from files named by
/// environment variables, never from the manifests repository or a URL
/// that would be logged:
///
/// - `ACCORD_GIT_USERNAME`: user for https (default `git`) and ssh (default
///   the user in the URL, else `git`).
/// - `ACCORD_GIT_PASSWORD_FILE`: a file holding the https password or token.
/// - `ACCORD_GIT_SSH_KEY_FILE`: a private key for ssh (its public key is
///   looked for beside it as `<file>.pub`).
/// - `ACCORD_GIT_SSH_PASSPHRASE_FILE`: the key's passphrase, if any.
public struct GitCredentials: Sendable {
    public var username: String?
    public var password: String?
    public var sshKeyFile: String?
    public var sshPassphrase: String?

    public init(username: String? = nil, password: String? = nil, sshKeyFile: String? = nil, sshPassphrase: String? = nil) {
        self.username = username
        self.password = password
        self.sshKeyFile = sshKeyFile
        self.sshPassphrase = sshPassphrase
    }

    public static func fromEnvironment(_ env: [String: String] = ProcessInfo.processInfo.environment) throws -> GitCredentials {
        func secret(_ variable: String) throws -> String? {
            guard let file = env[variable], !file.isEmpty else { return nil }
            do {
                return try SecretFile.text(file)
            } catch {
                throw GitError(operation: "read \(variable)", code: -1, message: String(describing: error))
            }
        }
        var creds = GitCredentials()
        creds.username = env["ACCORD_GIT_USERNAME"].flatMap { $0.isEmpty ? nil : $0 }
        creds.password = try secret("ACCORD_GIT_PASSWORD_FILE")
        creds.sshKeyFile = env["ACCORD_GIT_SSH_KEY_FILE"].flatMap { $0.isEmpty ? nil : $0 }
        if let key = creds.sshKeyFile {
            // Only checked here (libgit2 reads the key itself): its mode, like ssh.
            do { _ = try SecretFile.read(key) } catch {
                throw GitError(operation: "read ACCORD_GIT_SSH_KEY_FILE", code: -1, message: String(describing: error))
            }
        }
        creds.sshPassphrase = try secret("ACCORD_GIT_SSH_PASSPHRASE_FILE")
        return creds
    }
}

/// What the credential callback sees: the configured credentials and how
/// often it was asked, so a rejected credential is not offered forever.
final class CredentialPayload {
    let credentials: GitCredentials
    var attempts = 0
    init(_ credentials: GitCredentials) { self.credentials = credentials }
}

/// libgit2's credential callback; `payload` is an unretained `CredentialPayload`.
let credentialCallback: git_credential_acquire_cb = { out, _, usernameFromURL, allowedTypes, payload in
    guard let out, let payload else { return GIT_PASSTHROUGH.rawValue }
    let box = Unmanaged<CredentialPayload>.fromOpaque(payload).takeUnretainedValue()
    box.attempts += 1
    guard box.attempts <= 1 else { return GIT_EAUTH.rawValue }
    let creds = box.credentials
    let urlUser = usernameFromURL.map { String(cString: $0) }
    let allowed = { (type: git_credential_t) in allowedTypes & type.rawValue != 0 }

    if allowed(GIT_CREDENTIAL_SSH_KEY), let key = creds.sshKeyFile {
        let user = creds.username ?? urlUser ?? "git"
        let pub = FileManager.default.fileExists(atPath: key + ".pub") ? key + ".pub" : nil
        return git_credential_ssh_key_new(out, user, pub, key, creds.sshPassphrase)
    }
    if allowed(GIT_CREDENTIAL_USERPASS_PLAINTEXT), let password = creds.password {
        return git_credential_userpass_plaintext_new(out, creds.username ?? urlUser ?? "git", password)
    }
    if allowed(GIT_CREDENTIAL_USERNAME) {
        return git_credential_username_new(out, creds.username ?? urlUser ?? "git")
    }
    return GIT_PASSTHROUGH.rawValue
}
