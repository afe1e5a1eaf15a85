import AccordCore
import AccordStore
@testable import AccordCLI
import AccordTestSupport
import Foundation
import Testing

/// `accordctl diff`, `apply`, `status`, `history` and `audit verify` as users run them.
@Suite struct PlanCLITests {
    typealias CLI = CLITests

    /// The example platform committed, then a second commit that changes a
    /// worker and removes a workflow.
    static func twoRevisions() throws -> GitFixture {
        let fx = try CLI.repo(copying: "examples/platform")
        let path = fx.root.appendingPathComponent("workers/brightpath.yaml")
        let text = try String(contentsOf: path, encoding: .utf8).replacingOccurrences(of: "replicas: 1", with: "replicas: 3")
        try fx.write("workers/brightpath.yaml", text)
        try FileManager.default.removeItem(at: fx.root.appendingPathComponent("workflows/northwind-lead-followup.yaml"))
        _ = try fx.commit("scale triage, drop lead follow-up")
        return fx
    }

    @Test func diffAgainstAnotherRevisionNeedsNoDatabase() async throws {
        let fx = try Self.twoRevisions()
        let cache = FileManager.default.temporaryDirectory.appendingPathComponent("accord-diff-cache-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: cache) }
        let noDatabase = ["DATABASE_URL": "", "NO_COLOR": "1", "ACCORD_CACHE_DIR": cache.path, "ACCORD_TIMINGS": "1"]
        let expected = """
            ~ Worker/brightpath/support-triage
                replicas: 1 → 3
            - Workflow/northwind/lead-followup
            0 to create, 1 to update, 1 to delete

            """
        // A cold cache: both revisions read whole, and their indexes stored.
        let run = try await CLI.accordctl(["diff", "--repo", fx.root.path, "--against", "HEAD~1", "--prune"], environment: noDatabase)
        #expect(run.status == 1, "\(run.stderr)")
        #expect(run.stdout == expected)
        #expect(run.stderr.contains("cold diff: the base read whole and its index stored") && run.stderr.contains("fast diff: stored the head's index"),
                "the base read whole, the head at the speed of the change against it: \(run.stderr)")
        #expect(!run.stderr.contains("read the base's index"), "\(run.stderr)")
        // Again: only the two changed files read, the rest from the base's index; the same plan.
        let again = try await CLI.accordctl(["diff", "--repo", fx.root.path, "--against", "HEAD~1", "--prune"], environment: noDatabase)
        #expect(again.status == 1 && again.stdout == expected, "\(again.stdout)")
        #expect(again.stderr.contains("read the base's index") && again.stderr.contains("fast diff: planned") && !again.stderr.contains("cold diff"),
                "\(again.stderr)")
        // A damaged index is not trusted: the diff reads both revisions again, and stores a good one.
        for file in try FileManager.default.contentsOfDirectory(atPath: cache.path + "/diff-index") {
            try Data("accord-diff-index 1\tdamaged\n".utf8).write(to: cache.appendingPathComponent("diff-index/" + file))
        }
        let damaged = try await CLI.accordctl(["diff", "--repo", fx.root.path, "--against", "HEAD~1", "--prune"], environment: noDatabase)
        #expect(damaged.status == 1 && damaged.stdout == expected)
        #expect(damaged.stderr.contains("cold diff: the base read whole") && !damaged.stderr.contains("read the base's index"), "\(damaged.stderr)")
        let kept = try await CLI.accordctl(["diff", "--repo", fx.root.path, "--against", "HEAD~1"], environment: noDatabase)
        #expect(kept.stdout.contains("1 removed from git but kept (apply with --prune to delete them):\n  Workflow/northwind/lead-followup\n"))
        #expect(kept.stdout.hasSuffix("0 to create, 1 to update, 0 to delete\n"))

        let same = try await CLI.accordctl(["diff", "--repo", fx.root.path, "--against", "HEAD"], environment: noDatabase)
        #expect(same.status == 0)
        #expect(same.stdout == "0 to create, 0 to update, 0 to delete\n")

        let json = try await CLI.accordctl(["diff", "--repo", fx.root.path, "--against", "HEAD~1", "-o", "json"], environment: noDatabase)
        #expect(json.status == 1)
        let parsed = try JSONParser.parse(json.stdout)
        #expect(parsed["formatVersion"] == .number(1))
        #expect(parsed["summary"]?["update"] == .number(1))
        #expect(parsed["against"]?.stringValue?.count == 40)
        #expect(json.stdout.contains("\"path\": \"replicas\""))

