import AccordCore

extension Decoding {
    mutating func workerSpec(_ node: YAMLNode) -> WorkerSpec? {
        guard let f = fields(node, "spec", allowed: ["role", "model", "capabilities", "costPerTask", "confidenceThreshold", "replicas", "paused"],
                             required: ["role", "model"], owner: "a Worker spec") else { return nil }
        let before = diagnostics.count
        let role = f["role"].flatMap { string($0, "spec.role") }
        let model = f["model"].flatMap { reference($0, "spec.model") }
        let capabilities = f["capabilities"].flatMap { tokenList($0, "spec.capabilities") }
        let cost = f["costPerTask"].flatMap { number($0, "spec.costPerTask", in: 0...1_000_000) }
        let threshold = f["confidenceThreshold"].flatMap { number($0, "spec.confidenceThreshold", in: 0...1) }
        let replicas = f["replicas"].flatMap { integer($0, "spec.replicas", in: 0...100) }
        let paused = f["paused"].flatMap { bool($0, "spec.paused") }
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
