import AccordCore
import AccordStore
import AccordTestSupport
import Foundation
import Testing

/// `accordctl --regions-file` (SPEC §9) end to end: the file's mistakes at
/// their place, a tenant whose region has no database invalid at its
/// `spec.region`, a region move refused, and an apply SIGKILLed between a
/// region's commit and the control database's finished by the next apply
/// with nothing lost and nothing twice. One test at a time (four databases each).
@Suite(TestDatabase.required, .serialized, .timeLimit(.minutes(5)), .tags(.heavy))
struct RegionCLITests {
    static func scalar(_ db: ScratchDatabase, _ sql: String) async throws -> String {
        try await db.withSession { try await $0.scalar(sql) } ?? ""
    }

    @Test func applyPlacesEachTenantAndRefusesWhatResidencyForbids() async throws {
        let fx = try await RegionFixture.make()
        defer { Task { await fx.drop() } }
        let repo = try CLITests.repo(copying: "examples/platform")
        let regions = try fx.file()
        let env = ["DATABASE_URL": "", "ACCORD_REGIONS_FILE": regions]

        // A mistake in the file: at its place, nothing applied.
        let broken = fx.directory.appendingPathComponent("broken.yaml")
        try SecretFixture.write("control: {databaseUrlFile: control.url}\nregions:\n  eu: {databaseUrlFile: eu.url}\n  mars: {databaseUrlFile: eu.url}\n",
                                to: broken, mode: 0o644)
        let bad = try await CLITests.accordctl(["apply", "--repo", repo.root.path, "--regions-file", broken.path], environment: env)
        #expect(bad.status == 2)
        #expect(bad.stderr.contains("\(broken.path):4:3: regions.mars: unknown region \"mars\""), "\(bad.stderr)")
        // apac has no database: kestrel-health is invalid at its spec.region.
        let noApac = try fx.file(omit: [.apac])
        let invalid = try await CLITests.accordctl(["apply", "--repo", repo.root.path, "--regions-file", noApac], environment: env)
        #expect(invalid.status == 2)
        #expect(invalid.stdout.contains("tenants/kestrel-health.yaml:14:11: spec.region: region apac has no database in the regions file"), "\(invalid.stdout)")
        // `diff` finds the same, against the database and against another revision (no database opened).
        try repo.write("README.md", "a second commit\n")
        _ = try repo.commit("a second commit")
        for args in [["diff"], ["diff", "--against", "HEAD~1"]] {
            let diffed = try await CLITests.accordctl(args + ["--repo", repo.root.path, "--regions-file", noApac], environment: env)
            #expect(diffed.status == 2, "\(args)")
            #expect(diffed.stdout.contains("tenants/kestrel-health.yaml:14:11: spec.region: region apac has no database in the regions file"),
                    "\(args): \(diffed.stdout) \(diffed.stderr)")
        }
        let offline = try await CLITests.accordctl(["diff", "--against", "HEAD~1", "--repo", repo.root.path, "--regions-file", broken.path], environment: env)
        #expect(offline.status == 2 && offline.stderr.contains("\(broken.path):4:3: regions.mars"), "\(offline.stderr)")
        #expect(try await Self.scalar(fx.control, "SELECT count(*)::text FROM platform.tenants") == "0", "nothing was applied")
        #expect(try await Self.scalar(fx.regions[.eu]!, "SELECT count(*)::text FROM pg_namespace WHERE nspname LIKE 'tenant\\_%'") == "0")

