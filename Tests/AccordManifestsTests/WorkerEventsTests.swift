import AccordCore
@testable import AccordManifests
import Foundation
import Testing

/// Worker documents decoded from their events (`WorkerEvents`) are the
/// documents their trees decode to, and every other document — another
/// kind, another shape, any problem — is left to the tree, so the
/// diagnostics are the tree's. Checked on generated files, valid and not.
@Suite struct WorkerEventsTests {
    @Test func workersDecodedFromEventsAreTheTreesDocuments() {
        let seed = UInt64.random(in: 0...UInt64.max)
        var rng = SplitMix(seed: seed)
        var fast = 0, validWorkers = 0, documents = 0, invalid = 0
        for round in 0..<3_000 {
            let text = Self.file(&rng)
            let bytes = Array(text.utf8)
            let events = ManifestSet.read(bytes, file: "f.yaml", decodingWorkers: true)
            let trees = ManifestSet.read(bytes, file: "f.yaml", decodingWorkers: false)
            let context = "seed \(seed), round \(round):\n\(text)"
            #expect(events.diagnostics == trees.diagnostics, "\(context)")
            #expect(events.documents.count == trees.documents.count, "\(context)")
            for (a, b) in zip(events.documents, trees.documents) {
                #expect(a.identity == b.identity && a.manifest == b.manifest && a.diagnostics == b.diagnostics, "\(context)")
                #expect((a.salvaged == nil) == (b.salvaged == nil), "\(context)")
                // Same paths at the same places, in the same order.
                #expect(a.manifest?.positions.entries.map(\.path) == b.manifest?.positions.entries.map(\.path), "\(context)")
            }
            fast += YAMLReader.read(bytes, file: "f.yaml", decodingWorkers: true).decoded.count
            validWorkers += trees.documents.filter { $0.manifest?.kind == .worker }.count
            documents += trees.documents.count
            if !trees.diagnostics.isEmpty { invalid += 1 }
        }
        // Both paths were taken, and problems were met: the comparison covered each.
        #expect(fast > validWorkers / 2, "\(fast) of \(validWorkers) valid workers decoded from events")
        #expect(fast < validWorkers && validWorkers < documents, "\(fast) of \(validWorkers) valid workers, \(documents) documents")
        #expect(invalid > 300 && invalid < 2_700, "\(invalid) of 3,000 files with problems")
    }

    @Test func aWorkerOfTheUsualShapeIsDecodedFromItsEvents() throws {
        let text = """
            apiVersion: accord.dev/v1
            kind: Worker
            metadata: {name: w-1, tenant: t-1, labels: {team: growth}}
            spec:
              role: writer
              model: drafter
              capabilities: [draft, review]
              replicas: 3
            ---
            apiVersion: accord.dev/v1
            kind: Tenant
            metadata: {name: t-1}
            spec: {displayName: T, plan: pro, region: eu}

            """
        let read = YAMLReader.read(Array(text.utf8), file: "f.yaml", decodingWorkers: true)
        #expect(read.decoded.count == 1 && read.decoded.first?.before == 0 && read.documents.count == 1)
        let worker = try #require(read.decoded.first?.document.manifest)
        #expect(worker.id.description == "Worker/t-1/w-1")
        #expect(worker.position(of: "spec.capabilities[1]").description == "f.yaml:7:25")
        #expect(worker.position(of: "metadata.labels.team").description == "f.yaml:3:51")
        // In file order with the tree's documents.
        let (_, documents) = ManifestSet.read(Array(text.utf8), file: "f.yaml", decodingWorkers: true)
        #expect(documents.map { $0.identity?.description ?? "" } == ["Worker/t-1/w-1", "Tenant/t-1"])
    }

    // MARK: Generated files

