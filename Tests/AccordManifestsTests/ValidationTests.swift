import AccordCore
@testable import AccordManifests
import Testing

@Suite struct ValidationTests {
    @Test func validSetIsSortedAndTyped() throws {
        let set = load(["t.yaml": tenantYAML, "m.yaml": modelYAML, "w.yaml": workerYAML("writer")])
        #expect(set.diagnostics.isEmpty)
        #expect(set.manifests.map(\.id.description) == ["Model/drafter", "Tenant/acme", "Worker/acme/writer"])
        guard case .tenant(let tenant) = set.manifests[1].spec else { Issue.record("not a tenant"); return }
        #expect(tenant.effectiveIsolation == .shared)
        #expect(tenant.auth.mfa == .required)
        #expect(tenant.keyRotationDays == 90)
        guard case .worker(let worker) = set.manifests[2].spec else { Issue.record("not a worker"); return }
        #expect(worker.replicas == 1)
    }

    @Test func enterpriseDefaultsToSchemaIsolation() {
        let set = load(["t.yaml": tenantYAML.replacingOccurrences(of: "plan: pro", with: "plan: enterprise")])
        guard case .tenant(let tenant)? = set.manifests.first?.spec else { Issue.record("no tenant"); return }
        #expect(tenant.effectiveIsolation == .schema)
    }

