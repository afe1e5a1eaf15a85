import ArgumentParser

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
        version: AccordVersion.current,
        subcommands: [Validate.self]
    )

    public init() {}
}

public enum AccordVersion {
    public static let current = "0.1.0"
}