        let markdown = try await CLI.accordctl(["diff", "--repo", fx.root.path, "--against", "HEAD~1", "-o", "markdown"], environment: noDatabase)
        #expect(markdown.stdout.hasPrefix("### 📝 Accord plan: 0 to create, 1 to update, 0 to delete\n"))
        #expect(markdown.stdout.contains("| Worker | 0 | 1 | 0 | 0 |"))
    }

    @Test func invalidManifestsAreNeverPlanned() async throws {
        let fx = try CLI.repo(files: ["a.yaml": "apiVersion: accord.dev/v1\nkind: Tenant\nmetadata: {name: acme}\nspec: {displayName: A, plan: gold, region: eu}\n"])
        let run = try await CLI.accordctl(["diff", "--repo", fx.root.path, "--database-url", "postgres://u:p@127.0.0.1:1/x"])
        #expect(run.status == 2)
        #expect(run.stdout.hasPrefix("a.yaml:4:30: spec.plan: must be one of starter, pro or enterprise; got \"gold\"\n"))
        #expect(run.stderr.contains("the manifests are invalid; nothing was planned or applied"))
    }

    @Test func anUnreachableDatabaseExitsTwoWithoutItsPassword() async throws {
        let fx = try CLI.repo(copying: "examples/platform")
        for command in ["diff", "apply", "status", "history"] {
            var args = [command, "--database-url", "postgres://accord:s3cret@127.0.0.1:1/accord"]
            if command == "diff" || command == "apply" { args += ["--repo", fx.root.path] }
            let run = try await CLI.accordctl(args)
            #expect(run.status == 2, "\(command)")
            #expect(run.stderr == "accordctl: error: cannot reach database postgres://accord:***@127.0.0.1:1/accord: cannot connect to 127.0.0.1:1: Connection refused\n",
                    "\(command): \(run.stderr)")
            #expect(!(run.stdout + run.stderr).contains("s3cret"))
        }
        let none = try await CLI.accordctl(["status"], environment: ["DATABASE_URL": "", "DATABASE_URL_FILE": ""])
        #expect(none.status == 2)
        #expect(none.stderr.contains("no database: pass --database-url or --database-url-file, or set DATABASE_URL or DATABASE_URL_FILE"))
    }

    /// `--database-url-file` and `DATABASE_URL_FILE`: the URL (and its
    /// password) out of the arguments and the environment; the file read
    /// only when no one but its owner can; one source at a time.
    @Test func theDatabaseURLFromAFile() async throws {
        let dir = try SecretFixture.directory("cli-url")
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("url")
        try SecretFixture.write("postgres://accord:file-s3cret@127.0.0.1:1/accord\n", to: file)
        let clean = ["DATABASE_URL": "", "DATABASE_URL_FILE": ""]
        for (args, environment) in [(["--database-url-file", file.path], clean),
                                    ([], clean.merging(["DATABASE_URL_FILE": file.path]) { $1 })] {
            let run = try await CLI.accordctl(["status"] + args, environment: environment)
            #expect(run.status == 2)
            #expect(run.stderr.contains("cannot reach database postgres://accord:***@127.0.0.1:1/accord"), "the URL of the file: \(run.stderr)")
            #expect(!(run.stdout + run.stderr).contains("file-s3cret"))
        }
        let both = try await CLI.accordctl(["status", "--database-url-file", file.path, "--database-url", "postgres://a@h/db"], environment: clean)
        #expect(both.status == 2 && both.stderr.contains("give --database-url or --database-url-file, not both"), "\(both.stderr)")
        let twoVariables = try await CLI.accordctl(["status"], environment: ["DATABASE_URL": "postgres://a@h/db", "DATABASE_URL_FILE": file.path])
        #expect(twoVariables.status == 2 && twoVariables.stderr.contains("both DATABASE_URL and DATABASE_URL_FILE are set; unset one"))

        try FileManager.default.setAttributes([.posixPermissions: 0o640], ofItemAtPath: file.path)
        let open = try await CLI.accordctl(["status"], environment: clean.merging(["DATABASE_URL_FILE": file.path]) { $1 })
        #expect(open.status == 2)
        #expect(open.stderr.contains("DATABASE_URL_FILE: invalid database URL: \"\(file.path)\" has mode 0640, readable or writable by its group or others; make it 0600 (chmod 600) or 0400"), "\(open.stderr)")
        #expect(!(open.stdout + open.stderr).contains("file-s3cret"))
    }

    /// The refusals operators meet, with the exit status and the message
    /// SPEC §5 promises: the deletion guard and its flags, the apply lock,
    /// a tampered audit log, a database newer than the binary, an unknown
    /// revision, a lock timeout out of range.
    @Test(TestDatabase.required)
    func refusalsExitAsDocumented() async throws {
        let db = try await TestDatabase.scratch()
        defer { Task { await db.drop() } }
        let fx = try Self.twoRevisions()
        let env = ["DATABASE_URL": db.urlText, "NO_COLOR": "1"]
        let repo = ["--repo", fx.root.path]
        func scalar(_ sql: String) async throws -> String? { try await db.withSession { try await $0.scalar(sql) } }
        #expect(try await CLI.accordctl(["apply", "--ref", "HEAD~1"] + repo, environment: env).status == 0)
        let firstRevision = String(try fx.git("rev-parse", "HEAD~1").prefix(12))

        // HEAD drops one workflow: without --prune it is kept, and status says so.
        #expect(try await CLI.accordctl(["apply"] + repo, environment: env).status == 0)
        let orphan = try await CLI.accordctl(["status", "Workflow/northwind/lead-followup"], environment: env)
        #expect(orphan.status == 0)
        #expect(orphan.stdout.contains("removed from git and kept: not pruned (apply --prune deletes it)"), "\(orphan.stdout)")
        #expect(orphan.stdout.contains("  \(firstRevision)  "), "last applied at the revision that still had it")

        // 1 of 25 managed objects is more than 3%.
        let refused = try await CLI.accordctl(["apply", "--prune", "--max-delete-percent", "3"] + repo, environment: env)
        #expect(refused.status == 2)
        #expect(refused.stderr.contains("deletion guard: the plan would delete 1 of 25 managed objects, more than the 3% the deletion guard allows"))
        #expect(refused.stdout.contains("refused by the deletion guard: nothing was written"))
        #expect(try await scalar("SELECT count(*)::text FROM platform.workflows") == "2")
        // History lists the refused commit with why, once however often it is refused; status is as before.
        #expect(try await CLI.accordctl(["apply", "--prune", "--max-delete-percent", "3"] + repo, environment: env).status == 2)
        let head = String(try fx.head.prefix(12))
        let refusedHistory = try await CLI.accordctl(["history"], environment: env)
        let newest = refusedHistory.stdout.split(separator: "\n").dropFirst().first.map(String.init) ?? ""
        #expect(refusedHistory.stdout.hasPrefix("TIME ") && refusedHistory.stdout.contains("  REASON\n"), "\(refusedHistory.stdout)")
        #expect(newest.contains("  \(head)  refused  ") && newest.contains(
            "deletion guard: the plan would delete 1 of 25 managed objects, more than the 3% the deletion guard allows"), "\(refusedHistory.stdout)")
        #expect(refusedHistory.stdout.split(separator: "\n").count == 4, "two applies and one refusal: \(refusedHistory.stdout)")
        let refusedJSON = try JSONParser.parse(try await CLI.accordctl(["history", "-o", "json"], environment: env).stdout)
        #expect(refusedJSON["revisions"]?.arrayValue?.first?["result"] == .string("refused"))
        #expect(refusedJSON["revisions"]?.arrayValue?.first?["reason"]?.stringValue?.hasPrefix("deletion guard: the plan would delete") == true)
        #expect(try await scalar("SELECT action FROM accord.audit_log ORDER BY seq DESC LIMIT 1") == "refuse", "the refusal is audited")
        let allowed = try await CLI.accordctl(["apply", "--prune", "--max-delete-percent", "3", "--allow-mass-deletion"] + repo, environment: env)
        #expect(allowed.status == 0, "\(allowed.stderr)")
        #expect(try await scalar("SELECT count(*)::text FROM platform.workflows") == "1")
        let badShare = try await CLI.accordctl(["apply", "--max-delete-percent", "150"] + repo, environment: env)
        #expect(badShare.status == 2 && badShare.stderr.contains("--max-delete-percent must be between 0 and 100"))
        let badTimeout = try await CLI.accordctl(["apply", "--lock-timeout", "1e300"] + repo, environment: env)
        #expect(badTimeout.status == 2 && badTimeout.stderr.contains("--lock-timeout must be a number of seconds from 0 to 31536000"))

        // Another applier holds the lock: wait --lock-timeout, then exit 2 naming the holder.
        try await db.withSession { session in
            try await ApplyLock.acquire(session, holder: "a maintenance script on ops-1", timeout: .seconds(1))
            let busy = try await CLI.accordctl(["apply", "--lock-timeout", "0.5"] + repo, environment: env)
            #expect(busy.status == 2)
            #expect(busy.stderr.contains("a maintenance script on ops-1"), "\(busy.stderr)")
            let retention = try await CLI.accordctl(["retention", "run", "--lock-timeout", "0.5"], environment: env)
            #expect(retention.status == 2 && retention.stderr.contains("a maintenance script on ops-1"))
            try await ApplyLock.release(session)
        }

        // A tampered audit log: `audit verify` exits 1 and says where.
        // (The log is append-only: the edit needs its guard switched off, as only an owner could.)
        try await db.withSession { try await $0.script("""
            ALTER TABLE accord.audit_log DISABLE TRIGGER audit_log_append_only;
            UPDATE accord.audit_log SET body = replace(body, '"action":', '"action" :') WHERE seq = 1;
            ALTER TABLE accord.audit_log ENABLE TRIGGER audit_log_append_only;
            """) }
        let tampered = try await CLI.accordctl(["audit", "verify"], environment: env)
        #expect(tampered.status == 1)
        #expect((tampered.stdout + tampered.stderr).contains("entry 1: its content does not match its hash (edited)"), "\(tampered.stdout)\(tampered.stderr)")
        let tamperedJSON = try await CLI.accordctl(["audit", "verify", "-o", "json"], environment: env)
        #expect(tamperedJSON.status == 1)
        #expect(try JSONParser.parse(tamperedJSON.stdout)["intact"] == .bool(false))
        #expect(tamperedJSON.stdout.contains("entry 1: its content does not match its hash (edited)"), "\(tamperedJSON.stdout)")

        // A database newer than this binary: exit 2 for every command that reads it, nothing written.
        try await db.withSession { try await $0.execute("INSERT INTO accord.schema_migrations (version, name) VALUES (999, 'from the future')") }
        for command in [["diff"] + repo, ["apply"] + repo, ["status"], ["history"]] {
            let run = try await CLI.accordctl(command, environment: env)
            #expect(run.status == 2, "\(command[0])")
            #expect(run.stderr.contains("newer than this binary knows"), "\(command[0]): \(run.stderr)")
        }

        // An unknown revision: exit 2, naming it.
        let unknown = try await CLI.accordctl(["diff", "--against", "no-such-ref"] + repo, environment: ["DATABASE_URL": "", "NO_COLOR": "1"])
        #expect(unknown.status == 2 && unknown.stderr.contains("no-such-ref"), "\(unknown.stderr)")
    }

    @Test(TestDatabase.required)
    func applyStatusHistoryAndAuditAgainstADatabase() async throws {
        let db = try await TestDatabase.scratch()
        defer { Task { await db.drop() } }
        let fx = try Self.twoRevisions()
        let env = ["DATABASE_URL": db.urlText, "NO_COLOR": "1"]
        let repo = ["--repo", fx.root.path]

        let first = try await CLI.accordctl(["apply", "--ref", "HEAD~1"] + repo, environment: env)
        #expect(first.status == 0, "\(first.stderr)")
        // The summary first, then the objects.
        #expect(first.stdout.split(separator: "\n").first?.hasSuffix(": 25 created, 0 updated, 0 deleted; 0 unchanged of 25 objects") == true,
                "\(first.stdout)")

        let diff = try await CLI.accordctl(["diff"] + repo, environment: env)
        #expect(diff.status == 1)
        #expect(diff.stdout.contains("~ Worker/brightpath/support-triage\n    replicas: 1 → 3\n"))

        let dry = try await CLI.accordctl(["apply", "--dry-run", "--prune"] + repo, environment: env)
        #expect(dry.status == 0)
        #expect(dry.stdout.hasPrefix("dry run: no object was changed (0 to create, 1 to update, 1 to delete)\n"), "\(dry.stdout)")

        let second = try await CLI.accordctl(["apply", "--prune", "-o", "json"] + repo, environment: env)
        #expect(second.status == 0, "\(second.stderr)")
        let report = try JSONParser.parse(second.stdout)
        #expect(report["applied"] == .array([.string("Worker/brightpath/support-triage"), .string("Workflow/northwind/lead-followup")]))
        #expect(report["formatVersion"] == .number(1))

        let again = try await CLI.accordctl(["diff", "--prune"] + repo, environment: env)
        #expect(again.status == 0)

        let status = try await CLI.accordctl(["status", "Worker/brightpath/support-triage"], environment: env)
        #expect(status.status == 0)
        #expect(status.stdout.contains("Worker/brightpath/support-triage  True   False    2    2"))
        let json = try JSONParser.parse(try await CLI.accordctl(["status", "Worker", "-o", "json"], environment: env).stdout)
        guard case .array(let objects)? = json["objects"] else { Issue.record("no objects"); return }
        #expect(objects.count == 10)
        #expect(objects.first?["conditions"]?.canonical.contains("\"type\":\"Reconciling\"") == true)
        #expect(objects.first?["live"]?["model_version"] != nil, "status carries the live row")

        // A tenant's settings, stores and key: ids and dates, never key material.
        let tenant = try await CLI.accordctl(["status", "Tenant/acme-corp"], environment: env)
        #expect(tenant.status == 0)
        for line in ["  sso: \"oidc\"", "  mfa: \"required\"", "  retention_policy: \"standard-eu\"",
                     "  consent: [\"analytics\",\"model-training\"]", "  stores: \"tenant_acme_corp\"", "  data_key:", "    version: 1"] {
            #expect(tenant.stdout.contains(line + "\n"), "\(line)")
        }
        let wrapped = try await db.withSession { try await $0.scalar("SELECT string_agg(wrapped_key, ' ') FROM accord.tenant_keys") } ?? ""
        let keyID = try await db.withSession { try await $0.scalar("SELECT key_id FROM accord.tenant_keys WHERE tenant = 'acme-corp'") } ?? "?"
        #expect(tenant.stdout.contains("    keyId: \"\(keyID)\""))
        let tenantJSON = try await CLI.accordctl(["status", "Tenant", "-o", "json"], environment: env).stdout
        for output in [first.stdout, second.stdout, tenant.stdout, tenantJSON] {
            for w in wrapped.split(separator: " ") { #expect(!output.contains(w), "no wrapped key in any output") }
        }
        let noKEK = try await CLI.accordctl(["apply", "--kek-file", "/nonexistent/kek"] + repo, environment: env)
        #expect(noKEK.status == 2)
        #expect(noKEK.stderr.contains("the key-encryption key file (ACCORD_KEK_FILE): cannot read \"/nonexistent/kek\": No such file or directory"), "\(noKEK.stderr)")

        let missing = try await CLI.accordctl(["status", "Worker/nobody/none"], environment: env)
        #expect(missing.status == 2)
        // Kinds in any case, singular or plural; a wrong identity says the right form.
        for (object, message) in [("Gadget/x", "\"Gadget\" is not a kind; the kinds are Notification, Store, Model, RetentionPolicy, Tenant, Worker, Erasure, Workflow"),
                                  ("Worker/nope", "a Worker belongs to a tenant: Worker/TENANT/NAME, not \"Worker/nope\""),
                                  ("Tenant/acme-corp/x", "a Tenant belongs to no tenant: Tenant/NAME, not \"Tenant/acme-corp/x\"")] {
            let bad = try await CLI.accordctl(["status", object], environment: env)
            #expect(bad.status == 2, "\(object): \(bad.status)")
            #expect(bad.stderr.contains(message), "\(object): \(bad.stderr)")
        }
        let lower = try await CLI.accordctl(["status", "tenant/acme-corp"], environment: env)
        #expect(lower.status == 0 && lower.stdout.contains("Tenant/acme-corp "), "\(lower.stdout)\(lower.stderr)")
        let plural = try await CLI.accordctl(["status", "workers"], environment: env)
        #expect(plural.status == 0 && plural.stdout.split(separator: "\n").dropFirst().allSatisfy { $0.hasPrefix("Worker/") }, "\(plural.stdout)")

        let history = try await CLI.accordctl(["history"], environment: env)
        #expect(history.status == 0)
        let lines = history.stdout.split(separator: "\n")
        #expect(lines.count == 3)
        #expect(lines[1].contains(String(try fx.head.prefix(12))) && lines[1].contains("+0 ~1 -1"))

        let audit = try await CLI.accordctl(["audit", "verify"], environment: env)
        #expect(audit.status == 0)
        // 34 (30 and the four stores'): the erasure ran (its PostgreSQL part and its certificate, one entry each) after crossing its
        // three SLA thresholds (one entry each: it was requested on 2026-11-18, more than 72 hours before
        // any run of this test).
        #expect(audit.stdout.hasPrefix("audit log intact: 34 entries"), "\(audit.stdout)")
        let auditJSON = try await CLI.accordctl(["audit", "verify", "-o", "json"], environment: env)
        let verdict = try JSONParser.parse(auditJSON.stdout)
        #expect(auditJSON.status == 0 && verdict["intact"] == .bool(true) && verdict["entries"] == .number(34) && verdict["problems"] == .array([]),
                "\(auditJSON.stdout)")
        // The audit log, read: one object's entries newest first, a tenant's, by action and time; JSON whole.
        let triage = try await CLI.accordctl(["audit", "log", "--object", "worker/brightpath/support-triage"], environment: env)
        let triageRows = triage.stdout.split(separator: "\n").dropFirst().map { $0.split(separator: " ", omittingEmptySubsequences: true) }
        #expect(triage.status == 0 && triageRows.map { $0[4] } == ["update", "create"] && triageRows.allSatisfy { $0[2] == "accordctl" && $0[3] == "apply" },
                "\(triage.stdout)\(triage.stderr)")
        #expect(triage.stdout.contains("Worker/brightpath/support-triage  \(String(try fx.head.prefix(12)))  cause=\"manifest\" fields=[\"replicas\"]"),
                "\(triage.stdout)")
        let created = try await CLI.accordctl(["audit", "log", "--tenant", "northwind", "--action", "create", "--since", "1h"], environment: env)
        #expect(created.stdout.split(separator: "\n").count == 7, "the Tenant, four workers, the workflow: \(created.stdout)")
        let newest = try JSONParser.parse(try await CLI.accordctl(["audit", "log", "--limit", "1", "-o", "json"], environment: env).stdout)
        #expect(newest["entries"]?.arrayValue?.count == 1 && newest["entries"]?.arrayValue?.first?["seq"] == .number(34)
                && newest["entries"]?.arrayValue?.first?["detail"] != nil, "\(newest)")
        #expect(try await CLI.accordctl(["audit", "log", "--since", "2999-01-01"], environment: env).stdout == "no audit entries match\n")
        let badSince = try await CLI.accordctl(["audit", "log", "--since", "yesterday"], environment: env)
        #expect(badSince.status == 2 && badSince.stderr.contains("--since \"yesterday\": not a date"), "\(badSince.stderr)")

        let markdown = try await CLI.accordctl(["history", "-o", "markdown"], environment: env)
        let rows = markdown.stdout.split(separator: "\n")
        #expect(rows.first == "| TIME | COMMIT | RESULT | OBJECTS | CHANGES | MERKLE ROOT |" && rows.dropFirst().first == "|---|---|---|---|---|---|"
                && rows.count == 4, "header, separator and the two revisions: \(markdown.stdout)")
    }

    /// A commit that cannot be applied is visible from the CLI: history
    /// lists it with its first errors (once), and the source the
    /// controller records is the first row of `status`, failing a
    /// `--fail-on-not-ready` gate.
    @Test(TestDatabase.required)
    func anInvalidCommitIsInHistoryAndTheSourceInStatus() async throws {
        let db = try await TestDatabase.scratch()
        defer { Task { await db.drop() } }
        let fx = try Self.twoRevisions()
        let env = ["DATABASE_URL": db.urlText, "NO_COLOR": "1"]
        let repo = ["--repo", fx.root.path]
        #expect(try await CLI.accordctl(["apply"] + repo, environment: env).status == 0)
        let good = try fx.head
        let path = fx.root.appendingPathComponent("tenants/northwind.yaml")
        try fx.write("tenants/northwind.yaml", try String(contentsOf: path, encoding: .utf8).replacingOccurrences(of: "plan: pro", with: "plan: gold"))
        let bad = try fx.commit("northwind on gold")
        for _ in 0..<2 {
            let run = try await CLI.accordctl(["apply"] + repo, environment: env)
            #expect(run.status == 2 && run.stdout.contains("tenants/northwind.yaml:"), "\(run.stdout)\(run.stderr)")
        }
        let history = try await CLI.accordctl(["history"], environment: env).stdout
        let rows = history.split(separator: "\n").map(String.init)
        #expect(rows.count == 3, "the applied commit and the invalid one, once: \(history)")
        #expect(rows[1].contains("  \(bad.prefix(12))  invalid  ") && rows[1].contains("the manifests at \(bad.prefix(12)) are invalid (1 error)")
                && rows[1].contains("tenants/northwind.yaml:"), "\(history)")
        #expect(rows[2].contains("  \(good.prefix(12))  applied  "), "\(history)")

        // Without a controller there is no source row; with one, it comes first and says why.
        #expect(try await CLI.accordctl(["status"], environment: env).stdout.split(separator: "\n").allSatisfy { !$0.hasPrefix("Source/") })
        let source = try await CLI.accordctl(["status", "source"], environment: env)
        #expect(source.status == 2 && source.stderr.contains("no source recorded"), "\(source.stderr)")
        let error = "tenants/northwind.yaml:6:9: spec.plan: \"gold\" is not one of free, pro, enterprise"
        try await db.withSession { session in
            try await SourceStatus.write(SourceStatus(
                url: "https://git.example.com/platform.git", branch: "main", path: "/", ready: false, reason: .revisionInvalid,
                message: "\(bad.prefix(12)) not applied: its manifests are invalid (1 error); \(good.prefix(12)) stays applied",
                errors: [error], fetchedRevision: bad, fetchedAt: Date(), appliedRevision: good, appliedAt: Date()), session)
        }
        let status = try await CLI.accordctl(["status"], environment: env)
        let first = (status.stdout.split(separator: "\n").dropFirst().first ?? "").split(separator: " ").prefix(8).joined(separator: " ")
        #expect(first == "Source/git False True - - \(good.prefix(12)) \(bad.prefix(12)) \(bad.prefix(12))", "\(status.stdout)")
        #expect(try await CLI.accordctl(["status", "--fail-on-not-ready"], environment: env).status == 1)
        #expect(try await CLI.accordctl(["status", "Tenant", "--fail-on-not-ready"], environment: env).status == 0, "the tenants are Ready")
        let alone = try await CLI.accordctl(["status", "Source/git"], environment: env)
        #expect(alone.status == 0 && alone.stdout.contains("  url: https://git.example.com/platform.git\n")
                && alone.stdout.contains("  errors:\n    - \(error)\n") && alone.stdout.split(separator: "\n").count == 11, "\(alone.stdout)")
        let json = try JSONParser.parse(try await CLI.accordctl(["status", "-o", "json"], environment: env).stdout)
        let object = json["objects"]?.arrayValue?.first
        #expect(object?["kind"] == .string("Source") && object?["fetchedRevision"] == .string(bad)
                && object?["conditions"]?.arrayValue?.first?["reason"] == .string("RevisionInvalid"), "\(object ?? .null)")
    }

    /// Files no commit holds reach the live database only when asked, and
    /// are marked: history says uncommitted on which commit, status too.
    @Test(TestDatabase.required)
    func applyingAWorkTreeNeedsAllowUncommittedAndIsMarked() async throws {
        let db = try await TestDatabase.scratch()
        defer { Task { await db.drop() } }
        let fx = try Self.twoRevisions()
        let env = ["DATABASE_URL": db.urlText, "NO_COLOR": "1"]
        let repo = ["--repo", fx.root.path]
        let head = String(try fx.head.prefix(12))
        let clean = try await CLI.accordctl(["apply", "--worktree"] + repo, environment: env)
        #expect(clean.status == 2 && clean.stderr.contains(
            "apply --worktree writes files on disk to the live database: the files match HEAD (\(head)): apply without --worktree to apply and record that commit; or pass --allow-uncommitted"),
                "\(clean.stderr)")
        #expect(try await CLI.accordctl(["apply"] + repo, environment: env).status == 0)

        let path = fx.root.appendingPathComponent("workers/brightpath.yaml")
        try fx.write("workers/brightpath.yaml", try String(contentsOf: path, encoding: .utf8).replacingOccurrences(of: "replicas: 3", with: "replicas: 4"))
        let refused = try await CLI.accordctl(["apply", "--worktree"] + repo, environment: env)
        #expect(refused.status == 2 && refused.stderr.contains(
            "1 manifest file (workers/brightpath.yaml modified) differ from HEAD (\(head)): commit them and apply the commit; or pass --allow-uncommitted"),
                "\(refused.stderr)")
        #expect(try await db.withSession { try await $0.scalar("SELECT replicas::text FROM platform.workers WHERE name = 'support-triage'") } == "3")
        let misuse = try await CLI.accordctl(["apply", "--allow-uncommitted"] + repo, environment: env)
        #expect(misuse.status == 2 && misuse.stderr.contains("--allow-uncommitted goes with --worktree"), "\(misuse.stderr)")

        let applied = try await CLI.accordctl(["apply", "--worktree", "--allow-uncommitted"] + repo, environment: env)
        #expect(applied.status == 0, "\(applied.stderr)")
        #expect(applied.stdout.hasPrefix("applied uncommitted files on \(head): 0 created, 1 updated, 0 deleted; 23 unchanged of 24 objects\n"), "\(applied.stdout)")
        #expect(try await db.withSession { try await $0.scalar("SELECT replicas::text FROM platform.workers WHERE name = 'support-triage'") } == "4")
        let history = try await CLI.accordctl(["history"], environment: env).stdout
        #expect(history.split(separator: "\n").dropFirst().first?.contains("  uncommitted on \(head)  applied  ") == true, "\(history)")
        let json = try JSONParser.parse(try await CLI.accordctl(["history", "-o", "json"], environment: env).stdout)
        #expect(json["revisions"]?.arrayValue?.first?["uncommittedBase"] == .string(try fx.head))
        let status = try await CLI.accordctl(["status", "Worker/brightpath/support-triage"], environment: env).stdout
        #expect(status.contains("  uncommitted  "), "\(status)")
    }

    /// `ACCORD_TIMINGS=1` accounts for the whole command, not only the
    /// pass's phases: its start-up (arguments and keys, the revision
    /// opened, the connection), what comes after the last phase, and the
    /// work tree's status, looked at beside the command for the
    /// uncommitted-changes note, with how long the command waited for it.
    @Test(TestDatabase.required)
    func timingsAccountForTheWholeCommand() async throws {
        let db = try await TestDatabase.scratch()
        defer { Task { await db.drop() } }
        let fx = try Self.twoRevisions()
        let repo = ["--repo", fx.root.path]
        func timings(_ run: CLI.Run) -> [String] {
            run.stderr.split(separator: "\n").map(String.init).filter { $0.hasPrefix("timing: ") }
        }
        func names(_ lines: [String]) -> [String] {
            lines.map { line in
                #expect(line.range(of: #"^timing: .+ [0-9]+ ms( \(waited for at the end [0-9]+ ms\))?$"#, options: .regularExpression) != nil, "\(line)")
                return String(line.dropFirst("timing: ".count).prefix { !$0.isNumber })
            }
        }
        let env = ["DATABASE_URL": db.urlText, "NO_COLOR": "1", "ACCORD_TIMINGS": "1"]
        for pass in ["a full apply", "a no-op apply"] {
            let run = try await CLI.accordctl(["apply"] + repo, environment: env)
            #expect(run.status == 0, "\(run.stderr)")
            let shown = names(timings(run))
            #expect(Array(shown.prefix(4)) == ["start-up: arguments and keys ", "start-up: the revision opened ", "start-up: connected ",
                                                "migrate and lock "], "\(pass): \(shown)")
            #expect(shown.contains(pass == "a full apply" ? "execute (" : "fast path: files and platform tables unchanged since the last complete pass "),
                    "\(pass): \(shown)")
            #expect(Array(shown.suffix(2)) == ["connection closed, report written ",
                                                "the work tree compared with HEAD (for a note on uncommitted changes), beside the command "],
                    "\(pass): \(shown)")
        }
        // Without the variable, none.
        let quiet = try await CLI.accordctl(["apply"] + repo, environment: ["DATABASE_URL": db.urlText, "NO_COLOR": "1"])
        #expect(quiet.status == 0 && timings(quiet).isEmpty, "\(quiet.stderr)")
    }

    /// A plan reads as the manifests do: manifest field names, steps and
    /// versions by name, nested values as blocks, digests and signatures
    /// shortened (in text and markdown); JSON keeps every value whole.
    @Test func diffsNameManifestFieldsAndShowNestedValuesAsBlocks() async throws {
        let fx = try CLI.repo(copying: "examples/platform")
        func edit(_ path: String, _ old: String, _ new: String) throws {
            let text = try String(contentsOf: fx.root.appendingPathComponent(path), encoding: .utf8)
            #expect(text.contains(old), "\(path): \(old)")
            try fx.write(path, text.replacingOccurrences(of: old, with: new))
        }
        let signature = "9xdi8KFM+i486O/rerGr8OkQzHKGDrmtuaugyJlgRGcwD/EobatQ/I3EiRv9TRHO/Ybl37aqxooVwWmW7uskBQ=="
        try edit("workers/brightpath.yaml", "costPerTask: 0.01", "costPerTask: 0.02")
        try edit("tenants/acme-corp.yaml", "issuer: https://login.acme-corp.example", "issuer: https://sso.acme-corp.example")
        try edit("models/support-drafter.yaml", "  production: \"3\"", """
                - version: "5"
                  artifact: s3://models/support-drafter/5
                  digest: sha256:378eeb76b99e62d84c44bb4a1cfb558d1eab26e809a4bcf83de6dcac139bbccf
                  evaluation: {faithfulness: 0.95, relevance: 0.89, toxicity: 0.01}
                  signature: \(signature)
              production: "3"
            """)
        try edit("workflows/northwind-lead-followup.yaml", "    - name: draft-outreach", """
                - name: enrich
                  worker: lead-enricher
                  dependsOn: [qualify]
                  sla: 15m
                - name: draft-outreach
            """)
        try edit("workflows/northwind-lead-followup.yaml", "sla: 30m", "sla: 45m")
        _ = try fx.commit("four changes")
        let env = ["DATABASE_URL": "", "NO_COLOR": "1"]
        let args = ["diff", "--repo", fx.root.path, "--against", "HEAD~1"]
        let text = try await CLI.accordctl(args, environment: env)
        let expected = """
            ~ Model/support-drafter
                versions[5]:
                  artifact: "s3://models/support-drafter/5"
                  digest: sha256:378eeb76b99e… (71 chars)
                  evaluation:
                    faithfulness: 0.95
                    relevance: 0.89
                    toxicity: 0.01
                  signature: 9xdi8KFM+i48… (88 chars)
            ~ Tenant/acme-corp
                auth.issuer: "https://login.acme-corp.example" → "https://sso.acme-corp.example"
            ~ Worker/brightpath/support-triage
                costPerTask: 0.01 → 0.02
            ~ Workflow/northwind/lead-followup
                steps[qualify].sla: "30m" → "45m"
                steps[enrich]:
                  name: "enrich"
                  dependsOn: ["qualify"]
                  sla: "15m"
                  worker: "lead-enricher"
            0 to create, 4 to update, 0 to delete

            """
        #expect(text.status == 1 && text.stdout == expected, "\(text.stdout)")
        let markdown = try await CLI.accordctl(args + ["-o", "markdown"], environment: env).stdout
        #expect(markdown.contains(expected.split(separator: "\n").dropLast().joined(separator: "\n")), "\(markdown)")
        let json = try await CLI.accordctl(args + ["-o", "json"], environment: env).stdout
        #expect(json.contains(signature) && json.contains("\"field\": \"versions[5]\"") && json.contains("\"path\": \"versions.5\""), "\(json)")
    }

    @Test func markdownOfAHugePlanStaysUnder60000CharactersInWholeLines() {
        let steps = (0..<20_000).map { i in
            PlanStep(id: ObjectID(kind: .worker, tenant: "tenant-\(i / 10)", name: "worker-\(i % 10)"), action: .update, cause: .manifest,
                     changes: [FieldChange(path: "replicas", old: .number(1), new: .number(2))], desired: nil)
        }
        let plan = Plan(steps: steps, orphaned: [], unmanaged: [], unchanged: 0, managed: 20_000)
        let markdown = PlanReport(plan: plan, revision: String(repeating: "a", count: 40), against: nil).markdown()
        #expect(markdown.count < 60_000)
        #expect(markdown.contains("| Worker | 0 | 20000 | 0 | 0 |"))
        #expect(markdown.contains("```\n</details>\n"), "the code block is closed")
        #expect(markdown.contains("more object(s) not shown; run `accordctl diff` for the full plan."))
        let body = markdown.components(separatedBy: "```diff\n")[1].components(separatedBy: "```")[0]
        let lines = body.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
        #expect(lines.allSatisfy { $0.hasPrefix("~ Worker/") || $0 == "    replicas: 1 → 2" }, "no line is cut")
    }

    /// Colour on a terminal only, and never with NO_COLOR: the built
    /// accordctl under a pseudo-terminal (`script`) and through a pipe.
    @Test func colourOnlyOnATerminalAndNeverWithNoColor() async throws {
        let fx = try Self.twoRevisions()
        let binary = try CLI.binary().path
        func viaTerminal(noColor: String?) async throws -> String {
            let command = "'\(binary)' diff --repo '\(fx.root.path)' --against HEAD~1"
            var env = ProcessInfo.processInfo.environment
            env["DATABASE_URL"] = ""
            env["NO_COLOR"] = noColor
            return try await ToolRun.run(URL(fileURLWithPath: "/usr/bin/script"), ["-qec", command, "/dev/null"], environment: env).stdout
        }
        let coloured = try await viaTerminal(noColor: nil)
        #expect(coloured.contains("\u{1B}[33m~ Worker/brightpath/support-triage"), "\(coloured)")
        let noColor = try await viaTerminal(noColor: "1")
        #expect(!noColor.contains("\u{1B}["), "NO_COLOR wins over a terminal")
        var piped = ProcessInfo.processInfo.environment
        piped["NO_COLOR"] = nil
        piped["DATABASE_URL"] = ""
        let plain = try await ToolRun.run(try CLI.binary(), ["diff", "--repo", fx.root.path, "--against", "HEAD~1"], environment: piped)
        #expect(plain.status == 1 && plain.stdout.contains("~ Worker/brightpath/support-triage") && !plain.stdout.contains("\u{1B}["))
    }

    /// apply's progress: on standard error, only when it is a terminal,
    /// never with NO_COLOR or --quiet; standard output keeps the report,
    /// the summary first; --summary prints only the counts.
    @Test(TestDatabase.required)
    func progressOnlyOnATerminalAndTheSummaryFirst() async throws {
        let db = try await TestDatabase.scratch()
        defer { Task { await db.drop() } }
        let fx = try Self.twoRevisions()
        let binary = try CLI.binary().path
        let out = fx.root.appendingPathComponent(".apply-out").path
        var env = ProcessInfo.processInfo.environment
        env["DATABASE_URL"] = db.urlText
        env["ACCORD_KEK_FILE"] = CLI.kekFile
        env["ACCORD_SIGNING_KEY_FILE"] = ExampleKeys.path("controller-signing.pem")
        env["ACCORD_TRUSTED_KEYS_DIR"] = ExampleKeys.trustedDirectory
        /// Standard error on a terminal, standard output to a file.
        func viaTerminal(_ args: String, noColor: String? = nil) async throws -> (terminal: String, stdout: String) {
            env["NO_COLOR"] = noColor
            let command = "'\(binary)' apply --repo '\(fx.root.path)' \(args) > '\(out)'"
            let run = try await ToolRun.run(URL(fileURLWithPath: "/usr/bin/script"), ["-qec", command, "/dev/null"], environment: env)
            return (run.stdout, (try? String(contentsOfFile: out, encoding: .utf8)) ?? "")
        }
        let first = try await viaTerminal("--ref HEAD~1")
        #expect(first.terminal.contains("\r\u{1B}[Kapplying: 0 of 25 objects") && first.terminal.contains("\r\u{1B}[Kapplying: 25 of 25 objects"),
                "\(first.terminal.debugDescription)")
        #expect(first.terminal.hasSuffix("\r\u{1B}[K"), "the line is erased at the end: \(first.terminal.debugDescription)")
        #expect(first.stdout.hasPrefix("applied ") && !first.stdout.contains("\r") && !first.stdout.contains("\u{1B}"), "\(first.stdout)")
        #expect(first.stdout.split(separator: "\n").first?.hasSuffix(": 25 created, 0 updated, 0 deleted; 0 unchanged of 25 objects") == true)

        try await db.withSession { try await $0.execute("UPDATE platform.workers SET replicas = 7") }
        let quiet = try await viaTerminal("--ref HEAD~1 --quiet")
        #expect(!quiet.terminal.contains("applying") && quiet.stdout.contains("(drift: changed outside Accord)"), "\(quiet.terminal.debugDescription)")
        try await db.withSession { try await $0.execute("UPDATE platform.workers SET replicas = 7") }
        let noColor = try await viaTerminal("--ref HEAD~1", noColor: "1")
        #expect(!noColor.terminal.contains("applying") && !noColor.terminal.contains("\u{1B}"), "\(noColor.terminal.debugDescription)")

        // Piped: nothing on standard error; --summary: the counts alone.
        let fresh = try await TestDatabase.scratch()
        defer { Task { await fresh.drop() } }
        let piped = try await CLI.accordctl(["apply", "--repo", fx.root.path, "--summary"], environment: ["DATABASE_URL": fresh.urlText])
        #expect(piped.status == 0 && piped.stderr.isEmpty, "\(piped.stderr)")
        #expect(piped.stdout == "applied \(try fx.head.prefix(12)): 24 created, 0 updated, 0 deleted; 0 unchanged of 24 objects\n"
                + "erasures: 1 certified, 0 waiting, 0 failed; retention: 2 policies enforced, 0 rows deleted\n", "\(piped.stdout)")
    }

    @Test func colourOnlyWhenEnabled() {
        #expect(Palette(enabled: false).paint("+ x", .create) == "+ x")
        #expect(Palette(enabled: true).paint("+ x", .create) == "\u{1B}[32m+ x\u{1B}[0m")
        #expect(Palette(enabled: true).paint("- x", .delete).hasPrefix("\u{1B}[31m"))
    }
}