    static func file(_ rng: inout SplitMix) -> String {
        var docs: [String] = []
        for _ in 0..<Int.random(in: 1...4, using: &rng) {
            switch Int.random(in: 0..<20, using: &rng) {
            case 0: docs.append("hello\n")
            case 1: docs.append("")
            case 2: docs.append(tenant)
            default: docs.append(worker(&rng))
            }
        }
        var text = docs.joined(separator: Bool.random(using: &rng) ? "---\n" : "--- # next\n")
        if Int.random(in: 0..<25, using: &rng) == 0 {
            // Cut short: a syntax error somewhere in a document.
            let cut = Int.random(in: 0...text.utf8.count, using: &rng)
            text = String(decoding: Array(text.utf8.prefix(cut)) + Array("\n  ]: {\n".utf8), as: UTF8.self)
        }
        return text
    }

    static let tenant = """
        apiVersion: accord.dev/v1
        kind: Tenant
        metadata:
          name: t-1
        spec: {displayName: T, plan: pro, region: eu}

        """

    /// The field `key` set to `value`, written last.
    static func set(_ fields: inout [(String, String)], _ key: String, _ value: String) {
        fields.removeAll { $0.0 == key }
        fields.append((key, value))
    }

    static func pick<T>(_ xs: [T], _ rng: inout SplitMix) -> T { xs[Int.random(in: 0..<xs.count, using: &rng)] }