    @Test func aSchemaTenantNameMustLeaveRoomForItsSchemaName() {
        let long = String(repeating: "a", count: 57), fits = String(repeating: "b", count: 56)
        let enterprise = { (name: String) in
            tenantYAML.replacingOccurrences(of: "plan: pro", with: "plan: enterprise").replacingOccurrences(of: "name: acme", with: "name: \(name)")
        }
        #expect(messages(load(["t.yaml": enterprise(long)])) == [
            "t.yaml:4:9: metadata.name: a tenant with isolation schema has a name of at most 56 characters, so that its schema tenant_<name> fits PostgreSQL's 63-byte identifier limit; \"\(long)\" has 57",
        ])
        #expect(messages(load(["t.yaml": enterprise(fits)])).isEmpty)
        let shared = tenantYAML.replacingOccurrences(of: "name: acme", with: "name: \(long)")
        #expect(messages(load(["t.yaml": shared])).isEmpty, "a shared tenant has no schema of its own")
    }

    @Test func reportsEveryErrorOfEveryFileAtOnceInOrder() {
        let set = load([
            "b.yaml": tenantYAML.replacingOccurrences(of: "plan: pro", with: "plan: gold").replacingOccurrences(of: "region: eu", with: "region: mars"),
            "a.yaml": workerYAML("Bad_Name", tenant: "ghost", model: "nope"),
        ])
        #expect(messages(set) == [
            "a.yaml:4:9: metadata.name: \"Bad_Name\" is not a DNS-1123 label (lowercase letters, digits and '-', starting and ending with a letter or digit)",
            "b.yaml:7:9: spec.plan: must be one of starter, pro or enterprise; got \"gold\"",
            "b.yaml:8:11: spec.region: must be one of eu, us or apac; got \"mars\"",
        ])
    }

    @Test func danglingReferencesPointAtTheReferringField() {
        let set = load(["w.yaml": workerYAML("writer", tenant: "ghost", model: "nope")])
        #expect(messages(set) == [
            "w.yaml:5:11: metadata.tenant: Tenant \"ghost\" is not defined in the repository",
            "w.yaml:8:10: spec.model: Model \"nope\" is not defined in the repository",
        ])
    }

    /// SPEC §1: all errors at once. An object whose identity could be read
    /// has its references checked even when other fields are wrong.
    @Test func referencesAreCheckedBesideFieldErrors() {
        let worker = workerYAML("writer", model: "ghost-model") + "  replicas: 250\n  colour: blue\n"
        #expect(messages(load(["t.yaml": tenantYAML, "w.yaml": worker])) == [
            "w.yaml:8:10: spec.model: Model \"ghost-model\" is not defined in the repository",
            "w.yaml:9:13: spec.replicas: must be between 0 and 100; got 250",
            "w.yaml:10:3: spec.colour: unknown field; a Worker spec has \"role\", \"model\", \"capabilities\", \"costPerTask\", \"confidenceThreshold\", \"replicas\" and \"paused\"",
        ])
        // A broken workflow still has its missing workers and its cycle reported.
        let workflow = """
            apiVersion: accord.dev/v1
            kind: Workflow
            metadata: {name: flow, tenant: acme}
            spec:
              trigger: {manual: yes-please}
              steps:
                - {name: a, worker: nobody, dependsOn: [b]}
                - {name: b, worker: nobody, dependsOn: [a]}

            """
        let found = messages(load(["t.yaml": tenantYAML, "f.yaml": workflow]))
        #expect(found.count == 4, "\(found)")
        #expect(found.contains { $0.hasPrefix("f.yaml:5:") && $0.contains("spec.trigger.manual") })
        #expect(found.filter { $0.contains("Worker \"nobody\" in tenant acme is not defined") }.count == 2)
        #expect(found.contains { $0.contains("spec.steps[0].dependsOn[0]: steps depend on each other in a cycle: a -> b -> a") })
        // An identity that cannot be read has nothing to refer from: only its own errors.
        #expect(messages(load(["w.yaml": workerYAML("Bad_Name", model: "ghost") + "  replicas: 250\n"])).count == 2)
    }

    @Test func duplicateAcrossFilesNamesTheFirstPlace() {
        let set = load(["a.yaml": tenantYAML, "b/c.yaml": "# again\n" + tenantYAML])
        #expect(messages(set) == ["b/c.yaml:5:9: metadata.name: duplicate Tenant/acme; first defined at a.yaml:4:9"])
    }

    @Test func invalidSpecStillCountsAsDefinedForReferences() {
        let set = load([
            "t.yaml": tenantYAML.replacingOccurrences(of: "plan: pro", with: "plan: gold"),
            "m.yaml": modelYAML, "w.yaml": workerYAML("writer"),
        ])
        #expect(messages(set) == ["t.yaml:7:9: spec.plan: must be one of starter, pro or enterprise; got \"gold\""])
    }

    @Test func metadataTenantRules() {
        let forbidden = tenantYAML.replacingOccurrences(of: "  name: acme\n", with: "  name: acme\n  tenant: acme\n")
        #expect(messages(load(["t.yaml": forbidden])) == ["t.yaml:5:3: metadata.tenant: not allowed: Tenant objects are cluster-scoped"])
    }

    @Test func duplicateKeysAreErrors() {
        let text = tenantYAML + "  plan: starter\n"
        #expect(messages(load(["t.yaml": text])) == ["t.yaml:9:3: spec.plan: duplicate key; first written at line 7, column 3"])
    }

    @Test func duplicateKeysInALargeMappingAreErrorsToo() {
        // More than 16 keys: duplicates are found through a dictionary rather than a list.
        let extra = (0..<20).map { "  x\($0): 1\n" }.joined()
        let text = tenantYAML + extra + "  x3: 2\n  plan: starter\n"
        let found = messages(load(["t.yaml": text]))
        #expect(found.filter { $0.contains("duplicate key") } == [
            "t.yaml:29:3: spec.x3: duplicate key; first written at line 12, column 3",
            "t.yaml:30:3: spec.plan: duplicate key; first written at line 7, column 3",
        ], "\(found)")
        #expect(found.filter { $0.contains("unknown field") }.count == 20)
    }

    @Test func hostileNamesAreEscapedInMessages() {
        let text = tenantYAML.replacingOccurrences(of: "name: acme", with: "name: \"ac\\u001B[31mme\"")
        let message = messages(load(["t.yaml": text])).first ?? ""
        #expect(message == "t.yaml:4:9: metadata.name: contains a control character; names are DNS-1123 labels")
        let sql = tenantYAML.replacingOccurrences(of: "name: acme", with: "name: \"acme'; DROP TABLE platform.tenants; --\"")
        #expect(messages(load(["t.yaml": sql])).first?.contains("is not a DNS-1123 label") == true)
    }

    @Test func emailAddressesInErasuresAreRefusedWithoutBeingEchoed() {
        let erasure = """
            apiVersion: accord.dev/v1
            kind: Erasure
            metadata:
              name: dsr-1
              tenant: acme
              labels:
                requester: jane.doe@example.com
            spec:
              subjectEmailHash: sha256:\(String(repeating: "b", count: 64))
              requestedAt: 2026-11-18T09:00:00Z
              legalBasis: gdpr-art17
            """
        let set = load(["t.yaml": tenantYAML, "e.yaml": erasure])
        #expect(set.diagnostics.count == 1)
        #expect(set.diagnostics.first?.position.line == 7)
        #expect(set.diagnostics.first?.message.contains("jane.doe") == false)
    }

    @Test func emailLikeValuesAreNeverEchoed() {
        let tenant = tenantYAML.replacingOccurrences(of: "plan: pro", with: "plan: ceo@acme.example")
            .replacingOccurrences(of: "region: eu", with: "region: eu\n  owner@acme.example: x")
        let text = messages(load(["t.yaml": tenant])).joined(separator: "\n")
        #expect(text.contains("spec.plan: must be one of starter, pro or enterprise; got <a value that looks like an e-mail address>"))
        #expect(text.contains("unknown field"))
        #expect(!text.contains("acme.example"))
    }

    @Test func workflowCyclesAreNamed() {
        let workflow = """
            apiVersion: accord.dev/v1
            kind: Workflow
            metadata: {name: flow, tenant: acme}
            spec:
              trigger: {manual: true}
              steps:
                - {name: a, worker: writer, dependsOn: [c]}
                - {name: b, worker: writer, dependsOn: [a]}
                - {name: c, worker: writer, dependsOn: [b]}
            """
        let set = load(["t.yaml": tenantYAML, "m.yaml": modelYAML, "w.yaml": workerYAML("writer"), "f.yaml": workflow])
        #expect(messages(set) == [
            "f.yaml:7:45: spec.steps[0].dependsOn[0]: steps depend on each other in a cycle: a -> c -> b -> a (each step depends on the next)",
        ])
        let selfLoop = workflow.replacingOccurrences(of: "dependsOn: [c]", with: "dependsOn: [a]")
        #expect(messages(load(["t.yaml": tenantYAML, "m.yaml": modelYAML, "w.yaml": workerYAML("writer"), "f.yaml": selfLoop])) == [
            "f.yaml:7:45: spec.steps[0].dependsOn[0]: a step cannot depend on itself",
        ])
    }

    @Test func stepGraphFindsEachCycleOnce() {
        func step(_ n: String, _ deps: [String]) -> Step { var s = Step(name: n, worker: "w"); s.dependsOn = deps; return s }
        #expect(StepGraph.cycles([step("a", []), step("b", ["a"]), step("c", ["a", "b"])]).isEmpty, "a diamond is no cycle")
        #expect(StepGraph.cycles([step("a", ["b"]), step("b", ["a"])]) == [["a", "b"]])
        let long = (0..<50_000).map { step("s\($0)", $0 == 0 ? ["s49999"] : ["s\($0 - 1)"]) }
        #expect(StepGraph.cycles(long).first?.count == 50_000, "deep graphs need no recursion")
    }

    @Test func ruleOperandsAreTyped() {
        func workflow(_ rule: String) -> String {
            """
            apiVersion: accord.dev/v1
            kind: Workflow
            metadata: {name: flow, tenant: acme}
            spec:
              trigger: {event: lead_enriched}
              steps:
                - name: a
                  worker: writer
                  when:
                    - \(rule)

            """
        }
        let base = ["t.yaml": tenantYAML, "m.yaml": modelYAML, "w.yaml": workerYAML("writer")]
        func errors(_ rule: String) -> [String] {
            messages(load(base.merging(["f.yaml": workflow(rule)]) { $1 }))
        }
        #expect(errors("{field: context.amount, operator: gte, value: 1000}").isEmpty)
        #expect(errors("{field: context.region, operator: in, value: [eu, us]}").isEmpty)
        #expect(errors("{field: context.tag, operator: exists}").isEmpty)
        #expect(errors("{field: context.amount, operator: gte, value: lots}") == ["f.yaml:10:57: spec.steps[0].when[0].value: must be a number; got string \"lots\""])
        #expect(errors("{field: amount, operator: eq, value: 1}") == ["f.yaml:10:19: spec.steps[0].when[0].field: \"amount\" is not a context field (context.<key>[.<key>…], keys of letters, digits, '_' and '-')"])
        #expect(errors("{field: context.a, operator: eq}") == ["f.yaml:10:11: spec.steps[0].when[0]: missing required field \"value\" (operator eq compares with a value)"])
        #expect(errors("{field: context.a, operator: like, value: x}").first?.contains("must be one of eq, ne, gt, gte, lt, lte, in or exists") == true)
    }

    @Test func triggerNeedsExactlyOneKind() {
        let text = """
            apiVersion: accord.dev/v1
            kind: Workflow
            metadata: {name: flow, tenant: acme}
            spec:
              trigger: {schedule: "@daily", manual: true}
              steps: [{name: a, worker: writer}]
            """
        let set = load(["t.yaml": tenantYAML, "m.yaml": modelYAML, "w.yaml": workerYAML("writer"), "f.yaml": text])
        #expect(messages(set) == ["f.yaml:5:12: spec.trigger: must have exactly one of \"schedule\", \"event\" or \"manual\""])
    }

    @Test func fileProblemsAreReportedAtTheStartOfTheFile() {
        let set = ManifestSet.load([
            SourceFile(path: "big.yaml", content: .tooLarge(size: 5_000_000)),
            SourceFile(path: "link.yaml", content: .symlink),
        ])
        #expect(messages(set) == [
            "big.yaml:1:1: file is 5000000 bytes; the limit is 4194304 bytes (4 MiB)",
            "link.yaml:1:1: is a symbolic link; Accord does not follow symbolic links",
        ])
    }

    @Test func nonMappingDocumentsAreRefused() {
        #expect(messages(load(["x.yaml": "- just\n- a list\n"])) == ["x.yaml:1:1: must be a mapping; got a list"])
    }
}

