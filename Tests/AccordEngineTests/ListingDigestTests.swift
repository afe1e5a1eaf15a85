import AccordEngine
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
        #expect(DesiredState.formatVersion == 3)
        #expect(ListingDigest.of(Self.entries, path: "platform")
            == "8e7f34e3cca70fb2cf83743835b93ba4a5678ecf2a32ec748c228327335f6a31")
        #expect(ListingDigest.of(Self.entries.reversed(), path: "platform")
            == ListingDigest.of(Self.entries, path: "platform"), "order of the listing does not matter")
        #expect(ListingDigest.of(Self.entries, path: "other") != ListingDigest.of(Self.entries, path: "platform"))
    }
}
