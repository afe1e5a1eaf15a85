import AccordCore
import Foundation

/// What the registry already holds about each model: the input of the
/// promotion gate, read from the live database before planning.
public struct ModelLedger: Sendable {
    public struct Version: Sendable, Hashable {
        public let digest: String
        public let artifact: String
        public init(digest: String, artifact: String) {
            self.digest = digest
            self.artifact = artifact
        }
    }

    public struct Model: Sendable {
        /// The live production version.
        public var production: String?
        /// Every version ever registered, as first registered (never forgotten).
        public var registered: [String: Version] = [:]
        /// Versions that were production at some time: moving back to one is a rollback.
        public var formerProduction: Set<String> = []
        /// Live evaluations, for a production version no longer listed in git.
        public var evaluation: [String: [String: Double]] = [:]

        public init(production: String? = nil) {
            self.production = production
        }
    }

    public var models: [String: Model]

    public init(models: [String: Model] = [:]) {
        self.models = models
    }
}

/// SPEC §1 Model: registered versions are immutable, and `production`
/// moves to a version that was never production only through the gate —
/// the target's signature verifies against a trusted key and its
/// `promotion.metric` beats the current production's by `minImprovement`
/// (the first production version needs the signature only), whether its
/// name sorts before or after production's; moving back to a version that
/// was production before is a rollback, without gate. Every move carries
/// both versions and both metric values. Pure: the ledger and the trusted
/// keys come in as values.
///
/// A blocked promotion keeps the live production version in the model's
/// row, applies the rest (new versions, shadow) and stalls the model with
/// the numbers; a changed registered version stalls the whole model. In
/// both cases the model's workers keep the live production version.
public enum ModelGate {
    public static let blocked = FailureReason.promotionBlocked
    public static let immutable = FailureReason.versionImmutable

    enum Decision: Sendable {
        case none
        case move(JSONValue)
        case hold(Stall)
    }

    struct Version {
        let digest: String
        let artifact: String
        let evaluation: [String: Double]
        let signature: String?
    }

    public static func resolve(_ desired: [DesiredObject], ledger: ModelLedger, trusted: TrustedKeys?) -> [DesiredObject] {
        // Each model judged on its own (signatures verified), on every core.
        let models = desired.indices.filter { desired[$0].id.kind == .model }
        guard !models.isEmpty else { return desired }
        let decisions = ParallelMap.run(models) { i in
            decide(desired[i].record, ledger.models[desired[i].id.name] ?? ModelLedger.Model(), trusted)
        }
        var out = desired
        var held: [String: String?] = [:]
        for (i, decision) in zip(models, decisions) {
            let d = desired[i]
            let known = ledger.models[d.id.name] ?? ModelLedger.Model()
            switch decision {
            case .none:
                continue
            case .move(let detail):
                out[i] = d.with(record: d.record, recordHash: d.recordHash, stall: d.stall,
                                auditDetail: d.auditDetail.merging(["promotion": detail]) { $1 })
            case .hold(let stall):
                var record = d.record
                record.fields["production_version"] = JSONValue(known.production)
                out[i] = d.with(record: record, recordHash: sha256Hex(canonicalOf: .object(record.fields)),
                                stall: stall, auditDetail: d.auditDetail)
                if record["production_version"] != d.record["production_version"] {
                    held[d.id.name] = known.production
                }
            }
        }
        guard !held.isEmpty else { return out }
        for (i, d) in out.enumerated() where d.id.kind == .worker {
            guard let model = d.record["model"].stringValue, let production = held[model] else { continue }
            var record = d.record
            record.fields["model_version"] = JSONValue(production)
            let waiting = WorkerRecord.stall(model: model, productionVersion: production)
            let stall = waiting ?? (d.stall?.reason == .modelNotPromoted ? nil : d.stall)
            out[i] = d.with(record: record, recordHash: sha256Hex(canonicalOf: .object(record.fields)),
                            stall: stall, auditDetail: d.auditDetail)
        }
        return out
    }

