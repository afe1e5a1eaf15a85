import AccordCore

/// What both executables say about themselves (`--version`,
/// `accord_build_info`): the release and the git commit they were built
/// from (`commit` is generated at build time by the BuildInfo plugin).
public enum AccordBuild {
    public static var version: String { AccordVersion.current }

    /// `0.1.0 (commit 3f2a…)`.
    public static var description: String { "\(version) (commit \(commit))" }
}