/// An apply SIGKILLed by itself at named points of its pass
/// (`ACCORD_TEST_KILL_AT`, so each kill lands where it says: between
/// committed tenant batches, inside the transaction that writes a tenant's
/// data key, between worker batches, between two erasures, before the
/// revision is recorded) leaves every object as before or as after, and the
/// next apply converges. The platform is larger than one batch of each
/// kind — 450 tenants (three transactions: every tenth has a schema of its
/// own, and a transaction takes at most 20 of those), 4,500 workers (three), five
/// erasures — and every key is passed, so the kills land while tenants,
/// keys and workers are written, not while failures are recorded.
@Suite(TestDatabase.required, .timeLimit(.minutes(10)))
struct KilledApplyTests {
    static let tenants = 450

    static func platform() -> [String: String] {
        var files = GeneratedPlatform.files(tenants: tenants, ownSchemaEvery: 10)
        for t in 0..<5 {
            files["erasures/e\(t).yaml"] = """
                apiVersion: accord.dev/v1
                kind: Erasure
                metadata: {name: e\(t), tenant: t\(t)}
                spec: {subjectEmailHash: "sha256:\(String(repeating: "c", count: 64))", requestedAt: 2026-12-01T09:00:00Z, legalBasis: gdpr-art17}

                """
        }
        return files
    }

