public struct WorkerSpec: Hashable, Sendable {
    public var role: String
    /// Name of the Model the worker runs, resolved through its `production` alias.
    public var model: String
    public var capabilities: [String] = []
    public var costPerTask: Double?
    public var confidenceThreshold: Double?
    public var replicas = 1
    public var paused = false

    public init(role: String, model: String) {
        self.role = role
        self.model = model
    }
}
