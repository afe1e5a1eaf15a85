import AccordCore
@testable import AccordEngine
import Crypto
import AccordTestSupport
import Foundation
import Testing

/// The promotion gate and the key files it reads, with plain values.
struct ModelGateTests {
    static let keys = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("examples/keys")
    static let signer = try! Ed25519Keys.privateKey(file: ExampleKeys.path("model-signing.pem"))
    static let trusted = TrustedKeys(directory: "/trusted", keys: [(file: "model.pub", key: signer.publicKey)])

    static func sign(_ digest: String) -> String {
        Base64.encode(Array(try! signer.signature(for: Data(digest.utf8))))
    }

    static func digest(_ n: Int) -> String { "sha256:" + String(repeating: String(n % 10), count: 64) }

    /// A model row with versions 1...4 (faithfulness 0.80, 0.85, 0.90, 0.95), all signed unless listed.
    static func model(production: String?, unsigned: Set<String> = [], promotion: Bool = true) -> DesiredObject {
        var versions: [String: JSONValue] = [:]
        for n in 1...4 {
            versions[String(n)] = .object([
                "artifact": .string("s3://m/\(n)"), "digest": .string(digest(n)),
                "evaluation": .object(["faithfulness": .number(0.75 + 0.05 * Double(n))]),
                "signature": unsigned.contains(String(n)) ? .null : .string(sign(digest(n))),
            ])
        }
        let fields: [String: JSONValue] = [
            "production_version": JSONValue(production), "shadow_version": .null, "shadow_traffic_percent": .null,
            "promotion_metric": promotion ? .string("faithfulness") : .null,
            "promotion_min_improvement": promotion ? .number(0.05) : .null, "versions": .object(versions),
        ]
        return DesiredObject(record: Record(id: ObjectID(kind: .model, name: "m"), fields: fields), manifestHash: "h",
                             recordHash: sha256Hex(canonicalOf: .object(fields)), sourcePath: "m.yaml", blobID: nil)
    }

    static func worker(_ version: String?) -> DesiredObject {
        let fields: [String: JSONValue] = ["model": .string("m"), "model_version": JSONValue(version), "status": .string("running")]
        return DesiredObject(record: Record(id: ObjectID(kind: .worker, tenant: "t", name: "w"), fields: fields), manifestHash: "w",
                             recordHash: sha256Hex(canonicalOf: .object(fields)), sourcePath: "w.yaml", blobID: nil)
    }

    static func ledger(production: String?, former: Set<String> = [], registered: [String: String] = [:]) -> ModelLedger {
        var m = ModelLedger.Model(production: production)
        m.formerProduction = former.union(production.map { [$0] } ?? [])
        for (v, d) in registered { m.registered[v] = .init(digest: d, artifact: "s3://m/\(v)") }
        return ModelLedger(models: ["m": m])
    }

    static func resolve(_ objects: [DesiredObject], _ ledger: ModelLedger, trusted: TrustedKeys? = trusted) -> [DesiredObject] {
        ModelGate.resolve(objects, ledger: ledger, trusted: trusted)
    }

    @Test func aBetterSignedVersionIsPromotedAndTheMoveCarriesTheNumbers() throws {
        let out = Self.resolve([Self.model(production: "4"), Self.worker("4")], Self.ledger(production: "3"))
        #expect(out[0].stall == nil)
        let move = try #require(out[0].auditDetail["promotion"])
        #expect(move["outcome"] == .string("promotion") && move["from"] == .string("3") && move["to"] == .string("4"))
        #expect(move["fromValue"] == .number(0.9) && move["toValue"] == .number(0.95))
        #expect(out[1] == Self.worker("4"))
    }

    @Test func aMarginJustMetPassesDespiteFloatingPoint() {
        // 0.95 - 0.90 is 0.04999999999999993 in binary floating point.
        #expect(Self.resolve([Self.model(production: "4")], Self.ledger(production: "3"))[0].stall == nil)
    }

    @Test func aVersionThatIsNotBetterEnoughIsHeldAndItsWorkersKeepProduction() throws {
        var strict = Self.model(production: "4")
        var fields = strict.record.fields
        fields["promotion_min_improvement"] = .number(0.10)
        strict = strict.with(record: Record(id: strict.id, fields: fields), recordHash: "x", stall: nil, auditDetail: [:])
        let held = Self.resolve([strict, Self.worker("4")], Self.ledger(production: "3"))
        let stall = try #require(held[0].stall)
        #expect(stall.reason == ModelGate.blocked && stall.appliesRest)
        #expect(stall.message == "promotion of production from version 3 to 4 blocked: faithfulness 0.95 of version 4 does not beat 0.9 of version 3 by 0.1 (needs at least 1); production stays at version 3")
        #expect(held[0].record["production_version"] == .string("3"))
        #expect(held[0].recordHash == sha256Hex(canonicalOf: .object(held[0].record.fields)))
        #expect(held[1].record["model_version"] == .string("3"))
        #expect(held[1].stall == nil)
    }