@Suite struct PatternTests {
    @Test func durations() {
        #expect(Patterns.durationSeconds("30m") == 1800)
        #expect(Patterns.durationSeconds("4h") == 14_400)
        #expect(Patterns.durationSeconds("2d") == 172_800)
        #expect(Patterns.durationSeconds("1d12h") == 129_600)
        for bad in ["", "4", "h", "4 hours", "0m", "1h1d", "1m1m", "-1h", "99999999999s"] {
            #expect(Patterns.durationSeconds(bad) == nil, "\(bad)")
        }
    }

    /// The byte-wise check for ASCII text agrees with asking every
    /// scalar's properties, and URIs with a space, a tab, a control or a
    /// non-breaking space anywhere are refused.
    @Test func whitespaceAndControlsInURIs() {
        let pieces = ["a", "/", ":", " ", "\t", "\n", "\u{1}", "\u{7F}", "\u{A0}", "\u{2003}", "é", "~", "\u{85}"]
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<1_000 {
            let s = (0..<Int.random(in: 0...6, using: &rng)).map { _ in pieces.randomElement(using: &rng)! }.joined()
            #expect(Patterns.hasWhitespaceOrControl(s) == s.unicodeScalars.contains { $0.properties.isWhitespace || $0.value < 0x20 },
                    "\(s.debugDescription)")
        }
        #expect(Patterns.isURI("s3://bucket/m/1") && Patterns.isHTTPSURL("https://idp.example.com/x"))
        for bad in ["s3://bucket /m", "s3://bucket\t/m", "s3://bucket/\u{1}", "s3://bucket/\u{A0}", "https://", "3s://x"] {
            #expect(!Patterns.isURI(bad), "\(bad.debugDescription)")
        }
    }

    @Test func cron() {
        for good in ["0 6 1 * *", "*/15 * * * *", "0 9-17 * * MON-FRI", "5,35 0 1 JAN,jul 0", "@daily", "0 0 * * 7"] {
            #expect(Cron.problem(good) == nil, "\(good)")
        }
        #expect(Cron.problem("61 * * * *") == "minute field \"61\": \"61\" is not in 0-59")
        #expect(Cron.problem("* * *") == "must have 5 fields (minute hour day-of-month month day-of-week); found 3")
        #expect(Cron.problem("0 5-2 * * *") == "hour field \"5-2\": range 5-2 runs backwards")
        #expect(Cron.problem("*/0 * * * *") != nil)
        #expect(Cron.problem("@fortnightly") != nil)
    }

    @Test func timestamps() {
        #expect(Patterns.rfc3339("1970-01-01T00:00:00Z") == 0)
        #expect(Patterns.rfc3339("2026-11-18T09:00:00Z") == 1_794_992_400)
        #expect(Patterns.rfc3339("2026-11-18T10:00:00+01:00") == 1_794_992_400)
        #expect(Patterns.rfc3339("2024-02-29T00:00:00.5Z") != nil)
        for bad in ["2026-11-18T09:00:00", "2026-11-18", "2023-02-29T00:00:00Z", "2026-13-01T00:00:00Z", "2026-11-18T24:00:00Z"] {
            #expect(Patterns.rfc3339(bad) == nil, "\(bad)")
        }
    }

    @Test func digestsAndEmails() {
        #expect(Patterns.isSHA256("sha256:" + String(repeating: "0", count: 64)))
        #expect(!Patterns.isSHA256("sha256:" + String(repeating: "A", count: 64)))
        #expect(Patterns.sha256Problem("sha256:" + String(repeating: "A", count: 64)) == "hex digits must be lowercase")
        #expect(Patterns.sha256Problem("md5:00") == "must start with \"sha256:\"")
        #expect(Patterns.containsEmailAddress("contact jane.doe+dsr@mail.example.co.uk please"))
        #expect(!Patterns.containsEmailAddress("user@localhost"))
        #expect(!Patterns.containsEmailAddress("sha256:abc@"))
    }

    @Test func names() {
        #expect(Patterns.isDNSLabel("a"))
        #expect(Patterns.isDNSLabel("acme-corp-2"))
        #expect(!Patterns.isDNSLabel("-acme"))
        #expect(!Patterns.isDNSLabel("acme-"))
        #expect(!Patterns.isDNSLabel("Acme"))
        #expect(!Patterns.isDNSLabel("аcme"), "Cyrillic a is not ASCII")
        #expect(!Patterns.isDNSLabel(String(repeating: "a", count: 64)))
    }
}

