import AccordCore
import AccordEngine
import AccordGit
import AccordSource
@testable import AccordSync
import AccordTestSupport
import Foundation
import Testing

/// `diff --against` at the speed of the change (`OfflineDiff.fast`): on
/// many random changes to a real repository — edits, renames, deletions,
/// a reference pointed elsewhere or at nothing, a new cycle, a worker
/// moved to another tenant, a tenant suspended, a production version
/// changed, files added — the fast plan equals the plan of both revisions
/// read whole, or the fast path declines and the full read decides; the
/// index round-trips, and a damaged index is refused.
@Suite(.tags(.heavy)) struct OfflineDiffTests {
    /// A small platform: the examples (with a Store, workflows, erasures),
    /// 12 generated tenants of ten workers each, and per generated tenant
    /// an extra worker file and a workflow over two of its workers.
    static func platform() throws -> [String: String] {
        var files: [String: String] = [:]
        let examples = Manifests.root.appendingPathComponent("examples/platform")
        let walker = FileManager.default.enumerator(atPath: examples.path)!
        while let path = walker.nextObject() as? String {
            guard path.hasSuffix(".yaml") else { continue }
            files[path] = try String(contentsOf: examples.appendingPathComponent(path), encoding: .utf8)
        }
        for (path, text) in GeneratedPlatform.files(tenants: 12, prefix: "g") { files["generated/" + path] = text }
        files["generated/model2.yaml"] = Self.model2(production: "1")
        for t in 0..<12 {
            files["generated/extra/g\(t)-x.yaml"] = Self.extraWorker(tenant: "g\(t)", name: "x\(t)")
            files["generated/flows/g\(t).yaml"] = Self.workflow(tenant: "g\(t)", cycle: false)
        }
        return files
    }

    /// A second model with two signed versions.
    static func model2(production: String) -> String {
        func version(_ v: String, _ digit: String) -> String {
            let digest = "sha256:" + String(repeating: digit, count: 64)
            return "{version: \"\(v)\", artifact: s3://m2/\(v), digest: \"\(digest)\", signature: \"\(ExampleKeys.signModelDigest(digest))\"}"
        }
        return """
            apiVersion: accord.dev/v1
            kind: Model
            metadata: {name: m2}
            spec:
              versions: [\(version("1", "b")), \(version("2", "c"))]
              production: "\(production)"

            """
    }

    static func extraWorker(tenant: String, name: String, model: String = "m", replicas: Int = 1) -> String {
        "apiVersion: accord.dev/v1\nkind: Worker\nmetadata: {name: \(name), tenant: \(tenant)}\nspec: {role: r, model: \(model), replicas: \(replicas)}\n"
    }

    static func workflow(tenant: String, cycle: Bool) -> String {
        """
        apiVersion: accord.dev/v1
        kind: Workflow
        metadata: {name: flow, tenant: \(tenant)}
        spec:
          trigger: {event: e}
          steps:
            - {name: a, worker: w1\(cycle ? ", dependsOn: [b]" : "")}
            - {name: b, worker: w2, dependsOn: [a]}

        """
    }

    /// One random change to the files; what it does.
    static func mutate(_ files: inout [String: String], _ rng: inout SeededRandom) -> String {
        let tenant = "g\(Int.random(in: 0..<12, using: &rng))"
        let other = "g\(Int.random(in: 0..<12, using: &rng))"
        // Edits three times as often as each other change (the common pull request).
        let pick = Int.random(in: 0..<17, using: &rng)
        switch pick > 12 ? 0 : pick {
        case 0, 1:
            let w = Int.random(in: 0..<10, using: &rng)
            files["generated/tenants/\(tenant).yaml"] = files["generated/tenants/\(tenant).yaml"]?
                .replacingOccurrences(of: "{name: w\(w), tenant: \(tenant)}\nspec: {role: r, model: m, replicas: \(w)}",
                                      with: "{name: w\(w), tenant: \(tenant)}\nspec: {role: r, model: m, replicas: \(w + 50)}")
            return "edit \(tenant)/w\(w)"
        case 2:
            guard let text = files.removeValue(forKey: "generated/extra/\(tenant)-x.yaml") else { return "nothing" }
            files["generated/renamed/\(tenant)-x.yaml"] = text
            return "rename \(tenant)-x"
        case 3:
            return files.removeValue(forKey: "generated/extra/\(tenant)-x.yaml") == nil ? "nothing" : "delete \(tenant)-x"
        case 4:
            files["generated/extra/\(tenant)-x.yaml"] = extraWorker(tenant: tenant, name: "x\(tenant.dropFirst())", model: "m2")
            return "\(tenant)-x to m2"
        case 5:
            files["generated/extra/\(tenant)-x.yaml"] = extraWorker(tenant: tenant, name: "x\(tenant.dropFirst())", model: "nowhere")
            return "\(tenant)-x to a missing model"
        case 6:
            files["generated/flows/\(tenant).yaml"] = workflow(tenant: tenant, cycle: true)
            return "cycle in \(tenant)"
        case 7:
            guard let text = files.removeValue(forKey: "generated/extra/\(tenant)-x.yaml") else { return "nothing" }
            files["generated/extra/\(other)-moved-\(tenant).yaml"] = text.replacingOccurrences(of: "tenant: \(tenant)}", with: "tenant: \(other)}")
            return "\(tenant)-x moved to \(other)"
        case 8:
            files["generated/tenants/\(tenant).yaml"] = files["generated/tenants/\(tenant).yaml"]?
                .replacingOccurrences(of: "plan: pro,", with: "plan: pro, suspended: true,")
            return "suspend \(tenant)"
        case 9:
            guard files["generated/model2.yaml"] != nil else { return "nothing" }
            files["generated/model2.yaml"] = model2(production: "2")
            return "m2's production to 2"
        case 10:
            files["generated/new/\(tenant)-n.yaml"] = extraWorker(tenant: tenant, name: "n\(Int.random(in: 0..<3, using: &rng))")
            return "add a worker to \(tenant)"
        case 11:
            return files.removeValue(forKey: "generated/model2.yaml") == nil ? "nothing" : "delete m2"
        default:
            return files.removeValue(forKey: "generated/flows/\(tenant).yaml") == nil ? "nothing" : "delete \(tenant)'s workflow"
        }
    }

    /// Replaces the fixture's files with `files` and commits them.
    static func commit(_ files: [String: String], _ fixture: GitFixture, _ message: String) throws -> String {
        for entry in try FileManager.default.contentsOfDirectory(atPath: fixture.root.path) where entry != ".git" {
            try FileManager.default.removeItem(at: fixture.root.appendingPathComponent(entry))
        }
        for (path, text) in files { try fixture.write(path, text) }
        // A round may leave the files as the last one did: an empty commit, still a new revision.
        try fixture.git("add", "-A")
        try fixture.git("-c", "user.name=t", "-c", "user.email=t@example.invalid", "commit", "-q", "--allow-empty", "-m", message)
        return try fixture.head
    }

    static func desired(_ source: RevisionSource) async throws -> [DesiredObject]? {
        do {
            return await RevisionSource.desired(try await source.validated()).objects
        } catch is InvalidRevision {
            return nil
        }
    }

    static func sorted(_ entries: [DiffIndex.Entry]) -> [DiffIndex.Entry] { entries.sorted { $0.id < $1.id } }

    @Test func theFastPlanIsTheFullPlanOnRandomChanges() async throws {
        let fixture = try GitFixture()
        let baseFiles = try Self.platform()
        let baseCommit = try Self.commit(baseFiles, fixture, "base")
        let repository = try await GitRepository.open(at: fixture.root.path)
        let base = RevisionSource(repository: repository, commit: baseCommit, directory: "")
        let baseDesired = try #require(try await Self.desired(base))
        let built = DiffIndex(key: "base", desired: baseDesired)
        // As read from disk: the head's index is then written by copying the base's unchanged files.
        let index = try #require(DiffIndex.File(built.encoded(), key: "base"))
        #expect(index.decoded() == built && index.count == built.entries.count, "the index round-trips")

        var rng = SeededRandom(seed: 20261207)
        var fast = 0, declined = 0, invalid = 0
        for round in 0..<60 {
            var files = baseFiles
            let changes = (0..<Int.random(in: 1...6, using: &rng)).map { _ in Self.mutate(&files, &rng) }
            let headCommit = try Self.commit(files, fixture, "round \(round)")
            let head = RevisionSource(repository: repository, commit: headCommit, directory: "")
            for prune in [false, true] {
                var timings = Stopwatch()
                let quick = try await OfflineDiff.fast(head: head, base: base, index: index, prune: prune, timings: &timings)
                guard let headDesired = try await Self.desired(head) else {
                    #expect(quick == nil, "round \(round) \(changes): an invalid head is left to the full read, which reports it")
                    invalid += 1
                    continue
                }
                let full = OfflineDiff.full(head: headDesired, base: baseDesired, prune: prune)
                guard let quick else { declined += 1; continue }
                fast += 1
                #expect(quick.plan.steps == full.plan.steps, "round \(round) \(changes)")
                #expect(quick.plan.orphaned == full.plan.orphaned && quick.plan.unmanaged == full.plan.unmanaged, "round \(round) \(changes)")
                #expect(quick.plan.unchanged == full.plan.unchanged && quick.plan.managed == full.plan.managed, "round \(round) \(changes)")
                // The regions of the tenants the steps write (what `diff` shows them with).
                let tenants = Set(full.plan.steps.compactMap { $0.id.kind == .tenant ? $0.id.name : $0.id.tenant })
                #expect(tenants.allSatisfy { quick.tenantRegions[$0] == full.tenantRegions[$0] }, "round \(round) \(changes)")
                // The head's index, the base's with the changed files' entries: what a full read of the head makes.
                let headIndex = try #require(quick.headIndex.flatMap { DiffIndex.decode($0("head"), key: "head") })
                #expect(Self.sorted(headIndex.entries) == Self.sorted(DiffIndex(key: "head", desired: headDesired).entries),
                        "round \(round) \(changes): the head's index as a full read makes it")
                let paths = full.plan.sourcePaths(inventory: full.inventory)
                #expect(quick.plan.steps.allSatisfy { quick.plan.sourcePaths(inventory: quick.inventory)[$0.id] == paths[$0.id] })
            }
        }
        print("offline diff figures: of 120 plans, \(fast) fast and equal to the full plan, \(declined) left to the full read, \(invalid) of invalid heads")
        // Each way was taken: the comparison above is not empty.
        #expect(fast >= 40 && declined >= 5 && invalid >= 5, "fast \(fast), declined \(declined), invalid \(invalid)")
    }

    @Test func aDamagedOrForeignIndexIsRefusedAndAStoredOneReadBack() throws {
        let entries = [
            DiffIndex.Entry(id: ObjectID(kind: .tenant, name: "a\tb"), path: "x/a\nb\r\nc\\.yaml", references: [ObjectID(kind: .retentionPolicy, name: "p")],
                            production: nil, region: "eu", suspended: true),
            DiffIndex.Entry(id: ObjectID(kind: .worker, tenant: "a\tb", name: "w\\1"), path: "w.yaml", references: [ObjectID(kind: .tenant, name: "a\tb")],
                            production: nil, region: nil, suspended: false),
            DiffIndex.Entry(id: ObjectID(kind: .model, name: "m"), path: "m.yaml", references: [], production: "3", region: nil, suspended: false),
        ]
        let index = DiffIndex(key: "tree abc format 1 accord 1.0", entries: entries)
        let bytes = index.encoded()
        #expect(DiffIndex.decode(bytes, key: index.key) == index)
        #expect(DiffIndex.decode(bytes, key: "tree def format 1 accord 1.0") == nil, "another tree's index")
        var flipped = bytes
        flipped[bytes.count / 2] ^= 0x01
        #expect(DiffIndex.decode(flipped, key: index.key) == nil, "a flipped bit")
        #expect(DiffIndex.decode(Array(bytes.prefix(bytes.count - 10)), key: index.key) == nil, "a truncated file")
        #expect(DiffIndex.decode([], key: index.key) == nil)
        // The stored form refuses the same.
        #expect(DiffIndex.File(bytes, key: index.key)?.decoded() == index)
        for bad in [flipped, Array(bytes.prefix(bytes.count - 10)), []] { #expect(DiffIndex.File(bad, key: index.key) == nil) }
        #expect(DiffIndex.File(bytes, key: "tree def format 1 accord 1.0") == nil)
        // Its scan: what the objects outside a file tell; an object that refers to one gone.
        let file = try #require(DiffIndex.File(bytes, key: index.key))
        let worker = ObjectID(kind: .worker, tenant: "a\tb", name: "w\\1"), tenant = ObjectID(kind: .tenant, name: "a\tb")
        let scan = try #require(file.outside(skipping: ["m.yaml"], asked: [tenant, worker, ObjectID(kind: .model, name: "m")], gone: [], regions: nil))
        #expect(scan.existing == [tenant, worker] && scan.kept == 2 && scan.context.suspendedTenants == ["a\tb"] && scan.tenantRegions == ["a\tb": "eu"])
        #expect(file.outside(skipping: [], asked: [], gone: [ObjectID(kind: .retentionPolicy, name: "p")], regions: nil) == nil, "the tenant refers to p")
        #expect(file.outside(skipping: [], asked: [], gone: [tenant], regions: nil) == nil, "the worker refers to its tenant")
        #expect(file.outside(skipping: ["w.yaml"], asked: [], gone: [tenant], regions: nil) != nil, "but not once its file is changed")
        #expect(file.outside(skipping: [], asked: [], gone: [], regions: [.us]) == nil, "a tenant in eu without a database")
        #expect(file.outside(skipping: [], asked: [ObjectID(kind: .model, name: "m")], gone: [], regions: [.eu])?.context.production == ["m": "3"])

        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("accord-index-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        #expect(DiffIndex.load(index.key, from: directory) == nil)
        try index.store(in: directory)
        #expect(DiffIndex.load(index.key, from: directory)?.decoded() == index)
        // Damaged on disk: not trusted; stored again: read back.
        try Data(flipped).write(to: URL(fileURLWithPath: DiffIndex.file(index.key, in: directory)))
        #expect(DiffIndex.load(index.key, from: directory) == nil)
        try index.store(in: directory)
        #expect(DiffIndex.load(index.key, from: directory)?.decoded() == index)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory + "/diff-index") == [(DiffIndex.file(index.key, in: directory) as NSString).lastPathComponent],
                "no temporary file left")
    }
}
