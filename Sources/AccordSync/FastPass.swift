import AccordCore
import AccordEngine
import AccordStore
import Foundation

extension Pass {
    /// The no-op proved without reading the manifests or the rows: the
    /// files are those of the last complete pass and nothing outside
    /// Accord wrote since (`FastPath.check`). A new revision with the same
    /// files is still recorded in history. nil when it does not hold.
    func fast(_ session: Session, digest: String, started: Date, timings: Stopwatch) async throws -> Report? {
        var timings = timings
        guard let state = try await FastPath.check(session, digest: digest, path: path, prune: options.prune) else { return nil }
        timings.lap("fast path: files and platform tables unchanged since the last complete pass")
        let plan = Plan(steps: [], orphaned: state.orphaned, unmanaged: [], unchanged: state.objects,
                        managed: state.objects + state.orphaned.count)
        var recorded = false
        if !options.dryRun, let last = try await History.lastRevision(session), last.revision != revision {
            var audit = try await AuditChain.load(session, actor: options.actor)
            var pass = History.Pass(revision: revision, path: path, startedAt: started, result: .unchanged,
                                    merkleRoot: last.root, objects: state.objects, actor: options.actor)
            pass.signer = options.signer
            try await History.record(pass, audit: &audit, session)
            try await FastPath.record(session, digest: digest, path: path, prune: options.prune, revision: revision,
                                      objects: state.objects, orphaned: state.orphaned,
                                      marker: try await FastPath.marker(session))
            recorded = true
        }
        return Report(kind: .fast, plan: plan, refusal: nil, outcome: options.dryRun ? nil : Executor.Outcome(),
                      recorded: recorded, objects: state.objects, timings: timings)
    }
}