        let applied = try await CLITests.accordctl(["apply", "--repo", repo.root.path], environment: env)
        #expect(applied.status == 0, "\(applied.stderr)")
        #expect(try await Self.scalar(fx.control, "SELECT count(*)::text FROM platform.tenants") == "4")
        #expect(try await Self.scalar(fx.regions[.us]!, "SELECT string_agg(tenant, ',') FROM accord.tenant_keys") == "northwind")
        // `status` reads the keys from the regions, without migrating anything.
        let status = try await CLITests.accordctl(["status", "Tenant/northwind", "-o", "json"], environment: env)
        #expect(status.status == 0 && status.stdout.contains("\"keyId\""), "\(status.stdout) \(status.stderr)")
        #expect((try JSONParser.parse(status.stdout)["objects"]?.arrayValue?.first)?["database"] == .string("us"), "\(status.stdout)")
        // The table names each object's database: a tenant's region, control for the rest.
        let table = try await CLITests.accordctl(["status"], environment: env)
        let lines = table.stdout.split(separator: "\n").map { $0.split(separator: " ", omittingEmptySubsequences: true).prefix(2).joined(separator: " ") }
        #expect(lines.first == "OBJECT DATABASE", "\(table.stdout)")
        #expect(lines.contains("Tenant/northwind us") && lines.contains("Tenant/kestrel-health apac")
                && lines.contains("Worker/acme-corp/risk-analyst control") && lines.contains("Region/eu eu"), "\(table.stdout)")

        // `status` has a row for each region's database; one that is down is not Ready.
        let regionsStatus = try await CLITests.accordctl(["status", "regions"], environment: env)
        #expect(regionsStatus.status == 0)
        #expect(regionsStatus.stdout.split(separator: "\n").filter { $0.hasPrefix("Region/") }.map { $0.split(separator: " ").prefix(2).joined(separator: " ") }
                == ["Region/apac True", "Region/eu True", "Region/us True"], "\(regionsStatus.stdout)")
        let apacDown = ["DATABASE_URL": "", "ACCORD_REGIONS_FILE": try fx.file(urls: [.apac: "postgres://accord@127.0.0.1:1/apac?connect_timeout=2&sslmode=disable"])]
        let down = try await CLITests.accordctl(["status", "regions", "--fail-on-not-ready", "-o", "json"], environment: apacDown)
        #expect(down.status == 1)
        let objects = try JSONParser.parse(down.stdout)["objects"]?.arrayValue ?? []
        let apac = objects.first { $0["id"] == .string("Region/apac") }
        #expect(apac?["ready"] == .bool(false) && apac?["message"]?.stringValue?.contains("127.0.0.1:1") == true, "\(down.stdout)")
        #expect(objects.first { $0["id"] == .string("Region/eu") }?["ready"] == .bool(true))

        // Moving northwind from us to eu is refused before anything is written.
        try repo.write("tenants/northwind.yaml", try String(contentsOf: repo.root.appendingPathComponent("tenants/northwind.yaml"), encoding: .utf8)
            .replacingOccurrences(of: "region: us", with: "region: eu"))
        _ = try repo.commit("move northwind to eu")
        // `diff` names the databases each change writes, and says apply would refuse the move.
        let diff = try await CLITests.accordctl(["diff", "--repo", repo.root.path], environment: env)
        #expect(diff.status == 2)
        #expect(diff.stdout.contains("~ Tenant/northwind  → region eu + control"), "\(diff.stdout)")
        #expect(diff.stderr.contains("residency: Tenant/northwind: spec.region: moving from us to eu is refused"), "\(diff.stderr)")
        let diffJSON = try await CLITests.accordctl(["diff", "--repo", repo.root.path, "-o", "json"], environment: env)
        let steps = try JSONParser.parse(diffJSON.stdout)["steps"]?.arrayValue ?? []
        #expect(steps.first { $0["id"] == .string("Tenant/northwind") }?["databases"] == JSONValue(strings: ["region eu", "control"]), "\(diffJSON.stdout)")
        let moved = try await CLITests.accordctl(["apply", "--repo", repo.root.path], environment: env)
        #expect(moved.status == 2)
        #expect(moved.stderr.contains("Tenant/northwind: spec.region: moving from us to eu is refused"), "\(moved.stderr)")
        #expect(try await Self.scalar(fx.control, "SELECT region FROM platform.tenants WHERE name = 'northwind'") == "us")
    }

    @Test func aKillBetweenTheRegionsCommitAndTheControlsIsFinishedByTheNextApply() async throws {
        let fx = try await RegionFixture.make()
        defer { Task { await fx.drop() } }
        let repo = try CLITests.repo(copying: "examples/platform")
        let env = ["DATABASE_URL": "", "ACCORD_REGIONS_FILE": try fx.file()]
        // Killed once eu's first transaction (its tenants' stores and keys) committed, before the registry's.
        let killed = try await CLITests.accordctl(["apply", "--repo", repo.root.path],
                                                  environment: env.merging(["ACCORD_TEST_KILL_AT": "region-committed:eu:1"]) { $1 })
        #expect(killed.status == SIGKILL && killed.signaled, "\(killed.stderr.suffix(500))")
        let eu = fx.regions[.eu]!
        #expect(try await Self.scalar(eu, "SELECT string_agg(tenant || ':' || version, ',' ORDER BY tenant) FROM accord.tenant_keys") == "acme-corp:1,brightpath:1")
        #expect(try await Self.scalar(eu, "SELECT (to_regnamespace('tenant_acme_corp') IS NOT NULL)::text") == "true")
        #expect(try await Self.scalar(fx.control, "SELECT count(*)::text FROM platform.tenants") == "0", "the registry did not follow")
        let status = try await CLITests.accordctl(["status", "Tenant/acme-corp"], environment: env)
        #expect(!status.stdout.contains("Ready=True"), "a tenant whose registry row did not follow is not shown ready: \(status.stdout)")

        // The next apply finds the stores and keys in place and writes the registry.
        let again = try await CLITests.accordctl(["apply", "--repo", repo.root.path], environment: env)
        #expect(again.status == 0, "\(again.stderr)")
        #expect(try await Self.scalar(eu, "SELECT string_agg(tenant || ':' || version, ',' ORDER BY tenant) FROM accord.tenant_keys") == "acme-corp:1,brightpath:1",
                "no second key")
        let audited = try await Self.scalar(fx.control, "SELECT body::jsonb->'detail'->'dataKey'->>'keyId' FROM accord.audit_log WHERE object = 'Tenant/acme-corp' AND action = 'create'")
        let held = try await Self.scalar(eu, "SELECT key_id FROM accord.tenant_keys WHERE tenant = 'acme-corp'")
        #expect(!audited.isEmpty && audited == held, "the onboarding's audit entry names the key the region holds")
        let verify = try await CLITests.accordctl(["audit", "verify"], environment: env)
        #expect(verify.status == 0, "\(verify.stdout) \(verify.stderr)")
        // Nothing left to do: `diff` (reading the regions without migrating them) finds no change.
        let diff = try await CLITests.accordctl(["diff", "--repo", repo.root.path], environment: env)
        #expect(diff.status == 0, "\(diff.stdout) \(diff.stderr)")
    }
}