    @Test func signaturesAreCheckedAgainstTheTrustedKeys() throws {
        let unsigned = Self.resolve([Self.model(production: "4", unsigned: ["4"])], Self.ledger(production: "3"))
        #expect(unsigned[0].stall?.message.contains("version 4 is not signed") == true)
        let untrusted = Self.resolve([Self.model(production: "4")], Self.ledger(production: "3"), trusted: nil)
        #expect(untrusted[0].stall?.message.contains("no trusted model-signing keys are configured") == true)
        let other = Curve25519.Signing.PrivateKey()
        let stranger = TrustedKeys(directory: "/elsewhere", keys: [(file: "other.pub", key: other.publicKey)])
        let wrong = Self.resolve([Self.model(production: "4")], Self.ledger(production: "3"), trusted: stranger)
        #expect(wrong[0].stall?.message.contains("the signature of version 4 does not verify against any of the 1 trusted keys in /elsewhere") == true)
    }

    @Test func theFirstProductionNeedsOnlyASignatureAndItsAbsenceStallsTheWorkers() throws {
        let first = Self.resolve([Self.model(production: "1")], Self.ledger(production: nil))
        #expect(first[0].stall == nil && first[0].auditDetail["promotion"]?["outcome"] == .string("initial"))
        let unsigned = Self.resolve([Self.model(production: "1", unsigned: ["1"]), Self.worker("1")], Self.ledger(production: nil))
        #expect(unsigned[0].stall?.message.hasPrefix("first production version 1 blocked") == true)
        #expect(unsigned[0].record["production_version"] == .null)
        #expect(unsigned[1].record["model_version"] == .null && unsigned[1].stall?.reason == .modelNotPromoted)
    }

    @Test func onlyAFormerProductionVersionIsARollbackWithoutGate() throws {
        let former = Self.resolve([Self.model(production: "2", unsigned: ["2"])], Self.ledger(production: "4", former: ["2"]), trusted: nil)
        #expect(former[0].stall == nil)
        let move = try #require(former[0].auditDetail["promotion"])
        #expect(move["outcome"] == .string("rollback") && move["from"] == .string("4") && move["to"] == .string("2"))
        #expect(move["metric"] == .string("faithfulness") && move["fromValue"] == .number(0.95) && move["toValue"] == .number(0.85))

        // Version 1 sorts before production but never was production: the
        // whole gate, and 0.80 does not beat 0.95.
        let earlier = Self.resolve([Self.model(production: "1"), Self.worker("1")], Self.ledger(production: "4"))
        let stall = try #require(earlier[0].stall)
        #expect(stall.reason == ModelGate.blocked)
        #expect(stall.message == "promotion of production from version 4 to 1 blocked: faithfulness 0.8 of version 1 does not beat 0.95 of version 4 by 0.05 (needs at least 1); production stays at version 4")
        #expect(earlier[0].record["production_version"] == .string("4") && earlier[1].record["model_version"] == .string("4"))
        let unsigned = Self.resolve([Self.model(production: "1", unsigned: ["1"])], Self.ledger(production: "4"))
        #expect(unsigned[0].stall?.message.contains("version 1 is not signed") == true)

        // Better by the margin and signed, it is a promotion, not a rollback.
        var better = Self.model(production: "1")
        var fields = better.record.fields
        fields["versions"] = .object(["4": fields["versions"]!["4"]!, "1": .object([
            "artifact": .string("s3://m/1"), "digest": .string(Self.digest(1)),
            "evaluation": .object(["faithfulness": .number(1.0)]), "signature": .string(Self.sign(Self.digest(1))),
        ])])
        better = better.with(record: Record(id: better.id, fields: fields), recordHash: "x", stall: nil, auditDetail: [:])
        let promoted = Self.resolve([better], Self.ledger(production: "4"))
        #expect(promoted[0].stall == nil)
        #expect(promoted[0].auditDetail["promotion"]?["outcome"] == .string("promotion"))
        #expect(promoted[0].auditDetail["promotion"]?["toValue"] == .number(1.0))
    }

