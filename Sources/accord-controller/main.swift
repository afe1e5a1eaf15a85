import ArgumentParser
import Foundation

/// The reconciliation daemon. This build has no reconcile loop yet: it says
/// so and exits, rather than pretending to watch a repository.
struct AccordController: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "accord-controller",
        abstract: "Accord's reconciliation daemon (not yet available in this build).",
        discussion: """
            The daemon will watch a manifests repository and reconcile it into PostgreSQL \
            continuously. This build ships only `accordctl validate`; running the daemon \
            exits with status 2.
            """
    )

    func run() throws {
        FileHandle.standardError.write(Data("accord-controller: the reconcile loop is not part of this build; use `accordctl validate`\n".utf8))
        throw ExitCode(2)
    }
}

AccordController.main()
