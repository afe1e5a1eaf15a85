import AccordCore

/// `platform.stores`: one row per external store (SPEC §8); its health and
/// its erasure jobs are observed state in `accord` (`StoreJobs`).
enum StoreRows: KindRows {
    static let kind = Kind.store
}
