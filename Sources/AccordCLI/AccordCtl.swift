import AccordBuildInfo
import AccordCore
import ArgumentParser
import Foundation

/// `accordctl`: validate, preview and apply a manifests repository.
public struct AccordCtl: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "accordctl",
        abstract: "Accord: GitOps for a multi-tenant AI platform's state.",
        discussion: """
            Reads YAML manifests (Tenant, Worker, Workflow, RetentionPolicy, Model, Erasure) \
            from a git repository. Exit codes: 0 success, 1 the check failed (for validate: \
            invalid manifests), 2 an error (unreadable repository, bad ref, bad option).
            """,
        version: AccordBuild.description,
        subcommands: [Validate.self, Diff.self, Apply.self, Status.self, HistoryCommand.self, Audit.self, Simulate.self,
                      Certificate.self, RetentionCommand.self, Keys.self, Verify.self]
    )

    public init() {}
}

extension AccordCtl {
    /// Parses and runs, mapping usage errors to exit status 2 as every
    /// accordctl error is (ArgumentParser would use 64).
    public static func runMain(_ arguments: [String]? = nil) async {
        Timings.begin()
        do {
            var command = try parseAsRoot(arguments)
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
            await Console.printDeferredNotes()
        } catch {
            await Console.printDeferredNotes()
            let code = exitCode(for: error)
            if code == .validationFailure {
                FileHandle.standardError.write(Data((fullMessage(for: error) + "\n").utf8))
                exit(withError: ExitCode(2))
            }
            exit(withError: error)
        }
    }
}
