import AccordCore

/// Identifies a revision's manifest files without reading them: SHA-256
/// over the engine's desired-state format, the manifests directory, and
/// each `path blob` line sorted by path. Equal digests mean equal desired
/// state, so a pass that finds the digest of the last complete pass (and
/// no outside write since) has nothing to do (the fast path).
public enum ListingDigest {
    public static func of(_ entries: [(path: String, blobID: String)], path: String) -> String {
        var bytes = Array("accord-desired-format \(DesiredState.formatVersion)\npath \(path)\n".utf8)
        bytes.reserveCapacity(bytes.count + entries.count * 80)
        for e in entries.sorted(by: { $0.path.utf8.lexicographicallyPrecedes($1.path.utf8) }) {
            bytes += e.path.utf8
            bytes.append(0x09)
            bytes += e.blobID.utf8
            bytes.append(0x0A)
        }
        return sha256Hex(bytes: bytes)
    }
}
