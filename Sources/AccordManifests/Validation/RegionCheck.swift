import AccordCore

/// With a regions file (SPEC §9), every tenant's region must have a
/// database there: a tenant whose region has none is an error at its
/// `spec.region`, since its data would have nowhere to live.
public enum RegionCheck {
    public static func check(_ manifests: [Manifest], regions: Set<Region>, file: String) -> [Diagnostic] {
        let known = regions.map(\.rawValue).sorted().joined(separator: ", ")
        return manifests.compactMap { m in
            guard case .tenant(let spec) = m.spec, !regions.contains(spec.region) else { return nil }
            return Diagnostic(m.position(of: "spec.region"),
                              "spec.region: region \(spec.region.rawValue) has no database in the regions file \(Text.quoted(file, limit: 200)) (it names \(known.isEmpty ? "none" : known)); a tenant's data may live only in its region's database")
        }
    }

    /// `set` with the region errors added.
    public static func checked(_ set: ManifestSet, regions: Set<Region>?, file: String) -> ManifestSet {
        guard let regions else { return set }
        let found = check(set.manifests, regions: regions, file: file)
        guard !found.isEmpty else { return set }
        return ManifestSet(manifests: set.manifests, diagnostics: (set.diagnostics + found).sorted(), fileCount: set.fileCount)
    }
}