    static func decide(_ record: Record, _ known: ModelLedger.Model, _ trusted: TrustedKeys?) -> Decision {
        let versions = versions(record["versions"])
        var changed: [String] = []
        var changes: [JSONValue] = []
        for (name, registered) in known.registered.sorted(by: { $0.key < $1.key }) {
            guard let v = versions[name], (v.digest, v.artifact) != (registered.digest, registered.artifact) else { continue }
            var parts: [String] = []
            if v.digest != registered.digest { parts.append("digest \(registered.digest) → \(v.digest)") }
            if v.artifact != registered.artifact { parts.append("artifact \(registered.artifact) → \(v.artifact)") }
            changed.append("version \(name): \(parts.joined(separator: ", "))")
            changes.append(.object(["version": .string(name), "registered": .object(["digest": .string(registered.digest), "artifact": .string(registered.artifact)]),
                                    "manifest": .object(["digest": .string(v.digest), "artifact": .string(v.artifact)])]))
        }
        if !changed.isEmpty {
            return .hold(Stall(reason: immutable,
                               message: "registered model versions never change; publish the change as a new version (nothing of this model is applied until then): \(changed.joined(separator: "; "))",
                               detail: .object(["versions": .array(changes)])))
        }

        let target = record["production_version"].stringValue
        let current = known.production
        guard target != current else { return .none }
        // Every move carries both versions and their metric values.
        var detail: [String: JSONValue] = ["from": JSONValue(current), "to": JSONValue(target)]
        detail.merge(values(record, versions, from: current, to: target, known)) { $1 }
        guard let target, let version = versions[target] else {
            detail["outcome"] = .string("withdrawal")
            return .move(.object(detail))
        }
        // Only a version that was production before is a rollback; any
        // other target, whatever its name, goes through the whole gate.
        if current != nil, known.formerProduction.contains(target) {
            detail["outcome"] = .string("rollback")
            return .move(.object(detail))
        }

        var problems: [String] = []
        switch signer(version, name: target, trusted) {
        case .success(let key): detail["signedBy"] = .string("\(key.file) (\(key.fingerprint))")
        case .failure(let problem): problems.append(problem.description)
        }
        if let current, let problem = compare(record, versions, from: current, to: target, known) {
            problems.append(problem)
        }
        guard problems.isEmpty else {
            detail["outcome"] = .string("blocked")
            detail["problems"] = JSONValue(strings: problems)
            let what = current.map { "promotion of production from version \($0) to \(target)" } ?? "first production version \(target)"
            let stays = current.map { "production stays at version \($0)" } ?? "the model has no production version until then"
            return .hold(Stall(reason: blocked, message: "\(what) blocked: \(problems.joined(separator: "; ")); \(stays)",
                               appliesRest: true, detail: .object(detail)))
        }
        detail["outcome"] = .string(current == nil ? "initial" : "promotion")
        return .move(.object(detail))
    }

    struct Problem: Error, CustomStringConvertible {
        let description: String
    }

    static func signer(_ version: Version, name: String, _ trusted: TrustedKeys?) -> Result<TrustedKeys.Key, Problem> {
        guard let signature = version.signature else {
            return .failure(Problem(description: "version \(name) is not signed (spec.versions[].signature)"))
        }
        guard let trusted, !trusted.keys.isEmpty else {
            return .failure(Problem(description: "no trusted model-signing keys are configured (ACCORD_TRUSTED_KEYS_DIR or --trusted-keys-dir), so the signature of version \(name) cannot be checked"))
        }
        guard let bytes = Base64.decode(signature), let key = trusted.signer(of: bytes, over: version.digest) else {
            return .failure(Problem(description: "the signature of version \(name) does not verify against any of the \(trusted.keys.count) trusted keys in \(trusted.directory)"))
        }
        return .success(key)
    }

    /// The promotion metric and its value for both ends of a move: the
    /// target's from git, the current production's from git or else from
    /// the live registry (it may have left git); null where the model has no
    /// `spec.promotion` or a version no evaluation of the metric.
    static func values(_ record: Record, _ versions: [String: Version], from current: String?, to target: String?,
                       _ known: ModelLedger.Model) -> [String: JSONValue] {
        let metric = record["promotion_metric"].stringValue
        let from = metric.flatMap { m in current.flatMap { versions[$0]?.evaluation[m] ?? known.evaluation[$0]?[m] } }
        let to = metric.flatMap { m in target.flatMap { versions[$0]?.evaluation[m] } }
        return ["metric": JSONValue(metric), "minImprovement": JSONValue(record["promotion_min_improvement"].numberValue),
                "fromValue": JSONValue(from), "toValue": JSONValue(to)]
    }

    /// Why `target` does not beat production `current` on the promotion
    /// metric by `minImprovement`; nil when it does.
    static func compare(_ record: Record, _ versions: [String: Version], from current: String, to target: String,
                        _ known: ModelLedger.Model) -> String? {
        guard let metric = record["promotion_metric"].stringValue,
              let minImprovement = record["promotion_min_improvement"].numberValue else {
            return "the model has no spec.promotion, so there is no metric to compare version \(target) with production \(current)"
        }
        let found = values(record, versions, from: current, to: target, known)
        guard let new = found["toValue"]?.numberValue else { return "version \(target) has no evaluation.\(metric)" }
        guard let old = found["fromValue"]?.numberValue else {
            return "production version \(current) has no evaluation.\(metric) to compare with"
        }
        // A tolerance far below any metric's precision, so 0.92 - 0.91 counts as 0.01.
        guard new - old + 1e-9 >= minImprovement else {
            return "\(metric) \(number(new)) of version \(target) does not beat \(number(old)) of version \(current) by \(number(minImprovement)) (needs at least \(number(old + minImprovement)))"
        }
        return nil
    }

    static func versions(_ value: JSONValue) -> [String: Version] {
        guard case .object(let all) = value else { return [:] }
        var out: [String: Version] = [:]
        for (name, v) in all {
            var evaluation: [String: Double] = [:]
            if case .object(let e) = v["evaluation"] ?? .null {
                for (k, x) in e { if let n = x.numberValue { evaluation[k] = n } }
            }
            out[name] = Version(digest: v["digest"]?.stringValue ?? "", artifact: v["artifact"]?.stringValue ?? "",
                                evaluation: evaluation, signature: v["signature"]?.stringValue)
        }
        return out
    }

    public static func number(_ x: Double) -> String {
        String(format: "%.6g", x)
    }
}