    @Test func everyMoveCarriesBothMetricValues() throws {
        let initial = try #require(Self.resolve([Self.model(production: "1")], Self.ledger(production: nil))[0].auditDetail["promotion"])
        #expect(initial["outcome"] == .string("initial") && initial["fromValue"] == .null && initial["toValue"] == .number(0.8))
        #expect(initial["metric"] == .string("faithfulness") && initial["minImprovement"] == .number(0.05))

        let withdrawn = try #require(Self.resolve([Self.model(production: nil)], Self.ledger(production: "3"))[0].auditDetail["promotion"])
        #expect(withdrawn["outcome"] == .string("withdrawal") && withdrawn["fromValue"] == .number(0.9) && withdrawn["toValue"] == .null)

        // Without spec.promotion there is no metric: the values are null, not absent.
        let plain = try #require(Self.resolve([Self.model(production: "2", promotion: false)], Self.ledger(production: "3", former: ["2"]))[0]
            .auditDetail["promotion"])
        #expect(plain["outcome"] == .string("rollback") && plain["metric"] == .null)
        #expect(plain["fromValue"] == .null && plain["toValue"] == .null)
    }

    @Test func aModelWithoutPromotionSettingsCannotMoveForward() {
        let out = Self.resolve([Self.model(production: "4", promotion: false)], Self.ledger(production: "3"))
        #expect(out[0].stall?.message.contains("the model has no spec.promotion") == true)
    }

    @Test func aChangedRegisteredVersionStallsTheWholeModel() throws {
        let out = Self.resolve([Self.model(production: "4"), Self.worker("4")],
                               Self.ledger(production: "3", registered: ["3": Self.digest(3), "2": Self.digest(7)]))
        let stall = try #require(out[0].stall)
        #expect(stall.reason == ModelGate.immutable && !stall.appliesRest)
        #expect(stall.message.contains("version 2: digest \(Self.digest(7)) → \(Self.digest(2))"))
        #expect(out[1].record["model_version"] == .string("3"))
    }

    /// The layout Kubernetes mounts a ConfigMap with loads (links through
    /// `..data`); what is skipped says why, and an empty directory warns.
    @Test func aConfigMapMountLoadsAndWhatIsSkippedIsSaid() throws {
        let dir = try ExampleKeys.kubernetesLayout()
        defer { try? FileManager.default.removeItem(at: dir) }
        try FileManager.default.createSymbolicLink(atPath: dir.appendingPathComponent("gone.pem").path, withDestinationPath: "..data/gone.pem")
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("nested.pem"), withIntermediateDirectories: true)
        let loaded = try TrustedKeys.load(directory: dir.path)
        #expect(loaded.keys.map(\.file) == ["model-signing.pub.pem"])
        #expect(loaded.keys.first?.fingerprint == Ed25519Keys.fingerprint(Self.signer.publicKey))
        #expect(loaded.skipped.map { "\($0.file): \($0.reason)" } == ["gone.pem: a link to nothing (No such file or directory)", "nested.pem: a directory"])
        #expect(loaded.warnings.count == 2, "one line per skipped file; keys were found")

        let empty = FileManager.default.temporaryDirectory.appendingPathComponent("accord-no-keys-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: empty) }
        #expect(try TrustedKeys.load(directory: empty.path).warnings
                == ["the trusted keys directory \(empty.path) holds no usable key (*.pem or *.pub): no model version will be promoted"])
    }

    @Test func keyFilesAreReadInTheirDocumentedFormsAndOthersAreErrorsNamingTheFile() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("accord-keys-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try FileManager.default.copyItem(at: Self.keys.appendingPathComponent("model-signing.pub.pem"), to: dir.appendingPathComponent("a.pem"))
        try FileManager.default.copyItem(at: Self.keys.appendingPathComponent("model-signing.pub"), to: dir.appendingPathComponent("b.pub"))
        try Data("not a key".utf8).write(to: dir.appendingPathComponent("README.txt"))
        let loaded = try TrustedKeys.load(directory: dir.path)
        #expect(loaded.keys.map(\.file) == ["a.pem", "b.pub"])
        #expect(loaded.skipped.map { "\($0.file): \($0.reason)" } == ["README.txt: not named *.pem or *.pub"])
        #expect(loaded.warnings == ["the trusted keys directory \(dir.path): skipped README.txt: not named *.pem or *.pub"])
        #expect(Set(loaded.keys.map(\.fingerprint)).count == 1, "the PEM and raw forms are the same key")
        #expect(loaded.signer(of: Array(try Self.signer.signature(for: Data("x".utf8))), over: "x")?.file == "a.pem")

        try Data("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n".utf8).write(to: dir.appendingPathComponent("c.pem"))
        #expect(throws: Ed25519Keys.Invalid.self) { try TrustedKeys.load(directory: dir.path) }
        do {
            _ = try TrustedKeys.load(directory: dir.path)
        } catch {
            #expect("\(error)".contains("c.pem"))
        }
        #expect(throws: Ed25519Keys.Invalid.self) { try TrustedKeys.load(directory: dir.appendingPathComponent("missing").path) }

        let seed = dir.appendingPathComponent("seed")
        try SecretFixture.write(Self.signer.rawRepresentation, to: seed)
        #expect(try Ed25519Keys.privateKey(file: seed.path).publicKey.rawRepresentation == Self.signer.publicKey.rawRepresentation)
        let publicAsPrivate = dir.appendingPathComponent("public-as-private.pem")
        try SecretFixture.write(try Data(contentsOf: Self.keys.appendingPathComponent("model-signing.pub.pem")), to: publicAsPrivate)
        let notPrivate = #expect(throws: Ed25519Keys.Invalid.self) { try Ed25519Keys.privateKey(file: publicAsPrivate.path) }
        #expect(notPrivate?.description.contains("public-as-private.pem: not an Ed25519 private key") == true, "\(String(describing: notPrivate))")
        #expect(Ed25519Keys.pem(Self.signer.publicKey) == (try String(contentsOf: Self.keys.appendingPathComponent("model-signing.pub.pem"), encoding: .utf8)))
    }
}