extension RegionCLITests {
    /// A move to another region killed after the copy committed (the next
    /// apply copies again, nothing twice) and after the verified move was
    /// recorded (the next apply drops the old copy and finishes, never
    /// copying again).
    /// The example platform applied with regions, three rows of northwind
    /// in us, and a commit moving northwind to eu with the annotation; its
    /// manifest as it was, and with the annotation (still in us).
    static func northwindMoving(_ fx: RegionFixture) async throws -> (repo: GitFixture, env: [String: String], original: String, annotated: String) {
        let repo = try CLITests.repo(copying: "examples/platform")
        let env = ["DATABASE_URL": "", "ACCORD_REGIONS_FILE": try fx.file()]
        #expect(try await CLITests.accordctl(["apply", "--repo", repo.root.path], environment: env).status == 0)
        try await fx.regions[.us]!.withSession { try await $0.execute("INSERT INTO shared.users (tenant_id) VALUES ('northwind'), ('northwind'), ('northwind')") }
        let original = try String(contentsOf: repo.root.appendingPathComponent("tenants/northwind.yaml"), encoding: .utf8)
        let annotated = original.replacingOccurrences(of: "    accord.dev/owner: customer-success-na",
                                                      with: "    accord.dev/owner: customer-success-na\n    accord.dev/migrate-region: \"true\"")
        try repo.write("tenants/northwind.yaml", annotated.replacingOccurrences(of: "  region: us", with: "  region: eu"))
        _ = try repo.commit("move northwind to eu with its data")
        return (repo, env, original, annotated)
    }