    /// Objects by kind in the inventory, tenants with a key, erasures whose PostgreSQL part ran, revisions recorded.
    static func counts(_ session: Session) async throws -> [String: Int] {
        var out: [String: Int] = [:]
        for row in try await session.rows("SELECT kind, count(*)::int FROM accord.inventory GROUP BY kind") {
            let (kind, n) = try row.decode((String, Int).self)
            out[kind] = n
        }
        out["keys"] = Int(try await session.scalar("SELECT count(*)::text FROM accord.tenant_keys") ?? "0")
        out["erased"] = Int(try await session.scalar("SELECT count(*)::text FROM accord.erasure_runs WHERE postgres_erased_at IS NOT NULL") ?? "0")
        out["revisions"] = Int(try await session.scalar("SELECT count(*)::text FROM accord.revisions") ?? "0")
        return out
    }

    @Test func killsAtEachPhaseLeaveEveryObjectAsBeforeOrAsAfter() async throws {
        let db = try await TestDatabase.scratch()
        defer { Task { await db.drop() } }
        let fx = try CLITests.repo(files: Self.platform())
        // point, and what must be recorded when the process dies there (inventory by kind, keys, erased, revisions).
        let points: [(String, [String: Int])] = [
            ("batch-committed:Tenant:1", ["RetentionPolicy": 1, "Model": 1, "Tenant": 200, "keys": 200, "erased": 0, "revisions": 0]),
            ("key-written", ["RetentionPolicy": 1, "Model": 1, "keys": 0, "erased": 0, "revisions": 0]),
            ("batch-committed:Tenant:3", ["RetentionPolicy": 1, "Model": 1, "Tenant": 450, "keys": 450, "erased": 0, "revisions": 0]),
            ("batch-committed:Worker:2", ["RetentionPolicy": 1, "Model": 1, "Tenant": 450, "Worker": 4_000, "keys": 450, "erased": 0, "revisions": 0]),
            ("before-revision-recorded", ["RetentionPolicy": 1, "Model": 1, "Tenant": 450, "Worker": 4_500, "Erasure": 5, "keys": 450,
                                          "erased": 0, "revisions": 0]),
            ("erasure-postgres-committed:2", ["RetentionPolicy": 1, "Model": 1, "Tenant": 450, "Worker": 4_500, "Erasure": 5, "keys": 450,
                                              "erased": 2, "revisions": 1]),
        ]
        var figures: [String] = []
        for (point, expected) in points {
            // Each from an empty database.
            try await db.withSession { session in
                try await session.execute("DROP SCHEMA IF EXISTS platform CASCADE")
                try await session.execute("DROP SCHEMA IF EXISTS accord CASCADE")
                for row in try await session.rows("SELECT nspname FROM pg_namespace WHERE nspname LIKE 'tenant\\_%' OR nspname = 'shared'") {
                    try await session.execute("DROP SCHEMA \(try row.decode(String.self)) CASCADE")
                }
            }
            let run = try await CLITests.accordctl(["apply", "--repo", fx.root.path],
                                                   environment: ["DATABASE_URL": db.urlText, "ACCORD_TEST_KILL_AT": point])
            #expect(run.status == SIGKILL && run.signaled, "\(point): killed by its own signal, status \(run.status): \(run.stderr.suffix(500))")
            try await db.withSession { session in
                let found = try await Self.counts(session)
                #expect(found == expected, "\(point)")
                let violations = try await FaultInvariants.violations(session)
                #expect(violations.isEmpty, "after a kill at \(point): \(violations.joined(separator: "; "))")
                figures.append("\(point): \(found.keys.sorted().map { "\($0) \(found[$0]!)" }.joined(separator: ", "))")
            }
            let finish = try await CLITests.accordctl(["apply", "--repo", fx.root.path], environment: ["DATABASE_URL": db.urlText])
            #expect(finish.status == 0, "after \(point): \(finish.stderr)")
            let check = try await CLITests.accordctl(["diff", "--repo", fx.root.path], environment: ["DATABASE_URL": db.urlText])
            #expect(check.stdout.hasSuffix("0 to create, 0 to update, 0 to delete\n"), "after \(point): \(check.stdout.suffix(300))")
            try await db.withSession { session in
                let violations = try await FaultInvariants.violations(session)
                #expect(violations.isEmpty, "converged after \(point): \(violations.joined(separator: "; "))")
                #expect(try await session.scalar("SELECT count(*)::text FROM accord.erasure_certificates") == "5", "after \(point)")
                #expect(try await session.scalar("SELECT count(*)::text FROM accord.audit_log WHERE action = 'erase'") == "5", "no erasure twice")
            }
        }
        print("killed-apply figures: \(figures.joined(separator: " | "))")
    }
}

