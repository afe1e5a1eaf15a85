import AccordCore

/// `platform.erasures`: the request as git has it. Its run (status,
/// attempts, certificate) is observed state, written by `ErasureRuns`; a
/// released erasure keeps its record (retain writes nothing).
enum ErasureRows: KindRows {
    static let kind = Kind.erasure
}
