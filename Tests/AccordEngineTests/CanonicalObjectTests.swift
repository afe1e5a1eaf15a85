import AccordCore
@testable import AccordEngine
import AccordManifests
import AccordTestSupport
import Foundation
import Synchronization
import Testing

/// The hashes of workers are written without a `JSONValue` tree
/// (`CanonicalObject`); they must be the bytes the tree writes, or every
/// stored hash would change.
@Suite struct CanonicalObjectTests {
    static let pieces = ["a", "Z", "\"", "\\", "\n", "\t", "\u{1}", "é", "😀", "/", " ", "0", "-", "_", "\u{7F}"]

    static func text(_ rng: inout some RandomNumberGenerator, empty: Bool = true) -> String {
        let n = Int.random(in: (empty ? 0 : 1)...6, using: &rng)
        return (0..<n).map { _ in pieces.randomElement(using: &rng)! }.joined()
    }

    static func number(_ rng: inout some RandomNumberGenerator) -> Double? {
        [nil, 0, 1, -3, 0.5, 0.1, 1e-7, 1e21, 9_007_199_254_740_992, 123_456.789, -0.0].randomElement(using: &rng)!
    }

    static func worker(_ rng: inout some RandomNumberGenerator) -> Manifest {
        var spec = WorkerSpec(role: text(&rng), model: text(&rng))
        spec.capabilities = (0..<Int.random(in: 0...3, using: &rng)).map { _ in text(&rng) }
        spec.costPerTask = number(&rng)
        spec.confidenceThreshold = number(&rng)
        spec.replicas = [0, 1, 7, 1_000_000, Int(Int32.max), 9_007_199_254_740_993].randomElement(using: &rng)!
        spec.paused = Bool.random(using: &rng)
        var labels: [String: String] = [:], annotations: [String: String] = [:]
        for _ in 0..<Int.random(in: 0...2, using: &rng) { labels[text(&rng)] = text(&rng) }
        for _ in 0..<Int.random(in: 0...2, using: &rng) { annotations[text(&rng)] = text(&rng) }
        let metadata = Metadata(name: text(&rng, empty: false), tenant: Bool.random(using: &rng) ? text(&rng, empty: false) : nil,
                                labels: labels, annotations: annotations)
        return Manifest(metadata: metadata, spec: .worker(spec), source: SourcePosition(file: "w.yaml", line: 1, column: 1),
                        positions: FieldPositions())
    }

    @Test func aWorkersManifestBytesAreTheTreesOnRandomWorkers() throws {
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<2_000 {
            let m = Self.worker(&rng)
            let direct = try #require(DesiredState.canonicalBytes(m))
            var tree: [UInt8] = []
            DesiredState.canonical(m).write(to: &tree)
            #expect(direct == tree, "\(String(decoding: tree, as: UTF8.self))")
        }
    }

    @Test func aWorkersRecordBytesAreTheTreesOnRandomWorkers() {
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<2_000 {
            guard case .worker(let spec) = Self.worker(&rng).spec else { continue }
            let production: String? = Bool.random(using: &rng) ? Self.text(&rng) : nil
            let suspended = Bool.random(using: &rng)
            let direct = WorkerRecord.canonicalFields(spec, productionVersion: production, tenantSuspended: suspended)
            var tree: [UInt8] = []
            JSONValue.object(WorkerRecord.fields(spec, productionVersion: production, tenantSuspended: suspended)).write(to: &tree)
            #expect(direct == tree, "\(String(decoding: tree, as: UTF8.self))")
        }
    }

    /// Every object of a generated platform and of a parsed one: the hashes
    /// `DesiredState` stores are those of the trees.
    @Test func desiredHashesAreThoseOfTheTrees() throws {
        let files = GeneratedPlatform.files(tenants: 30, replicas: 2).map { SourceFile(path: $0.key, content: .bytes(Array($0.value.utf8))) }
        let set = ManifestSet.load(files)
        #expect(set.isValid, "\(set.diagnostics)")
        let desired = DesiredState.build(set.manifests)
        #expect(desired.filter { $0.id.kind == .worker }.count == 300)
        for (m, d) in zip(set.manifests, desired) {
            #expect(d.manifestHash == sha256Hex(canonicalOf: DesiredState.canonical(m)), "\(m.id)")
            #expect(d.recordHash == sha256Hex(canonicalOf: .object(d.record.fields)), "\(m.id)")
        }
    }

    /// Hashes worked out on first use: threads that ask at once all get the
    /// values, and the work runs once per object.
    @Test func hashesWorkedOutOnFirstUseRunOnceAcrossThreads() {
        let runs = Mutex(0)
        let objects = (0..<64).map { i in
            DesiredObject(record: Record(id: ObjectID(kind: .model, name: "m-\(i)"), fields: [:]), hashes: {
                runs.withLock { $0 += 1 }
                return (sha256Hex("manifest \(i)"), sha256Hex("record \(i)"))
            }, sourcePath: "m.yaml", blobID: nil)
        }
        let seen = ParallelMap.run(Array(0..<(64 * 16))) { i in
            let d = objects[i % 64]
            return d.manifestHash == sha256Hex("manifest \(i % 64)") && d.recordHash == sha256Hex("record \(i % 64)")
        }
        #expect(seen.allSatisfy { $0 })
        #expect(runs.withLock { $0 } == 64)
        // Equal to the same object with its hashes given.
        #expect(objects[3] == DesiredObject(record: objects[3].record, manifestHash: sha256Hex("manifest 3"), recordHash: sha256Hex("record 3"),
                                            sourcePath: "m.yaml", blobID: nil))
    }

    @Test func membersOutOfKeyOrderAreCaughtInDebugBuilds() async {
        #if DEBUG
        await #expect(processExitsWith: .failure) {
            var w = CanonicalObject()
            w.string("b", "x")
            w.string("a", "y")
            _ = w.finished()
        }
        #endif
    }
}
