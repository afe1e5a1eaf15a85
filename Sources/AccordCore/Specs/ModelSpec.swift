public struct ModelVersion: Hashable, Sendable {
    public var version: String
    public var artifact: String
    /// `sha256:<64 lowercase hex>`.
    public var digest: String
    public var evaluation: [String: Double] = [:]
    /// Ed25519 signature over the UTF-8 bytes of `digest`, 64 bytes.
    public var signature: [UInt8]?

    public init(version: String, artifact: String, digest: String) {
        self.version = version
        self.artifact = artifact
        self.digest = digest
    }
}

public struct ModelSpec: Hashable, Sendable {
    public struct Shadow: Hashable, Sendable {
        public var version: String
        public var trafficPercent: Double
        public init(version: String, trafficPercent: Double) {
            self.version = version
            self.trafficPercent = trafficPercent
        }
    }

    public struct Promotion: Hashable, Sendable {
        public var metric: String
        public var minImprovement: Double
        public init(metric: String, minImprovement: Double) {
            self.metric = metric
            self.minImprovement = minImprovement
        }
    }

    public var versions: [ModelVersion]
    public var production: String?
    public var shadow: Shadow?
    public var promotion: Promotion?

    public init(versions: [ModelVersion]) {
        self.versions = versions
    }

    public func version(_ name: String) -> ModelVersion? {
        versions.first { $0.version == name }
    }
}
