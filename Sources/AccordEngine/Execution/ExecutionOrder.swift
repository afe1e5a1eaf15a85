import AccordCore

/// The pure half of executing a plan: which steps go together in one
/// transaction, which wait for a dependency that failed, which are held by
/// a stall, which tenants need a new data key. The store's executor only
/// runs the batches this decides (`AccordStore.Executor`).
public enum ExecutionOrder {
    /// Objects per transaction. Tenants go in batches as large, but with
    /// at most `schemaTenantsPerBatch` of them with their own schema: each
    /// of those creates 37 relations, every one locked until commit, and
    /// the server's lock table is shared and bounded (64 per connection by
    /// default). Tenants in the shared stores take no locks of their own:
    /// the shared tables are checked once per batch. (A batch of 2,000
    /// rather than 200 of them: 10,000 new tenants in 0.40 s instead of
    /// 0.63 s, docs/benchmarks-notes.md.)
    public static let batchSize = 2_000
    public static let tenantBatchSize = batchSize
    public static let schemaTenantsPerBatch = 20

    /// Consecutive steps with the same kind and action: the plan's order
    /// (references first, deletions in reverse) cut where either changes.
    public static func groups(_ steps: [PlanStep]) -> [[PlanStep]] {
        var out: [[PlanStep]] = []
        for step in steps {
            if let last = out.last?.last, last.id.kind == step.id.kind, last.action == step.action {
                out[out.count - 1].append(step)
            } else {
                out.append([step])
            }
        }
        return out
    }

    /// The steps of one group cut into transactions; with `placedBy`, no
    /// batch mixes steps placed apart (each region's tenants in batches of
    /// their own, regions in the order they first appear).
    public static func batches(_ steps: [PlanStep], placedBy place: ((PlanStep) -> String?)?) -> [[PlanStep]] {
        guard let place else { return batches(steps) }
        var order: [String?] = [], shares: [String?: [PlanStep]] = [:]
        for step in steps {
            let key = place(step)
            if shares[key] == nil { order.append(key) }
            shares[key, default: []].append(step)
        }
        return order.flatMap { batches(shares[$0]!) }
    }

    /// The steps of one group cut into transactions.
    public static func batches(_ steps: [PlanStep]) -> [[PlanStep]] {
        guard let kind = steps.first?.id.kind else { return [] }
        guard kind == .tenant else { return chunks(steps, of: batchSize) }
        var out: [[PlanStep]] = []
        var current: [PlanStep] = []
        var schemas = 0
        for step in steps {
            let ownSchema = step.desired?.record["isolation"] == .string("schema")
            if current.count == tenantBatchSize || (ownSchema && schemas == schemaTenantsPerBatch) {
                out.append(current)
                current = []
                schemas = 0
            }
            current.append(step)
            if ownSchema { schemas += 1 }
        }
        if !current.isEmpty { out.append(current) }
        return out
    }

    /// `items` in consecutive runs of at most `size`.
    public static func chunks<T>(_ items: [T], of size: Int) -> [[T]] {
        stride(from: 0, to: items.count, by: size).map { Array(items[$0..<min($0 + size, items.count)]) }
    }

    /// The objects a step needs applied first.
    public static func dependencies(_ step: PlanStep) -> [ObjectID] {
        step.desired.map { References.of($0.record) } ?? []
    }

    /// Whether a step that failed holds back the objects that refer to it:
    /// a model already live never holds its workers back (they resolve
    /// against its live production version).
    public static func blocksDependents(_ step: PlanStep) -> Bool {
        !(step.id.kind == .model && step.action == .update)
    }

    /// A step not applied in this pass, and why.
    public typealias Deferred = (step: PlanStep, failure: ObjectFailure)

    /// A group of steps sorted before it runs.
    public struct Triage: Sendable {
        /// Written as planned.
        public var ready: [PlanStep] = []
        /// Not written: a dependency failed in this pass, or the object
        /// waits as a whole (`Stall.appliesRest` false).
        public var waiting: [Deferred] = []
        /// Written as planned (when anything changes) and still reported:
        /// a blocked promotion keeps production where it is while the
        /// rest of the model applies.
        public var held: [Deferred] = []
    }

    /// Sorts a group: objects referring to one that failed earlier in the
    /// pass wait (`DependencyNotReady`), stalled objects wait or apply the
    /// rest of their row, and everything else is ready.
    public static func triage(_ group: [PlanStep], failed: Set<ObjectID>) -> Triage {
        var out = Triage()
        for step in group {
            if !failed.isEmpty, let blocker = dependencies(step).first(where: failed.contains) {
                out.waiting.append((step, ObjectFailure(id: step.id, action: step.action, reason: .dependencyNotReady,
                                                     message: "\(blocker) was not applied")))
            } else if let stall = step.desired?.stall {
                let failure = ObjectFailure(id: step.id, action: step.action, reason: stall.reason, message: stall.message,
                                            disposition: .stalled, detail: stall.detail)
                if stall.appliesRest {
                    if step.action == .create || !step.changes.isEmpty { out.ready.append(step) }
                    out.held.append((step, failure))
                } else {
                    out.waiting.append((step, failure))
                }
            } else {
                out.ready.append(step)
            }
        }
        return out
    }

    /// Whether a group's tenants are checked for a data key (onboarding,
    /// and an update finding none active).
    public static func needsDataKeys(_ group: [PlanStep]) -> Bool {
        guard let first = group.first else { return false }
        return first.id.kind == .tenant && (first.action == .create || first.action == .update)
    }

    /// A tenant's data keys as the store has them: the latest version, and
    /// whether one is active.
    public typealias KeyState = (latest: Int, active: Bool)

    /// Tenants without an active data key get the next version in the
    /// transaction that writes them; without a key-encryption key they
    /// wait instead (stalled), and the others go on.
    public static func dataKeys(_ steps: [PlanStep], known: [String: KeyState], hasKEK: Bool)
        -> (ready: [PlanStep], newKeys: [String: Int], waiting: [Deferred]) {
        var ready: [PlanStep] = [], waiting: [Deferred] = []
        var newKeys: [String: Int] = [:]
        for step in steps {
            let state = known[step.id.name]
            if state?.active == true {
                ready.append(step)
            } else if !hasKEK {
                waiting.append((step, ObjectFailure(
                    id: step.id, action: step.action, reason: .keyEncryptionKeyMissing,
                    message: "no key-encryption key is configured (ACCORD_KEK_FILE or --kek-file), so the tenant's data key cannot be created; the tenant is not onboarded until one is")))
            } else {
                newKeys[step.id.name] = (state?.latest ?? 0) + 1
                ready.append(step)
            }
        }
        return (ready, newKeys, waiting)
    }
}