    /// A worker document in one of many styles, often with one problem or unusual shape.
    static func worker(_ rng: inout SplitMix) -> String {
        var top: [(String, String)] = [
            ("apiVersion", pick(["accord.dev/v1", "\"accord.dev/v1\"", "'accord.dev/v1'"], &rng)),
            ("kind", pick(["Worker", "Worker", "\"Worker\""], &rng)),
        ]
        var metadata: [(String, String)] = [("name", pick(["w-1", "w-22", "\"w-3\"", "writer"], &rng)), ("tenant", pick(["t-1", "acme"], &rng))]
        if Int.random(in: 0..<4, using: &rng) == 0 { metadata.append(("labels", pick(["{team: growth}", "{team: growth, tier: \"1\"}", "{}"], &rng))) }
        if Int.random(in: 0..<6, using: &rng) == 0 { metadata.append(("annotations", pick(["{note: \"two words\"}", "{a: b}"], &rng))) }
        var spec: [(String, String)] = [("role", pick(["writer", "\"risk analyst\"", "'data-collector'"], &rng)), ("model", pick(["model-1", "drafter"], &rng))]
        if Bool.random(using: &rng) { spec.append(("capabilities", pick(["[draft, review]", "[]", "[ingest]", "[a, b, c]"], &rng))) }
        if Bool.random(using: &rng) { spec.append(("costPerTask", pick(["0.17", "5", "1e-2", "0"], &rng))) }
        if Bool.random(using: &rng) { spec.append(("confidenceThreshold", pick(["0.5", "1", "0.75"], &rng))) }
        if Bool.random(using: &rng) { spec.append(("replicas", pick(["0", "3", "100", "0x10"], &rng))) }
        if Bool.random(using: &rng) { spec.append(("paused", pick(["true", "false", "False"], &rng))) }
        metadata.shuffle(using: &rng)
        spec.shuffle(using: &rng)

        // At most one problem or unusual shape, in about one document of two.
        switch Int.random(in: 0..<60, using: &rng) {
        case 0: spec.append(spec[0])  // duplicate key
        case 1: metadata.append(metadata[0])
        case 2: top.append(top[0])
        case 3: spec.append(("colour", "red"))  // unknown field
        case 4: metadata.append(("owner", "me"))
        case 5: spec.removeAll { $0.0 == "role" }
        case 6: spec.removeAll { $0.0 == "model" }
        case 7: metadata.removeAll { $0.0 == "tenant" }
        case 8: metadata.removeAll { $0.0 == "name" }
        case 9: set(&spec, "replicas", pick(["\"3\"", "3.5", "101", "-1", "three"], &rng))
        case 10: set(&spec, "paused", pick(["yes", "1", "\"true\"", "~"], &rng))
        case 11: spec = spec.map { $0.0 == "role" ? ("role", pick(["42", "\"\"", "\"  \"", "[x]", "{a: b}", "", "~", "true"], &rng)) : $0 }
        case 12: set(&spec, "capabilities", pick(["x", "[A]", "[a, a]", "[[a]]", "[\"\"]", "{a: b}", "[a b]"], &rng))
        case 13: metadata = metadata.map { $0.0 == "name" ? ("name", pick(["W_1", String(repeating: "w", count: 64), "w\u{0430}", "\"w\\t1\"", "-w"], &rng)) : $0 }
        case 14: spec = spec.map { $0.0 == "model" ? ("model", pick(["!!str drafter", "!custom drafter", "&m drafter"], &rng)) : $0 }
        case 15: spec = spec.map { $0.0 == "role" ? ("role", "\"a\\0b\"") : $0 }
        case 16: top = top.map { $0.0 == "kind" ? ("kind", pick(["worker", "Tenant", "3", "[Worker]", "Model"], &rng)) : $0 }
        case 17: top = top.map { $0.0 == "apiVersion" ? ("apiVersion", pick(["v2", "accord.dev/v2", "1", "\"\""], &rng)) : $0 }
        case 18: set(&metadata, "labels", pick(["{\"a b\": c}", "{a: {b: c}}", "{a: [b]}", "{a: \"x\\ny\"}", "{a: 1}"], &rng))
        case 19: spec.append(("1", "x"))
        case 20: spec.append(("true", "x"))
        case 21: spec.append(("<<", "{a: b}"))
        case 22: top.append(("status", "{}"))
        case 23: top.removeAll { $0.0 == "apiVersion" }
        case 24: set(&spec, "costPerTask", pick(["-1", "1000001", ".inf", ".nan", "abc"], &rng))
        case 25: set(&spec, "confidenceThreshold", pick(["1.5", "\"0.5\"", "-0.1"], &rng))
        case 26: metadata = metadata.map { $0.0 == "tenant" ? ("tenant", pick(["T1", "~", "[t]"], &rng)) : $0 }
        case 27: set(&spec, "role", "&r writer"); set(&spec, "model", "*r")
        case 28: set(&spec, "capabilities", "!!seq [a]")
        default: break
        }

        var lines: [String] = []
        if Int.random(in: 0..<8, using: &rng) == 0 { lines.append("# a worker") }
        func mapping(_ key: String, _ fields: [(String, String)]) {
            switch Int.random(in: 0..<4, using: &rng) {
            case 0: lines.append("\(key): {" + fields.map { "\($0.0): \($0.1)" }.joined(separator: ", ") + "}")
            case 1: lines.append("\(key): " + pick(["!!map ", "&x ", ""], &rng) + "{" + fields.map { "\($0.0): \($0.1)" }.joined(separator: ", ") + "}")
            default:
                lines.append("\(key):")
                for (k, v) in fields {
                    if v.hasPrefix("[") && !v.hasPrefix("[[") && v != "[]" && Bool.random(using: &rng), !v.contains("{") {
                        // A block list.
                        lines.append("  \(k):")
                        for item in v.dropFirst().dropLast().split(separator: ",") { lines.append("    - \(item.trimmingCharacters(in: .whitespaces))") }
                    } else {
                        lines.append("  \(k): \(v)")
                    }
                }
            }
        }
        // kind before metadata and spec, mostly; sometimes after one of them.
        var order: [String] = ["apiVersion", "kind", "metadata", "spec"]
        if Int.random(in: 0..<10, using: &rng) == 0 { order.shuffle(using: &rng) }
        var writtenTop = Set<String>()
        for key in order {
            for (k, v) in top where k == key && !writtenTop.contains("\(k)=\(v)") {
                lines.append("\(k): \(v)")
                writtenTop.insert("\(k)=\(v)")
            }
            if key == "metadata" { mapping("metadata", metadata) }
            if key == "spec" { mapping("spec", spec) }
        }
        // Duplicates and extra top-level keys written after.
        for (k, v) in top where !order.contains(k) || top.filter({ $0.0 == k }).count > 1 {
            lines.append("\(k): \(v)")
        }
        return lines.joined(separator: "\n") + "\n"
    }
}

/// A seeded generator: a failing round is reproduced from its seed.
struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