/// Incremental passes read only the changed files; they must leave exactly
/// the state a full pass leaves, and hand anything they cannot prove to it.
@Suite(TestDatabase.required)
struct IncrementalApplyTests {
    /// Registry rows and inventory, without timestamps.
    static func state(_ db: ScratchDatabase) async throws -> [String] {
        try await db.withSession { session in
            var out: [String] = []
            for table in ["tenants", "workers", "workflows", "workflow_versions", "models", "model_versions", "retention_policies", "erasures"] {
                let rows = try await session.rows("""
                    SELECT (to_jsonb(t) - 'created_at' - 'updated_at' - 'deleted_at' - 'completed_at')::text FROM platform.\(table) t ORDER BY 1
                    """)
                out += try rows.map { "\(table) " + (try $0.decode(String.self)) }
            }
            let inventory = try await session.rows("""
                SELECT concat_ws(' ', kind, tenant, name, manifest_hash, record_hash, blob_id, source_path, generation,
                                 observed_generation, retained_at IS NOT NULL)
                FROM accord.inventory ORDER BY 1
                """)
            out += try inventory.map { "inventory " + (try $0.decode(String.self)) }
            let root = try await session.scalar("SELECT merkle_root FROM accord.revisions ORDER BY id DESC LIMIT 1")
            out.append("merkle \(root ?? "-")")
            return out
        }
    }

