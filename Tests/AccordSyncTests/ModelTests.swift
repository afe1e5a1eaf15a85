import AccordCore
import AccordEngine
@testable import AccordStore
import AccordTestSupport
import Foundation
import Testing

/// The model registry against a real PostgreSQL: signed, gated promotion,
/// rollback, immutable versions, and workers that follow production.
@Suite(TestDatabase.required)
struct ModelTests {
    typealias T = ApplyTests
    static let drafter = "models/support-drafter.yaml"
    static let production = "SELECT production_version FROM platform.models WHERE name = 'support-drafter'"
    static let workerVersions = "SELECT string_agg(DISTINCT model_version, ',') FROM platform.workers WHERE model = 'support-drafter'"

    static func status(_ db: ScratchDatabase) async throws -> ObjectStatus? {
        try await db.withSession { try await ObjectStatus.read($0, id: ObjectID(kind: .model, name: "support-drafter")) }.first
    }

    static func audit(_ db: ScratchDatabase, _ action: String) async throws -> [JSONValue] {
        try await db.withSession { session in
            try await session.rows("SELECT body FROM accord.audit_log WHERE object = 'Model/support-drafter' AND action = $1 ORDER BY seq",
                                   [action]).map { try JSONParser.parse(try $0.decode(String.self)) }
        }
    }

