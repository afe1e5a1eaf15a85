import AccordCore
import AccordEngine
import AccordGit
import AccordSource
import AccordTrust
import ArgumentParser
import Foundation

/// `--verify-file` (`ACCORD_VERIFY_FILE`): the verification policy of
/// SPEC §10. With a policy whose mode is not `off`, `diff` and `apply`
/// refuse a revision whose commits are not signed by trusted keys before
/// reading a single manifest.
struct TrustOptions: ParsableArguments {
    @Option(name: .customLong("verify-file"),
            help: "Verification policy: which keys must sign the commits applied (default: $ACCORD_VERIFY_FILE; none: nothing is verified).")
    var verifyFile: String?

    /// The policy, when one is named; a policy with errors exits 2 listing them.
    func policy() throws -> VerificationPolicy? {
        guard let path = verifyFile ?? ProcessEnvironment.value("ACCORD_VERIFY_FILE"), !path.isEmpty else { return nil }
        do {
            return try VerificationPolicy.load(file: path)
        } catch let invalid as VerificationPolicy.Invalid {
            for d in invalid.diagnostics { Console.error(CLIError("--verify-file (ACCORD_VERIFY_FILE): \(d)")) }
            throw ExitCode(2)
        }
    }

    /// A revision the policy trusts: who signed it, and the check of a
    /// plan against the policy's signer rules (for `apply`).
    struct Trusted {
        let signer: Signer?
        let authorize: @Sendable ([PlanStep], [ObjectID: String]) async throws -> String?
    }

    /// Verifies the opened revision under the policy; nil when no policy
    /// applies. A refusal (or files on disk under a policy) prints why and
    /// exits 2.
    func verify(_ opened: RevisionSource, lastApplied: String? = nil) async throws -> Trusted? {
        guard let policy = try policy(), policy.mode != .off else { return nil }
        guard let repository = opened.repository, let commit = opened.commit else {
            Console.error(CLIError("the verification policy (\(policy.file)) needs a signed commit; files on disk (--worktree) carry no signature"))
            throw ExitCode(2)
        }
        do {
            let verifier = try CommitVerifier(policy: policy)
            switch try await verifier.verify(commit, lastApplied: lastApplied, in: repository) {
            case .success(let range):
                return Trusted(signer: range.signer) { steps, paths in
                    try await verifier.authorize(steps, paths: paths, range: range, in: repository)
                }
            case .failure(let refusal):
                Console.error(CLIError("\(refusal); nothing was read (policy \(policy.file), mode \(policy.mode.rawValue))"))
                throw ExitCode(2)
            }
        } catch let exit as ExitCode {
            throw exit
        } catch {
            Console.error(CLIError("verifying \(commit.prefix(12)): \(error)"))
            throw ExitCode(2)
        }
    }
}

struct Verify: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check a revision against the verification policy: who signed it, or why it is refused.",
        discussion: """
            Mode head checks the commit --ref names; strict checks every commit from --since (or the \
            policy's since, or the root) to it. SSH signatures (git's gpg.format=ssh: ed25519, ecdsa, \
            rsa-sha2-256/512) and OpenPGP ones (v4 Ed25519, ECDSA and RSA keys; gpgv for other algorithms) are \
            verified against the policy's keys. \
            Exit status: 0 trusted, 1 refused, 2 error (no policy, an invalid policy, an unknown revision).
            """
    )

    @OptionGroup var source: SourceOptions
    @OptionGroup var trust: TrustOptions
    @OptionGroup var output: OutputOptions

    @Option(help: "Strict mode: the last revision already trusted (its descendants are checked).")
    var since: String?

    func validate() throws {
        if source.worktree { throw ValidationError("verify checks commits; files on disk (--worktree) carry no signature") }
    }

    func run() async throws {
        guard let policy = try trust.policy() else {
            Console.error(CLIError("no verification policy: give --verify-file or ACCORD_VERIFY_FILE"))
            throw ExitCode(2)
        }
        let opened = try await DesiredSource.open(source)
        guard let repository = opened.repository, let commit = opened.commit else { throw ExitCode(2) }
        let verdict: Result<TrustedRange, Refusal>
        do {
            let base = try await since.asyncMap { try await repository.resolve($0) }
            verdict = try await CommitVerifier(policy: policy).verify(commit, lastApplied: base, in: repository)
        } catch {
            Console.error(CLIError("verifying \(commit.prefix(12)): \(error)"))
            throw ExitCode(2)
        }
        let signer = try? verdict.get().signer
        let refusal: Refusal? = if case .failure(let r) = verdict { r } else { nil }
        switch output.format {
        case .json:
            Console.write(JSONOutput.render(.object([
                "formatVersion": .number(1), "commit": .string(commit), "mode": .string(policy.mode.rawValue),
                "trusted": .bool(refusal == nil),
                "signer": (signer ?? nil).map { .object(["name": .string($0.name), "key": .string($0.key)]) } ?? .null,
                "reason": JSONValue(refusal?.reason),
            ])))
        case .text, .markdown:
            if let refusal {
                Console.write("refused: \(refusal)\n")
            } else if let signer = signer ?? nil {
                Console.write("trusted: commit \(commit.prefix(12)) is signed by \(signer)\(policy.mode == .strict ? ", as is every commit before it that strict mode checks" : "")\n")
            } else {
                Console.write("the policy's mode is off: nothing is verified\n")
            }
        }
        if refusal != nil { throw ExitCode(1) }
    }
}

extension Optional {
    func asyncMap<T>(_ transform: (Wrapped) async throws -> T) async rethrows -> T? {
        guard let self else { return nil }
        return try await transform(self)
    }
}
