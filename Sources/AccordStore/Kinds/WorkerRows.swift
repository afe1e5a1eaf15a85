import AccordCore

/// `platform.workers`: one row per worker; a worker removed from git whose
/// rows are kept (its tenant offboarded with `Retain`) is stopped.
enum WorkerRows: KindRows {
    static let kind = Kind.worker

    static func retain(_ batch: RowBatch, _ write: RowWrite) async throws -> RowEffects {
        try await markKept(batch.ids, status: "stopped", write.session)
    }
}