    @Test func aSignedBetterVersionIsPromotedAndItsWorkersFollowWithTheNumbersAudited() async throws {
        let db = try await TestDatabase.scratch()
        defer { Task { await db.drop() } }
        var manifests = try Manifests.examples()
        _ = try await T.apply(manifests.desired(), db)
        #expect(try await T.scalar(db, Self.production) == "3")

        manifests.edit(Self.drafter, "production: \"3\"", "production: \"4\"")
        manifests.edit(Self.drafter, "version: \"4\"\n    trafficPercent", "version: \"2\"\n    trafficPercent")
        let report = try await T.apply(manifests.desired(), db, revision: "r2")
        #expect(report.outcome?.failed.isEmpty == true)
        #expect(try await T.scalar(db, Self.production) == "4")
        #expect(try await T.scalar(db, Self.workerVersions) == "4")
        let entry = try #require(try await Self.audit(db, "update").last)
        let move = try #require(entry["detail"]?["promotion"])
        #expect(move["outcome"] == .string("promotion"))
        #expect(move["from"] == .string("3") && move["to"] == .string("4"))
        #expect(move["metric"] == .string("faithfulness"))
        #expect(move["fromValue"] == .number(0.91) && move["toValue"] == .number(0.93))
        #expect(move["signedBy"]?.stringValue?.hasPrefix("model-signing.pub.pem") == true)
        #expect(try await T.scalar(db, "SELECT string_agg(outcome || ':' || coalesce(from_version, '-') || '>' || to_version, ',' ORDER BY id) FROM accord.model_promotions WHERE model = 'support-drafter'")
                == "initial:->3,promotion:3>4")
    }

    @Test func aVersionThatDoesNotBeatProductionByTheMarginIsBlockedWithTheNumbers() async throws {
        let db = try await TestDatabase.scratch()
        defer { Task { await db.drop() } }
        var manifests = try Manifests.examples()
        _ = try await T.apply(manifests.desired(), db)

        manifests.edit(Self.drafter, "minImprovement: 0.01", "minImprovement: 0.05")
        manifests.edit(Self.drafter, "production: \"3\"", "production: \"4\"")
        manifests.edit(Self.drafter, "version: \"4\"\n    trafficPercent", "version: \"2\"\n    trafficPercent")
        manifests.edit(Self.drafter, "trafficPercent: 5", "trafficPercent: 20")
        let plan = try await T.preview(manifests.desired(), db)
        let step = try #require(plan.steps.first { $0.id.kind == .model })
        #expect(step.changes.map(\.path).contains("shadow_traffic_percent"))
        #expect(!step.changes.map(\.path).contains("production_version"), "the plan keeps production where it is")
        #expect(step.desired?.stall?.reason == ModelGate.blocked)
        #expect(!plan.steps.contains { $0.id.kind == .worker }, "no worker is redeployed")

        let report = try await T.apply(manifests.desired(), db, revision: "r2")
        let failure = try #require(report.outcome?.failed.first { $0.id.kind == .model })
        #expect(failure.reason == .promotionBlocked && failure.stalled)
        #expect(failure.message.contains("faithfulness 0.93 of version 4 does not beat 0.91 of version 3 by 0.05 (needs at least 0.96)"))
        #expect(failure.message.contains("production stays at version 3"))
        #expect(try await T.scalar(db, Self.production) == "3")
        #expect(try await T.scalar(db, Self.workerVersions) == "3")
        #expect(try await T.scalar(db, "SELECT shadow_traffic_percent::text FROM platform.models WHERE name = 'support-drafter'") == "20",
                "the rest of the model applies")
        let status = try #require(try await Self.status(db))
        #expect(status.stalled && status.conditions.first { $0.type == .stalled }?.reason == "PromotionBlocked")
        let blocked = try await Self.audit(db, "update-failed")
        #expect(blocked.count == 1)
        let facts = try #require(blocked.first?["detail"]?["facts"])
        #expect(facts["from"] == .string("3") && facts["to"] == .string("4") && facts["outcome"] == .string("blocked"))
        #expect(facts["fromValue"] == .number(0.91) && facts["toValue"] == .number(0.93) && facts["minImprovement"] == .number(0.05))

        let again = try await T.apply(manifests.desired(), db, revision: "r3")
        #expect(again.outcome?.applied.isEmpty == true)
        #expect(try await Self.audit(db, "update-failed").count == 1, "the same block is audited once")

        manifests.edit(Self.drafter, "minImprovement: 0.05", "minImprovement: 0.02")
        _ = try await T.apply(manifests.desired(), db, revision: "r4")
        #expect(try await T.scalar(db, Self.production) == "4")
        #expect(try await T.scalar(db, Self.workerVersions) == "4")
        #expect(try await Self.status(db)?.stalled == false)
    }

    @Test func aBadSignatureOrNoTrustedKeysBlocksThePromotion() async throws {
        let db = try await TestDatabase.scratch()
        defer { Task { await db.drop() } }
        var manifests = try Manifests.examples()
        _ = try await T.apply(manifests.desired(), db)
        manifests.edit(Self.drafter, "production: \"3\"", "production: \"4\"")
        manifests.edit(Self.drafter, "version: \"4\"\n    trafficPercent", "version: \"2\"\n    trafficPercent")

        let untrusted = try await T.apply(manifests.desired(), db, revision: "r2") { $0.keys.trustedKeys = nil }
        #expect(untrusted.outcome?.failed.first?.message.contains("no trusted model-signing keys are configured (ACCORD_TRUSTED_KEYS_DIR") == true)
        #expect(try await T.scalar(db, Self.production) == "3")

        // Version 4 carrying version 3's signature: a valid signature, over another digest.
        let text = manifests.files[Self.drafter]!
        let signatures = text.components(separatedBy: "signature: ").dropFirst().map { String($0.prefix { $0 != "\n" }) }
        manifests.edit(Self.drafter, signatures[2], signatures[1])
        let forged = try await T.apply(manifests.desired(), db, revision: "r3")
        let failure = try #require(forged.outcome?.failed.first { $0.id.kind == .model })
        #expect(failure.message.contains("the signature of version 4 does not verify against any of the 1 trusted keys"))
        #expect(try await T.scalar(db, Self.production) == "3")
        #expect(try await T.scalar(db, Self.workerVersions) == "3")
    }

    @Test func movingBackToAFormerProductionVersionIsARollbackWithoutGate() async throws {
        let db = try await TestDatabase.scratch()
        defer { Task { await db.drop() } }
        var manifests = try Manifests.examples()
        _ = try await T.apply(manifests.desired(), db)
        manifests.edit(Self.drafter, "production: \"3\"", "production: \"4\"")
        manifests.edit(Self.drafter, "version: \"4\"\n    trafficPercent", "version: \"2\"\n    trafficPercent")
        _ = try await T.apply(manifests.desired(), db, revision: "r2")
        #expect(try await T.scalar(db, Self.production) == "4")

        // Back to 3: worse on the metric, and no trusted keys at all — a rollback needs neither.
        manifests.edit(Self.drafter, "production: \"4\"", "production: \"3\"")
        let report = try await T.apply(manifests.desired(), db, revision: "r3") { $0.keys.trustedKeys = nil }
        #expect(report.outcome?.failed.isEmpty == true)
        #expect(try await T.scalar(db, Self.production) == "3")
        #expect(try await T.scalar(db, Self.workerVersions) == "3")
        let move = try #require(try await Self.audit(db, "update").last?["detail"]?["promotion"])
        #expect(move["outcome"] == .string("rollback") && move["from"] == .string("4") && move["to"] == .string("3"))
        #expect(move["metric"] == .string("faithfulness") && move["fromValue"] == .number(0.93) && move["toValue"] == .number(0.91),
                "a rollback carries the metric values of both versions")
        #expect(try await T.scalar(db, "SELECT detail->>'fromValue' || '>' || (detail->>'toValue') FROM accord.model_promotions WHERE model = 'support-drafter' AND outcome = 'rollback'")
                == "0.93>0.91")

        // Version 2 sorts before 3 but was never production: not a
        // rollback. It goes through the whole gate, and 0.86 does not beat
        // 0.91 — with or without trusted keys, production stays.
        manifests.edit(Self.drafter, "production: \"3\"", "production: \"2\"")
        manifests.edit(Self.drafter, "version: \"2\"\n    trafficPercent", "version: \"4\"\n    trafficPercent")
        let unchecked = try await T.apply(manifests.desired(), db, revision: "r4") { $0.keys.trustedKeys = nil }
        let both = try #require(unchecked.outcome?.failed.first { $0.id.kind == .model })
        #expect(both.reason == .promotionBlocked)
        #expect(both.message.contains("no trusted model-signing keys are configured") && both.message.contains("does not beat"))
        #expect(try await T.scalar(db, Self.production) == "3")
        let down = try await T.apply(manifests.desired(), db, revision: "r5")
        let blocked = try #require(down.outcome?.failed.first { $0.id.kind == .model })
        #expect(blocked.message == "promotion of production from version 3 to 2 blocked: faithfulness 0.86 of version 2 does not beat 0.91 of version 3 by 0.01 (needs at least 0.92); production stays at version 3")
        #expect(try await T.scalar(db, Self.production) == "3")
        #expect(try await T.scalar(db, Self.workerVersions) == "3")
        let facts = try #require(try await Self.audit(db, "update-failed").last?["detail"]?["facts"])
        #expect(facts["outcome"] == .string("blocked") && facts["from"] == .string("3") && facts["to"] == .string("2"))
        #expect(facts["fromValue"] == .number(0.91) && facts["toValue"] == .number(0.86))
    }

    @Test func aChangedDigestOrArtifactOfARegisteredVersionIsRefusedAndNothingChanges() async throws {
        let db = try await TestDatabase.scratch()
        defer { Task { await db.drop() } }
        var manifests = try Manifests.examples()
        _ = try await T.apply(manifests.desired(), db)
        let before = try await T.rowVersions(db)

        let digest3 = "sha256:981dafa78ad8e63f5cf54a6f5bbb0afb65a80ee66e711669482b2700984a4061"
        let other = "sha256:" + String(repeating: "ab", count: 32)
        manifests.edit(Self.drafter, digest3, other)
        manifests.edit(Self.drafter, "trafficPercent: 5", "trafficPercent: 10")
        let report = try await T.apply(manifests.desired(), db, revision: "r2")
        let failure = try #require(report.outcome?.failed.first { $0.id.kind == .model })
        #expect(failure.reason == .versionImmutable && failure.stalled)
        #expect(failure.message.contains("version 3: digest \(digest3) → \(other)"))
        #expect(try await T.rowVersions(db) == before, "nothing of the model changes, and its workers stay")
        #expect(report.outcome?.failed.count == 1, "the model's workers are not held back")

        // Removed from git and added back with another artifact: still the registered version.
        manifests.edit(Self.drafter, other, digest3)
        manifests.edit(Self.drafter, "trafficPercent: 10", "trafficPercent: 5")
        let text = manifests.files[Self.drafter]!
        let block = text.components(separatedBy: "    - version: \"2\"\n")[1].components(separatedBy: "    - version: \"3\"")[0]
        manifests.edit(Self.drafter, "    - version: \"2\"\n" + block, "")
        _ = try await T.apply(manifests.desired(), db, revision: "r3")
        #expect(try await T.scalar(db, "SELECT count(*)::text FROM platform.model_versions WHERE model = 'support-drafter'") == "2")
        manifests.edit(Self.drafter, "    - version: \"3\"\n", "    - version: \"2\"\n" + block.replacingOccurrences(of: "support-drafter/2", with: "support-drafter/2b") + "    - version: \"3\"\n")
        let readded = try await T.apply(manifests.desired(), db, revision: "r4")
        #expect(readded.outcome?.failed.first?.message.contains("version 2: artifact s3://models/support-drafter/2 → s3://models/support-drafter/2b") == true)
        #expect(try await T.scalar(db, "SELECT count(*)::text FROM platform.model_versions WHERE model = 'support-drafter'") == "2")
    }

    @Test func theFirstProductionVersionNeedsAValidSignatureOnly() async throws {
        let db = try await TestDatabase.scratch()
        defer { Task { await db.drop() } }
        var manifests = try Manifests.examples()
        let digest = "sha256:" + String(repeating: "0f", count: 32)
        manifests.files["models/new-model.yaml"] = """
            apiVersion: accord.dev/v1
            kind: Model
            metadata: {name: new-model}
            spec:
              versions:
                - version: "1"
                  artifact: s3://models/new-model/1
                  digest: \(digest)
                  evaluation: {faithfulness: 0.10}
              production: "1"
            """
        manifests.files["workers/new-worker.yaml"] = """
            apiVersion: accord.dev/v1
            kind: Worker
            metadata: {name: new-worker, tenant: acme-corp}
            spec: {role: drafter, model: new-model}
            """
        let unsigned = try await T.apply(manifests.desired(), db)
        let failures = unsigned.outcome?.failed ?? []
        #expect(failures.first { $0.id.kind == .model }?.message.contains("first production version 1 blocked: version 1 is not signed") == true)
        #expect(failures.first { $0.id.kind == .worker }?.reason == .modelNotPromoted)
        #expect(try await T.scalar(db, "SELECT coalesce(production_version, 'none') FROM platform.models WHERE name = 'new-model'") == "none",
                "the model is registered without a production version")

        manifests.edit("models/new-model.yaml", "evaluation: {faithfulness: 0.10}", "evaluation: {faithfulness: 0.10}\n      signature: \(ExampleKeys.signModelDigest(digest))")
        let signed = try await T.apply(manifests.desired(), db, revision: "r2")
        #expect(signed.outcome?.failed.isEmpty == true)
        #expect(try await T.scalar(db, "SELECT model_version FROM platform.workers WHERE name = 'new-worker'") == "1")
    }
}