extension ValidationTests {
    /// Positions are kept as the enclosing path and the key or index below
    /// it; a lookup by the dotted path finds exactly what the joined path
    /// would, and nothing that only shares a prefix or a suffix.
    @Test func fieldPositionsAreFoundByTheirDottedPaths() {
        var p = FieldPositions()
        p.record("", key: "spec", line: 1, column: 1)
        p.record("spec", key: "model", line: 2, column: 3)
        p.record("spec.capabilities", index: 0, line: 3, column: 5)
        p.record("spec.capabilities", index: 12, line: 4, column: 5)
        p.record("metadata.labels", key: "app.kubernetes.io/name", line: 5, column: 7)
        p.record("spec.steps[1].when", line: 6, column: 9)
        #expect(p.entries.map(\.path) == ["spec", "spec.model", "spec.capabilities[0]", "spec.capabilities[12]",
                                          "metadata.labels.app.kubernetes.io/name", "spec.steps[1].when"])
        for e in p.entries { #expect(p[e.path]! == (Int(e.line), Int(e.column)), "\(e.path)") }
        for miss in ["", "spe", "specs", "spec.", "spec.mode", "spec.models", "specmodel", "model", "spec.capabilities",
                     "spec.capabilities[1]", "spec.capabilities[01]", "spec.capabilities[12", "spec.capabilities[120]",
                     "metadata.labels.app", "metadata.labels", "spec.steps[1]", "spec.steps[1].when.x"] {
            #expect(p[miss] == nil, "\(miss)")
        }
        // The last recorded wins, however the path was split.
        p.record("spec.model", line: 9, column: 9)
        #expect(p["spec.model"]! == (9, 9))
        // Equal by paths and places, not by how each path was split.
        var a = FieldPositions(), b = FieldPositions()
        a.record("spec", key: "model", line: 1, column: 2)
        b.record("spec.model", line: 1, column: 2)
        #expect(a == b && a.hashValue == b.hashValue)
        b.record("spec.role", line: 1, column: 2)
        #expect(a != b)
    }
}