    @Test func incrementalPassesLeaveWhatFullPassesLeave() async throws {
        let incremental = try await TestDatabase.scratch()
        let full = try await TestDatabase.scratch()
        defer { Task { await incremental.drop(); await full.drop() } }
        let fx = try CLITests.repo(copying: "examples/platform")

        func apply(expect pass: String?, status: Int32 = 0) async throws {
            let a = try await CLITests.accordctl(["apply", "--repo", fx.root.path, "-o", "json"], environment: ["DATABASE_URL": incremental.urlText])
            #expect(a.status == status, "\(a.stderr)")
            if let pass, a.status != 2 {
                #expect(try JSONParser.parse(a.stdout)["pass"]?.stringValue == pass, "\(a.stdout.suffix(300))")
            }
            let b = try await CLITests.accordctl(["apply", "--full", "--repo", fx.root.path], environment: ["DATABASE_URL": full.urlText])
            #expect(b.status == status, "\(b.stderr)")
            #expect(try await Self.state(incremental) == Self.state(full))
        }
        func change(_ path: String, _ old: String, _ new: String) throws {
            let url = fx.root.appendingPathComponent(path)
            let text = try String(contentsOf: url, encoding: .utf8)
            #expect(text.contains(old), "\(old)")
            try fx.write(path, text.replacingOccurrences(of: old, with: new))
        }

        try await apply(expect: "full")
        try await apply(expect: "fast")

        try change("workers/brightpath.yaml", "replicas: 1", "replicas: 4")
        _ = try fx.commit("scale")
        try await apply(expect: "incremental")

        // Files that are not manifests: the tree changed, nothing to plan, and the next pass is fast again.
        try fx.write("README.md", "# the platform's manifests\n")
        try fx.write(".github/CODEOWNERS", "* @platform-team\n")
        _ = try fx.commit("a README")
        try await apply(expect: "incremental")
        try await apply(expect: "fast")

        let zephyr = """
            apiVersion: accord.dev/v1
            kind: Tenant
            metadata: {name: zephyr}
            spec: {displayName: Zephyr, plan: starter, region: us, gdpr: {retentionPolicy: strict-eu}}

            """
        try fx.write("tenants/zephyr.yaml", zephyr + """
            ---
            apiVersion: accord.dev/v1
            kind: Worker
            metadata: {name: helper, tenant: zephyr}
            spec: {role: helper, model: lead-scorer}

            """)
        _ = try fx.commit("onboard zephyr")
        try await apply(expect: "incremental")

        // Move the worker to a file of its own: both files change.
        try fx.write("tenants/zephyr.yaml", zephyr)
        try fx.write("workers/zephyr.yaml", """
            apiVersion: accord.dev/v1
            kind: Worker
            metadata: {name: helper, tenant: zephyr}
            spec: {role: helper, model: lead-scorer, replicas: 2}

            """)
        _ = try fx.commit("move helper")
        try await apply(expect: "incremental")

        // A promotion changes workers in other files: a full pass.
        try change("models/support-drafter.yaml", "production: \"3\"", "production: \"4\"")
        try change("models/support-drafter.yaml", "version: \"4\"\n    trafficPercent", "version: \"2\"\n    trafficPercent")
        _ = try fx.commit("promote support-drafter")
        try await apply(expect: "full")

        // A suspension stops workers in other files: a full pass.
        try change("tenants/zephyr.yaml", "region: us,", "region: us, suspended: true,")
        _ = try fx.commit("suspend zephyr")
        try await apply(expect: "full")

        // An object leaving git: a full pass (orphaned without --prune).
        try FileManager.default.removeItem(at: fx.root.appendingPathComponent("workers/zephyr.yaml"))
        _ = try fx.commit("drop helper")
        try await apply(expect: "full")

        // Invalid against the rest of the repository: the full pass reports it.
        try change("workers/brightpath.yaml", "model: support-drafter", "model: no-such-model")
        _ = try fx.commit("broken reference")
        let broken = try await CLITests.accordctl(["apply", "--repo", fx.root.path], environment: ["DATABASE_URL": incremental.urlText])
        #expect(broken.status == 2)
        #expect(broken.stdout.contains("workers/brightpath.yaml:"))
        #expect(broken.stdout.contains("spec.model: Model \"no-such-model\" is not defined in the repository"))
        try change("workers/brightpath.yaml", "model: no-such-model", "model: support-drafter")

        // A duplicate of an object defined in an unchanged file.
        try fx.write("workers/copy.yaml", """
            apiVersion: accord.dev/v1
            kind: Worker
            metadata: {name: support-triage, tenant: brightpath}
            spec: {role: x, model: support-drafter}

            """)
        _ = try fx.commit("duplicate")
        let duplicate = try await CLITests.accordctl(["apply", "--repo", fx.root.path], environment: ["DATABASE_URL": incremental.urlText])
        #expect(duplicate.status == 2)
        #expect(duplicate.stdout.contains("duplicate Worker/brightpath/support-triage"))
        try FileManager.default.removeItem(at: fx.root.appendingPathComponent("workers/copy.yaml"))
        _ = try fx.commit("fixed")
        // The same files as the last complete pass: nothing to read.
        try await apply(expect: "fast")
    }
}
