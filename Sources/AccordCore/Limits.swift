/// Bounds on what Accord reads, so hostile input costs bounded time and memory.
public enum ManifestLimits {
    /// A manifest file larger than this is refused without being read.
    public static let maxFileBytes = 4 * 1024 * 1024
    /// Collections nested deeper than this are refused.
    public static let maxDepth = 64
    /// Nodes that aliases may add to one file once expanded.
    public static let maxAliasExpansion = 100_000
    /// Bytes of scalar text that aliases may add to one file once expanded:
    /// a short alias of a long string must not multiply into gigabytes when
    /// the desired state is written out.
    public static let maxAliasExpansionBytes = 4 * 1024 * 1024
}
