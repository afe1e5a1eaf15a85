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
/// and OpenPGP signatures are verified here (`OpenPGPKeyring`, which hands
/// keys of other algorithms to `gpgv`).
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
            switch try await openpgp.verified(signature: signed.signature, data: signed.signedData) {
            case .success(let key): return .success(Signer(name: key.name, key: "openpgp \(key.fingerprint)"))
            case .failure(let failure): return refuse(failure.description)
            }
        }
        return refuse("its signature is neither SSH nor OpenPGP")
    }

    /// What the mode asks of the revision `commit`, given the last applied
    /// revision (`head`: the commit itself; `strict`: every commit since
    /// the last applied one, which must be an ancestor). What was verified,
    /// or the first refusal.
    public func verify(_ commit: String, lastApplied: String?, in repository: GitRepository,
                       limit: Int = 100_000) async throws -> Result<TrustedRange, Refusal> {
        switch policy.mode {
        case .off:
            return .success(TrustedRange(commit: commit, signer: nil, commits: []))
        case .head:
            return try await signer(of: commit, in: repository).map { TrustedRange(commit: commit, signer: $0, commits: []) }
        case .strict:
            if lastApplied == commit {
                // Already applied: nothing new to walk.
                return try await signer(of: commit, in: repository).map { TrustedRange(commit: commit, signer: $0, commits: []) }
            }
            let base = lastApplied ?? policy.since
            if let applied = lastApplied, try await !repository.isAncestor(applied, of: commit) {
                return .failure(Refusal(commit: commit, reason: "it does not descend from the last applied revision \(applied.prefix(12)): "
                                        + "history was rewritten (a force-push); strict mode refuses it"))
            }
            var head: Signer?
            var checked: [TrustedRange.Entry] = []
            let walked = try await repository.commits(from: base, to: commit, limit: limit)
            for entry in walked {
                switch try await signer(of: entry.id, in: repository) {
                case .success(let s):
                    if entry.id == commit { head = s }
                    checked.append(.init(id: entry.id, parents: entry.parents, signer: s))
                case .failure(let refusal):
                    let through = entry.id == commit ? "" : " (strict mode checks every commit since \(base.map { String($0.prefix(12)) } ?? "the root"))"
                    return .failure(Refusal(commit: commit, reason: "commit \(entry.id.prefix(12)) \(refusal.reason)\(through)"))
                }
            }
            if head == nil, case .success(let s) = try await signer(of: commit, in: repository) { head = s }
            return .success(TrustedRange(commit: commit, signer: head, commits: checked))
        }
    }

    /// The first change the policy's signer rules forbid, as a reason to
    /// refuse the plan; nil when every change may be made. A change to an
    /// object of a listed kind needs a signer of one of the rule's groups:
    /// the applied commit's (`head`), or (`strict`) that of the commit
    /// since the last applied revision that last changed the object's file
    /// (the applied commit's when none did: a drift revert, a dependency).
    public func authorize(_ steps: [PlanStep], paths: [ObjectID: String], range: TrustedRange,
                          in repository: GitRepository) async throws -> String? {
        guard !policy.require.isEmpty else { return nil }
        var lastChange: [String: (commit: String, signer: Signer)]?
        for step in steps {
            let rules = policy.require.filter { $0.kinds.contains(step.id.kind) }
            guard !rules.isEmpty else { continue }
            var signer = range.signer, by = range.commit
            if policy.mode == .strict, let path = paths[step.id] {
                if lastChange == nil { lastChange = try await Self.lastChanges(range, repository) }
                if let found = lastChange?[path] { (signer, by) = (found.signer, found.commit) }
            }
            for rule in rules where !(signer.map { rule.signers.contains($0.name) } ?? false) {
                return "\(step.id) (\(step.action.rawValue)) needs a commit signed by \(rule.signers.joined(separator: " or ")); "
                    + "commit \(by.prefix(12)) is signed by \(signer?.description ?? "no trusted key")"
            }
        }
        return nil
    }

    /// For each file changed by the checked commits, the newest commit that
    /// changed it (against its first parent; a root commit changes all).
    static func lastChanges(_ range: TrustedRange, _ repository: GitRepository) async throws -> [String: (commit: String, signer: Signer)] {
        var out: [String: (commit: String, signer: Signer)] = [:]
        for entry in range.commits {
            let paths: [String]
            if let parent = entry.parents.first {
                paths = try await repository.changedPaths(from: parent, to: entry.id)
            } else {
                paths = try await repository.listing(at: entry.id, under: "").map(\.path)
            }
            for path in paths where out[path] == nil { out[path] = (entry.id, entry.signer) }
        }
        return out
    }
}

/// What verification found: the applied commit's signer and, in strict
/// mode, every commit checked with its signer (newest first).
public struct TrustedRange: Sendable {
    public struct Entry: Sendable {
        public let id: String
        public let parents: [String]
        public let signer: Signer
    }

    public let commit: String
    public let signer: Signer?
    public let commits: [Entry]
}
