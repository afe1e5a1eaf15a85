import AccordConnectors
import AccordCore
import AccordEngine
import AccordStore
import Foundation

/// Each Store's health (SPEC §8): `Ready` when it answers with its
/// credentials and every `holds` entry exists; otherwise unavailable,
/// checked again with backoff. Checked after a pass when due (a ready
/// store every `interval`), several at once; never fatal for anything else.
struct StoreChecks {
    let session: Session
    let secretsDirectory: String?
    let now: Date

    static let interval: TimeInterval = 60

    struct Result: Sendable {
        let store: String
        let ready: Bool
        let message: String
        let missing: [String]
    }

    func run() async throws -> [Result] {
        let registry = try await StoreRegistry.read(session)
        let due = try await StoreRegistry.dueForCheck(Array(registry.keys), now: now, session)
        guard !due.isEmpty else { return [] }
        let secretsDirectory = self.secretsDirectory
        let results = try await withThrowingTaskGroup(of: Result.self) { group in
            for name in due.sorted() {
                let spec = registry[name]!
                group.addTask { await Self.check(name, spec, secretsDirectory: secretsDirectory) }
            }
            var out: [Result] = []
            for try await r in group { out.append(r) }
            return out.sorted { $0.store < $1.store }
        }
        for r in results {
            let failures = r.ready ? 0 : try await StoreRegistry.failures(r.store, session) + 1
            let wait = r.ready ? Self.interval : StoreJobs.backoff(afterAttempts: failures)
            try await StoreRegistry.recordHealth(r.store, ready: r.ready, message: r.message, missing: r.missing, now: now,
                                                 next: now.addingTimeInterval(wait), session)
        }
        return results
    }

    static func check(_ name: String, _ spec: StoreSpec, secretsDirectory: String?) async -> Result {
        do {
            let secret = try spec.credentials.map { try SecretFile.credentials($0, in: secretsDirectory, store: name) }
            let connector = try Connectors.make(StoreAccess(name: name, spec: spec, secret: secret))
            let missing = try await connector.missingEntries()
            if missing.isEmpty { return Result(store: name, ready: true, message: "reachable; every entry of holds exists", missing: []) }
            return Result(store: name, ready: false, message: "reachable, but \(Text.list(missing.map { Text.quoted($0) })) of holds do not exist", missing: missing)
        } catch {
            return Result(store: name, ready: false, message: String(describing: error), missing: [])
        }
    }
}