    @Test(arguments: ["region-committed:eu:1", "region-move-recorded"])
    func aKilledMoveToAnotherRegionIsFinishedByTheNextApply(killAt: String) async throws {
        let fx = try await RegionFixture.make()
        defer { Task { await fx.drop() } }
        let (repo, env, _, _) = try await Self.northwindMoving(fx)
        let us = fx.regions[.us]!, eu = fx.regions[.eu]!

        let killed = try await CLITests.accordctl(["apply", "--repo", repo.root.path], environment: env.merging(["ACCORD_TEST_KILL_AT": killAt]) { $1 })
        #expect(killed.status == SIGKILL && killed.signaled, "\(killed.stderr.suffix(500))")
        let users = { (db: ScratchDatabase) in try await Self.scalar(db, "SELECT count(*)::text FROM shared.users WHERE tenant_id = 'northwind'") }
        // Where the kill landed: the copy is in eu, us still has everything, the registry still says us.
        let copied = try await users(eu), left = try await users(us)
        #expect(copied == "3" && left == "3")
        #expect(try await Self.scalar(fx.control, "SELECT region FROM platform.tenants WHERE name = 'northwind'") == "us")
        #expect(try await Self.scalar(fx.control, "SELECT count(*)::text FROM accord.region_moves") == (killAt == "region-move-recorded" ? "1" : "0"))

        let again = try await CLITests.accordctl(["apply", "--repo", repo.root.path], environment: env)
        #expect(again.status == 0, "\(again.stdout) \(again.stderr)")
        #expect(try await users(eu) == "3", "copied once")
        #expect(try await users(us) == "0")
        #expect(try await Self.scalar(us, "SELECT count(*)::text FROM accord.tenant_keys") == "0")
        #expect(try await Self.scalar(eu, "SELECT count(*)::text FROM accord.tenant_keys WHERE tenant = 'northwind'") == "1")
        #expect(try await Self.scalar(fx.control, "SELECT region || ' ' || (SELECT count(*) FROM accord.region_moves) FROM platform.tenants WHERE name = 'northwind'") == "eu 0")
        #expect(try await CLITests.accordctl(["diff", "--repo", repo.root.path], environment: env).status == 0)
        #expect(try await CLITests.accordctl(["audit", "verify"], environment: env).status == 0)
    }

