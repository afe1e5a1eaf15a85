import AccordCore

extension Decoding {
    static let workerFields = ["role", "model", "capabilities", "costPerTask", "confidenceThreshold", "replicas", "paused"]
    static let workerRequired = ["role", "model"]

    mutating func workerSpec(_ node: YAMLNode) -> WorkerSpec? {
        guard let f = fields(node, "spec", allowed: Self.workerFields, required: Self.workerRequired, owner: "a Worker spec") else { return nil }
        return workerSpec { f[$0] }
    }

    /// The spec from its fields' values, once the mapping's keys are
    /// checked (by `fields`, or as `WorkerEvents` reads them).
    mutating func workerSpec(_ field: (String) -> YAMLNode?) -> WorkerSpec? {
        let before = diagnostics.count
        let role = field("role").flatMap { string($0, "spec.role") }
        let model = field("model").flatMap { reference($0, "spec.model") }
        let capabilities = field("capabilities").flatMap { tokenList($0, "spec.capabilities") }
        let cost = field("costPerTask").flatMap { number($0, "spec.costPerTask", in: 0...1_000_000) }
        let threshold = field("confidenceThreshold").flatMap { number($0, "spec.confidenceThreshold", in: 0...1) }
        let replicas = field("replicas").flatMap { integer($0, "spec.replicas", in: 0...100) }
        let paused = field("paused").flatMap { bool($0, "spec.paused") }
        guard diagnostics.count == before, let role, let model else { return nil }

        var spec = WorkerSpec(role: role, model: model)
        spec.capabilities = capabilities ?? []
        spec.costPerTask = cost
        spec.confidenceThreshold = threshold
        spec.replicas = replicas ?? 1
        spec.paused = paused ?? false
        return spec
    }
}
