/// One file of a manifests repository, as a source (git tree or work tree)
/// hands it to the manifest reader.
public struct SourceFile: Sendable, Hashable {
    public enum Content: Sendable, Hashable {
        /// The file's bytes (at most `ManifestLimits.maxFileBytes`).
        case bytes([UInt8])
        /// Larger than `ManifestLimits.maxFileBytes`; not read.
        case tooLarge(size: Int)
        /// A symbolic link: never followed, its target never read or shown.
        case symlink
    }

    /// Path relative to the repository root, `/`-separated.
    public let path: String
    public let content: Content
    /// The git blob id, when the file comes from a commit.
    public let blobID: String?

    public init(path: String, content: Content, blobID: String? = nil) {
        self.path = path
        self.content = content
        self.blobID = blobID
    }
}

/// Which paths of a repository are manifests: `*.yaml` / `*.yml` under the
/// configured path, outside hidden files and directories.
public enum ManifestPaths {
    public static func isManifestFile(_ name: String) -> Bool {
        !isHidden(name) && (name.hasSuffix(".yaml") || name.hasSuffix(".yml"))
    }

    /// Whether a repository path is a manifest file under `directory`
    /// (`""` is the root): a `*.yaml`/`*.yml` name, no hidden component.
    public static func isManifestPath(_ path: String, under directory: String) -> Bool {
        let relative: Substring
        if directory.isEmpty {
            relative = Substring(path)
        } else {
            guard path.hasPrefix(directory + "/") else { return false }
            relative = path.dropFirst(directory.count + 1)
        }
        let parts = relative.split(separator: "/")
        guard let name = parts.last else { return false }
        return !parts.dropLast().contains { isHidden(String($0)) } && isManifestFile(String(name))
    }

    /// Hidden files and directories (names starting with `.`) are skipped.
    public static func isHidden(_ name: String) -> Bool { name.hasPrefix(".") }

    /// Normalises a `--path` value: relative, `/`-separated, no `.`/`..`
    /// segments, no leading or trailing slash; `""` is the repository root.
    /// Returns `nil` when the path is absolute or climbs out of the repository.
    public static func normalize(_ path: String) -> String? {
        if path.hasPrefix("/") { return nil }
        var parts: [Substring] = []
        for part in path.split(separator: "/", omittingEmptySubsequences: true) {
            switch part {
            case ".": continue
            case "..": return nil
            default: parts.append(part)
            }
        }
        return parts.joined(separator: "/")
    }
}