    /// With its region down, an onboarded tenant's workers stall too,
    /// though only their files changed and their rows are in the control
    /// database: every pass with a region down reads its tenants' stores
    /// there, finds them unreadable and fails the tenant, and the workers
    /// wait for it.
    @Test func aWorkerOfATenantWhoseRegionIsDownWaitsForIt() async throws {
        let fx = try await RegionFixture.make()
        defer { Task { await fx.drop() } }
        let repo = try CLITests.repo(copying: "examples/platform")
        #expect(try await CLITests.accordctl(["apply", "--repo", repo.root.path], environment: ["DATABASE_URL": "", "ACCORD_REGIONS_FILE": try fx.file()]).status == 0)
        for (file, old, new) in [("workers/kestrel-health.yaml", "  replicas: 0", "  replicas: 1"), ("workers/northwind.yaml", "  replicas: 4", "  replicas: 5")] {
            let path = repo.root.appendingPathComponent(file)
            try repo.write(file, try String(contentsOf: path, encoding: .utf8).replacingOccurrences(of: old, with: new))
        }
        _ = try repo.commit("scale two workers")
        let apacDown = ["DATABASE_URL": "", "ACCORD_REGIONS_FILE": try fx.file(urls: [.apac: "postgres://accord@127.0.0.1:1/apac?connect_timeout=2&sslmode=disable"])]
        let applied = try await CLITests.accordctl(["apply", "--repo", repo.root.path, "-o", "json"], environment: apacDown)
        #expect(applied.status == 1, "\(applied.stdout) \(applied.stderr)")
        let failed = try await Self.scalar(fx.control, "SELECT string_agg(kind || '/' || tenant || '/' || name || ' ' || reason, ',' ORDER BY kind, name) FROM accord.object_status")
        #expect(failed == "Tenant//kestrel-health RegionUnavailable,Worker/kestrel-health/intake-summarizer DependencyNotReady",
                "\(failed) \(applied.stdout) \(applied.stderr)")
        #expect(try await Self.scalar(fx.control, "SELECT string_agg(name || '=' || replicas, ',' ORDER BY name) FROM platform.workers WHERE name IN ('intake-summarizer', 'lead-enricher')")
                == "intake-summarizer=0,lead-enricher=5")
        // Back up: the worker applies and its stall clears.
        let back = try await CLITests.accordctl(["apply", "--repo", repo.root.path], environment: ["DATABASE_URL": "", "ACCORD_REGIONS_FILE": try fx.file()])
        #expect(back.status == 0, "\(back.stderr)")
        #expect(try await Self.scalar(fx.control, "SELECT replicas::text FROM platform.workers WHERE name = 'intake-summarizer'") == "1")
        #expect(try await Self.scalar(fx.control, "SELECT count(*)::text FROM accord.object_status") == "0")
    }


    /// A verified move whose manifest went back before the move finished:
    /// the data is in the new region, so the next apply finishes the move
    /// (the registry follows the data) and then reads the manifest as a
    /// move back, refused without the annotation and carried out with it.
    @Test func aVerifiedMoveWhoseManifestWentBackIsFinishedThenMovedBackOnlyWhenAnnotated() async throws {
        let fx = try await RegionFixture.make()
        defer { Task { await fx.drop() } }
        let (repo, env, original, annotated) = try await Self.northwindMoving(fx)
        let us = fx.regions[.us]!, eu = fx.regions[.eu]!
        let killed = try await CLITests.accordctl(["apply", "--repo", repo.root.path],
                                                  environment: env.merging(["ACCORD_TEST_KILL_AT": "region-move-recorded"]) { $1 })
        #expect(killed.status == SIGKILL && killed.signaled, "\(killed.stderr.suffix(500))")
        let users = { (db: ScratchDatabase) in try await Self.scalar(db, "SELECT count(*)::text FROM shared.users WHERE tenant_id = 'northwind'") }
        // Where the kill landed: the verified copy recorded, us not dropped yet, the registry still us.
        #expect(try await Self.scalar(fx.control, "SELECT to_region FROM accord.region_moves WHERE tenant = 'northwind'") == "eu")
        #expect(try await users(eu) == "3")
        #expect(try await users(us) == "3")
        #expect(try await Self.scalar(fx.control, "SELECT region FROM platform.tenants WHERE name = 'northwind'") == "us")

        // The manifest goes back to us, without the annotation.
        try repo.write("tenants/northwind.yaml", original)
        _ = try repo.commit("northwind stays in us after all")
        let refused = try await CLITests.accordctl(["apply", "--repo", repo.root.path], environment: env)
        #expect(refused.status == 2)
        #expect(refused.stderr.contains("Tenant/northwind: spec.region: moving from eu to us is refused"), "\(refused.stderr)")
        // The move was finished first: the registry and the inventory say eu, where the data is, and us holds none of it.
        #expect(try await Self.scalar(fx.control, "SELECT region || ' ' || (SELECT count(*) FROM accord.region_moves) FROM platform.tenants WHERE name = 'northwind'") == "eu 0")
        #expect(try await Self.scalar(fx.control, "SELECT database FROM accord.inventory WHERE kind = 'Tenant' AND name = 'northwind'") == "eu")
        #expect(try await users(eu) == "3")
        #expect(try await users(us) == "0")
        #expect(try await Self.scalar(fx.control, "SELECT body::jsonb->'detail'->'regionMoved'->>'to' FROM accord.audit_log WHERE object = 'Tenant/northwind' ORDER BY seq DESC LIMIT 1") == "eu")

        // With the annotation, the data moves back to us.
        try repo.write("tenants/northwind.yaml", annotated)
        _ = try repo.commit("move northwind back to us with its data")
        let back = try await CLITests.accordctl(["apply", "--repo", repo.root.path], environment: env)
        #expect(back.status == 0, "\(back.stdout) \(back.stderr)")
        #expect(try await users(us) == "3")
        #expect(try await users(eu) == "0")
        #expect(try await Self.scalar(us, "SELECT count(*)::text FROM accord.tenant_keys WHERE tenant = 'northwind'") == "1")
        #expect(try await Self.scalar(fx.control, "SELECT region FROM platform.tenants WHERE name = 'northwind'") == "us")
        #expect(try await CLITests.accordctl(["diff", "--repo", repo.root.path], environment: env).status == 0)
        #expect(try await CLITests.accordctl(["audit", "verify"], environment: env).status == 0)
    }
}

