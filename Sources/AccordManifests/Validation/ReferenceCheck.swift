import AccordCore

/// Checks that span documents: duplicate identities, references to objects
/// that are not in the repository, and cycles among workflow steps.
enum ReferenceCheck {
    /// `outside`: identities defined in files that were not read (an
    /// incremental pass reads only changed files); references to them hold.
    /// The identities the documents define (and `outside`), and a problem
    /// for each defined twice. One pass over the documents, on one core.
    /// `files`: each file's documents, files in path order.
    static func index(_ files: [[DecodedDocument]], outside: Set<ObjectID>) -> (Known, [Diagnostic]) {
        var out: [Diagnostic] = []
        // Where each identity is first defined (file, document); a position
        // is worked out only for the duplicates reported.
        var first: [ObjectID: Known.Place] = [:]
        first.reserveCapacity(files.reduce(0) { $0 + $1.count })
        var stores: [String: (region: Region, entries: [String])] = [:]
        for f in files.indices {
            for d in files[f].indices {
                guard let id = files[f][d].identity, files[f][d].manifest != nil || !files[f][d].diagnostics.isEmpty else { continue }
                if let j = first[id] {
                    out.append(Diagnostic(place(files[f][d]), "metadata.name: duplicate \(id); first defined at \(place(files[j.file][j.document]))"))
                } else {
                    first[id] = Known.Place(file: f, document: d)
                }
                if id.kind == .store, let m = files[f][d].manifest, case .store(let spec) = m.spec {
                    stores[m.metadata.name] = (spec.region, spec.holds.map(\.entry))
                }
            }
        }
        return (Known(first: first, outside: outside, stores: stores), out)
    }

    /// Each document's references, a file's documents to a task, on every
    /// core: a manifest's, or what could be read of a document with field
    /// errors.
    static func check(_ files: [[DecodedDocument]], _ known: Known) -> [Diagnostic] {
        var out: [Diagnostic] = []
        for found in ParallelMap.run(files, { documents in
            documents.indices.flatMap { d in
                (documents[d].manifest.map(ReferenceSites.init) ?? documents[d].salvaged).map { check($0, known) } ?? []
            }
        }) {
            out += found
        }
        return out
    }

    /// Where a document's identity is written (or its first problem).
    private static func place(_ doc: DecodedDocument) -> SourcePosition {
        doc.manifest?.position(of: "metadata.name") ?? doc.diagnostics[0].position
    }

    /// The identities defined in the repository.
    struct Known: Sendable {
        /// A document among the files read.
        struct Place: Sendable {
            let file: Int
            let document: Int
        }

        let first: [ObjectID: Place]
        let outside: Set<ObjectID>
        /// The Stores of the files read: their region and entries.
        let stores: [String: (region: Region, entries: [String])]

        func contains(_ id: ObjectID) -> Bool { first[id] != nil || outside.contains(id) }
        var all: [ObjectID] { Array(first.keys) + outside }
    }

    /// A document's references, and its workflow's cycles.
    private static func check(_ refs: ReferenceSites, _ known: Known) -> [Diagnostic] {
        var out: [Diagnostic] = []
        for site in refs.sites where !known.contains(site.target) {
            let target = site.target
            let what = target.tenant.map { "\(target.kind.rawValue) \"\(target.name)\" in tenant \($0)" } ?? "\(target.kind.rawValue) \"\(target.name)\""
            var hint = ""
            if target.kind == .worker, let tenant = target.tenant {
                // Only for a missing worker: is there one of that name in another tenant?
                let elsewhere = known.all.filter { $0.kind == .worker && $0.name == target.name && $0.tenant != tenant }
                    .compactMap(\.tenant).sorted()
                if let other = elsewhere.first {
                    hint = " (tenant \(other) has a Worker of that name; steps may use only workers of their own tenant)"
                }
            }
            if target.kind == .store, refs.isRetentionPolicy, TenantTable(rawValue: target.name) == nil {
                hint = " (a rule's store is a tenant data table — \(Text.list(TenantTable.allCases.map(\.rawValue))) — or a Store)"
            }
            out.append(Diagnostic(site.position, "\(site.path): \(what) is not defined in the repository\(hint)"))
        }
        for site in refs.sites where site.target.kind == .store {
            guard let store = known.stores[site.target.name] else { continue }
            if let region = site.region, store.region != region {
                out.append(Diagnostic(site.position, "\(site.path): Store \"\(site.target.name)\" serves region \(store.region.rawValue) and the tenant is in region \(region.rawValue); a tenant's data may live only in stores of its own region (data residency)"))
            }
            if let entry = site.entry, !store.entries.contains(entry) {
                out.append(Diagnostic(site.position, "\(site.path): Store \"\(site.target.name)\" holds no entry \(Text.quoted(entry)) (its entries: \(Text.list(store.entries.map { Text.quoted($0) })))"))
            }
        }
        if let links = refs.steps {
            // A step depending on itself is the decoder's error already.
            out += StepGraph.cycles(names: links.names, dependsOn: links.dependsOn).filter { $0.count > 1 }.map { cycle in
                let first = links.names.firstIndex(of: cycle[0])!
                let next = links.dependsOn[first].firstIndex(of: cycle[1])!
                let path = "spec.steps[\(first)].dependsOn[\(next)]"
                return Diagnostic(links.positions[path] ?? links.fallback,
                    "\(path): steps depend on each other in a cycle: \((cycle + [cycle[0]]).joined(separator: " -> ")) (each step depends on the next)")
            }
        }
        return out
    }
}

/// The dependency graph of a workflow's steps.
public enum StepGraph {
    /// Every elementary cycle found by a depth-first walk, each once, as step
    /// names starting from the step that comes first in the workflow.
    public static func cycles(_ steps: [Step]) -> [[String]] {
        cycles(names: steps.map(\.name), dependsOn: steps.map(\.dependsOn))
    }

    /// The same over step names and what each depends on.
    public static func cycles(names: [String], dependsOn: [[String]]) -> [[String]] {
        let index = Dictionary(names.enumerated().map { ($1, $0) }, uniquingKeysWith: { a, _ in a })
        let edges = dependsOn.map { $0.compactMap { index[$0] } }
        var state = [UInt8](repeating: 0, count: names.count) // 0 new, 1 on the path, 2 done
        var found: [[String]] = []
        var seen = Set<Set<Int>>()
        // Iterative depth-first walk: (step, next edge to follow).
        for root in names.indices where state[root] == 0 {
            var path: [(node: Int, edge: Int)] = [(root, 0)]
            state[root] = 1
            while let (v, e) = path.last {
                guard e < edges[v].count else {
                    state[v] = 2
                    path.removeLast()
                    continue
                }
                path[path.count - 1].edge += 1
                let w = edges[v][e]
                if state[w] == 0 {
                    state[w] = 1
                    path.append((w, 0))
                } else if state[w] == 1 {
                    let cycle = path[path.lastIndex { $0.node == w }!...].map(\.node)
                    if seen.insert(Set(cycle)).inserted {
                        let start = cycle.firstIndex(of: cycle.min()!)!
                        found.append((cycle[start...] + cycle[..<start]).map { names[$0] })
                    }
                }
            }
        }
        return found
    }
}
