import AccordCore
import AccordGit
import Foundation

/// Who signed a commit: the policy key's name (its group) and the key.
public struct Signer: Sendable, Equatable, CustomStringConvertible {
    public let name: String
    /// `ssh-ed25519 SHA256:…` or `openpgp 0123…ABCD`.
    public let key: String
    public var description: String { "\(name) (\(key))" }
}

/// A commit the policy refuses, and why (naming the commit).
public struct Refusal: Error, Sendable, Equatable, CustomStringConvertible {
    public let commit: String
    public let reason: String
    public var description: String { "commit \(commit.prefix(12)) is not trusted: \(reason)" }
}

/// Checks commits against a `VerificationPolicy` (SPEC §10). SSH
/// signatures are verified here; OpenPGP ones by `gpgv` (`OpenPGPKeyring`).
public struct CommitVerifier: Sendable {
    public let policy: VerificationPolicy
    let openpgp: OpenPGPKeyring?

    public init(policy: VerificationPolicy) throws {
        self.policy = policy
        let files = policy.keys.compactMap { key -> (name: String, path: String)? in
            if case .openpgp(let path) = key.material { return (key.name, path) }
            return nil
        }
        openpgp = files.isEmpty ? nil : try OpenPGPKeyring(files)
    }

    /// The signer of one commit, or why it is refused.
    public func signer(of commit: String, in repository: GitRepository) async throws -> Result<Signer, Refusal> {
        let refuse = { (reason: String) in Result<Signer, Refusal>.failure(Refusal(commit: commit, reason: reason)) }
        guard let signed = try await repository.signature(of: commit) else { return refuse("it is not signed") }
        if SSHSignature.isSSH(signed.signature) {
            let signature: SSHSignature
            do {
                signature = try SSHSignature(armored: signed.signature)
            } catch {
                return refuse("its SSH signature cannot be read: \(error)")
            }
            guard let key = policy.keys.first(where: { if case .ssh(let k) = $0.material { k.blob == signature.publicKey.blob } else { false } }) else {
                return refuse("signed by SSH key \(signature.publicKey.type) \(signature.publicKey.fingerprint), which is not in the policy")
            }
            do {
                guard try signature.verifies(signed.signedData, namespace: "git") else {
                    return refuse("its SSH signature by \(key.name) does not match the commit's content")
                }
            } catch {
                return refuse("its SSH signature by \(key.name) does not verify: \(error)")
            }
            return .success(Signer(name: key.name, key: "\(signature.publicKey.type) \(signature.publicKey.fingerprint)"))
        }
        if signed.signature.contains("-----BEGIN PGP SIGNATURE-----") {
            guard let openpgp else { return refuse("it has an OpenPGP signature and the policy trusts no OpenPGP key") }
            switch try openpgp.verify(signature: signed.signature, data: signed.signedData) {
            case .success(let key): return .success(Signer(name: key.name, key: "openpgp \(key.fingerprint)"))
            case .failure(let failure): return refuse(failure.description)
            }
        }
        return refuse("its signature is neither SSH nor OpenPGP")
    }

    /// What the mode asks of the revision `commit`, given the last applied
    /// revision (`head`: the commit itself; `strict`: every commit since
    /// the last applied one, which must be an ancestor). The signer of
    /// `commit`, or the first refusal.
    public func verify(_ commit: String, lastApplied: String?, in repository: GitRepository,
                       limit: Int = 100_000) async throws -> Result<Signer?, Refusal> {
        switch policy.mode {
        case .off:
            return .success(nil)
        case .head:
            return try await signer(of: commit, in: repository).map { $0 }
        case .strict:
            var base = lastApplied ?? policy.since
            if let applied = lastApplied, try await !repository.isAncestor(applied, of: commit) {
                return .failure(Refusal(commit: commit, reason: "it does not descend from the last applied revision \(applied.prefix(12)): "
                                        + "history was rewritten (a force-push); strict mode refuses it"))
            }
            if base == commit { base = nil }
            var head: Signer?
            let walked = try await repository.commits(from: base == commit ? nil : base, to: commit, limit: limit)
            for entry in walked {
                switch try await signer(of: entry.id, in: repository) {
                case .success(let s): if entry.id == commit { head = s }
                case .failure(let refusal):
                    let through = entry.id == commit ? "" : " (strict mode checks every commit since \(base.map { String($0.prefix(12)) } ?? "the root"))"
                    return .failure(Refusal(commit: commit, reason: "commit \(entry.id.prefix(12)) \(refusal.reason)\(through)"))
                }
            }
            return .success(head)
        }
    }
}