/// Two PostgreSQL clusters on two ports (SPEC §9): control, eu and apac on
/// the test server, us on a cluster of its own, stopped in the middle of
/// an apply — after eu's tenants committed — and started again.
@Suite(TestDatabase.required, .timeLimit(.minutes(5)), .tags(.heavy))
struct RegionClusterTests {
    @Test func aRegionsServerStoppedMidApplyStallsOnlyItsTenantsUntilItIsBack() async throws {
        let cluster = try PrivateCluster.start()
        defer { cluster.stop() }
        let fx = try await RegionFixture.make([.eu, .apac])
        defer { Task { await fx.drop() } }
        try SecretFixture.write(fx.control.urlText + "\n", to: fx.directory.appendingPathComponent("control.url"))
        for region in [Region.eu, .apac] {
            try SecretFixture.write(fx.regions[region]!.urlText + "\n", to: fx.directory.appendingPathComponent("\(region.rawValue).url"))
        }
        try SecretFixture.write(cluster.url + "?connect_timeout=3\n", to: fx.directory.appendingPathComponent("us.url"))
        let file = fx.directory.appendingPathComponent("two-clusters.yaml")
        try SecretFixture.write("""
            control: {databaseUrlFile: control.url}
            regions:
              eu: {databaseUrlFile: eu.url}
              us: {databaseUrlFile: us.url}
              apac: {databaseUrlFile: apac.url}
            timeout: 20s

            """, to: file, mode: 0o644)
        let repo = try CLITests.repo(copying: "examples/platform")
        let env = ["DATABASE_URL": "", "ACCORD_REGIONS_FILE": file.path]

        let out = OutputFile(), err = OutputFile()
        defer { out.remove(); err.remove() }
        // The apply holds itself right after eu's tenants committed; us's server goes down then.
        let process = try await FaultTests.launchHeld(["apply", "--repo", repo.root.path], environment: env, stopAt: "region-committed:eu:1",
                                                      out: out, err: err)
        #expect(FaultTests.isStopped(process.processIdentifier), "the apply reached eu's commit and stopped there")
        try cluster.stopServer()
        kill(process.processIdentifier, SIGCONT)
        guard await process.exited(within: .seconds(120), "the apply with us's server down") else { return }
        #expect(process.terminationStatus == 1, "some objects failed, not an error of the run: \(err.text)")
        #expect(out.text.contains("Tenant/northwind") && out.text.contains("RegionUnavailable"), "\(out.text)")
        let tenants = { try await RegionCLITests.scalar(fx.control, "SELECT string_agg(name, ',' ORDER BY name) FROM platform.tenants") }
        #expect(try await tenants() == "acme-corp,brightpath,kestrel-health", "every other region's tenants applied")

        // Back up: the next apply onboards northwind in us.
        try cluster.startServer()
        let again = try await CLITests.accordctl(["apply", "--repo", repo.root.path], environment: env)
        #expect(again.status == 0, "\(again.stdout) \(again.stderr)")
        #expect(try await tenants() == "acme-corp,brightpath,kestrel-health,northwind")
        #expect(try await cluster.session { try await $0.scalar("SELECT string_agg(tenant, ',') FROM accord.tenant_keys") } == "northwind")
        let status = try await CLITests.accordctl(["status", "regions", "--fail-on-not-ready"], environment: env)
        #expect(status.status == 0, "\(status.stdout)")
    }
}
