import AccordCore

/// A Worker's row in `platform.workers`. `model_version` is resolved through
/// the model's `production` alias and `status` follows the worker's and its
/// tenant's switches, so both change when another object changes.
enum WorkerRecord {
    static let columns: [Column] = [
        Column("role", .text), Column("model", .text), Column("model_version", .text),
        Column("capabilities", .json), Column("cost_per_task", .double),
        Column("confidence_threshold", .double), Column("replicas", .integer), Column("status", .text),
    ]

    static func fields(_ spec: WorkerSpec, productionVersion: String?, tenantSuspended: Bool) -> [String: JSONValue] {
        [
            "role": .string(spec.role),
            "model": .string(spec.model),
            "model_version": JSONValue(productionVersion),
            "capabilities": JSONValue(strings: spec.capabilities),
            "cost_per_task": JSONValue(spec.costPerTask),
            "confidence_threshold": JSONValue(spec.confidenceThreshold),
            "replicas": JSONValue(spec.replicas),
            "status": .string(tenantSuspended ? "stopped" : spec.paused ? "paused" : "running"),
        ]
    }

    /// The canonical bytes of `.object(fields(…))`, written without the
    /// dictionary (the record hash of most objects; tested against it).
    static func canonicalFields(_ spec: WorkerSpec, productionVersion: String?, tenantSuspended: Bool) -> [UInt8] {
        var w = CanonicalObject()
        w.strings("capabilities", spec.capabilities)
        w.number("confidence_threshold", spec.confidenceThreshold)
        w.number("cost_per_task", spec.costPerTask)
        w.string("model", spec.model)
        w.string("model_version", productionVersion)
        w.number("replicas", spec.replicas)
        w.string("role", spec.role)
        w.string("status", tenantSuspended ? "stopped" : spec.paused ? "paused" : "running")
        return w.finished()
    }

    /// A worker waits while its model has no production version.
    static func stall(model: String, productionVersion: String?) -> Stall? {
        guard productionVersion == nil else { return nil }
        return Stall(reason: .modelNotPromoted,
                     message: "Model/\(model) has no production version; the worker is deployed once one is promoted",
                     keepsLive: ["model_version"])
    }

    static func spec(_ spec: WorkerSpec) -> JSONValue {
        var out: [String: JSONValue] = [
            "role": .string(spec.role), "model": .string(spec.model),
            "capabilities": JSONValue(strings: spec.capabilities),
            "replicas": JSONValue(spec.replicas), "paused": .bool(spec.paused),
        ]
        if let cost = spec.costPerTask { out["costPerTask"] = .number(cost) }
        if let threshold = spec.confidenceThreshold { out["confidenceThreshold"] = .number(threshold) }
        return .object(out)
    }

    /// `spec(_:)`'s canonical members, written in key order without the tree.
    static func writeSpec(_ spec: WorkerSpec, _ w: inout CanonicalObject) {
        w.strings("capabilities", spec.capabilities)
        if let threshold = spec.confidenceThreshold { w.number("confidenceThreshold", threshold) }
        if let cost = spec.costPerTask { w.number("costPerTask", cost) }
        w.string("model", spec.model)
        w.bool("paused", spec.paused)
        w.number("replicas", spec.replicas)
        w.string("role", spec.role)
    }
}
