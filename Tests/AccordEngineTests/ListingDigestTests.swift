import AccordEngine
@testable import AccordStore
import Testing

/// The fast path's fingerprint of a revision's manifest files.
@Suite struct ListingDigestTests {
    static let entries: [(path: String, blobID: String)] = [
        ("tenants/b.yaml", String(repeating: "2", count: 40)), ("models/m.yaml", String(repeating: "1", count: 40)),
        ("tenants/a-b.yaml", String(repeating: "3", count: 40)), ("tenants/a/x.yaml", String(repeating: "4", count: 40)),
    ]

    /// SHA-256 of the format line, the path and one `path<TAB>blob` line per
    /// file in byte order (worked out independently): a digest a newer
    /// binary computes differently would cost every database one full pass.
    @Test func isSHA256OfTheSortedListing() {
        #expect(DesiredState.formatVersion == 2)
        #expect(FastPath.listingDigest(Self.entries, path: "platform")
            == "5c4202a7efdae0c595d506a52e4ed574729df942b95ce079cd93349d99c3e22a")
        #expect(FastPath.listingDigest(Self.entries.reversed(), path: "platform")
            == FastPath.listingDigest(Self.entries, path: "platform"), "order of the listing does not matter")
        #expect(FastPath.listingDigest(Self.entries, path: "other") != FastPath.listingDigest(Self.entries, path: "platform"))
    }
}
