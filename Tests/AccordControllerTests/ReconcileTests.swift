@testable import AccordController
import AccordCore
import AccordHTTP
import AccordStore
import AccordTestSupport
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

/// The controller end to end: a real bare repository, a real PostgreSQL.
@Suite(TestDatabase.required, .serialized, .timeLimit(.minutes(10)))
struct ReconcileTests {
    @Test func aPushedCommitIsAppliedWithoutRestart() async throws {
        let h = try await Harness()
        let db = h.db
        defer { Task { await db.drop() } }
        let logs = LogBuffer()
        try await withController(try h.config(), logs: logs) { c in
            #expect(try await eventually { await c.isLeaderReady() })
            #expect(try await h.scalar("SELECT count(*)::text FROM platform.tenants") == "4")
            #expect(try await h.scalar("SELECT count(*)::text FROM platform.workers") == "10")

            let commit = try h.push("tenants/northwind.yaml", "  plan: pro\n", "  plan: pro\n  suspended: true\n", message: "suspend northwind")
            #expect(try await eventually {
                try await h.scalar("SELECT status FROM platform.tenants WHERE name = 'northwind'") == "suspended"
            })
            #expect(try await eventually {
                try await h.scalar("SELECT string_agg(DISTINCT status, ',') FROM platform.workers WHERE tenant = 'northwind'") == "stopped"
            })
            #expect(try await eventually { await c.state.current.revision == commit })
            // The log says what changed, one line per object, and why; numbers are numbers.
            #expect(logs.lines(msg: "Tenant updated").contains {
                $0["object"] == .string("Tenant/northwind") && $0["action"] == .string("update") && $0["cause"] == .string("commit")
                    && $0["revision"] == .string(commit)
            }, "\(logs.text)")
            #expect(logs.lines(msg: "Worker created").count == 10)
            let certified = logs.lines(msg: "erasure certified")
            #expect(certified.count == 1 && certified[0]["certificateSha256"]?.stringValue?.count == 64
                    && certified[0]["deleted"]?.numberValue != nil, "\(certified)")
            #expect(try await h.scalar("SELECT body::json->'detail'->>'certificateSha256' FROM accord.audit_log WHERE action = 'erase'")
                    == certified.first?["certificateSha256"]?.stringValue, "the certificate the audit log names")
            let promoted = try await h.scalar("SELECT count(*)::text FROM platform.models WHERE production_version IS NOT NULL")
            #expect(promoted != "0" && "\(logs.lines(msg: "model promoted").count)" == promoted, "each first production version")
            #expect(logs.lines(msg: "reconciled").allSatisfy { $0["durationSeconds"]?.numberValue != nil && $0["applied"]?.numberValue != nil })
            let metrics = c.metricsText
            #expect(metrics.contains(#"accord_reconciles_total{kind="Tenant",result="applied"} 5"#), "four created, one updated")
            #expect(metrics.contains("accord_last_applied_revision_info{revision=\"\(commit)\"} 1"))
            // The example erasure ran in the first pass (the controller has a signing key).
            #expect(try await h.scalar("SELECT status FROM platform.erasures") == "completed")
            #expect(metrics.contains("accord_erasures_open 0"))
            #expect(metrics.contains("accord_leader 1"))

            // The status API: accordctl status -o json's objects, with the controller's state.
            let app = Application(router: HTTPServer.router(c.http))
            try await app.test(.router) { client in
                try await client.execute(uri: "/api/v1/objects", method: .get) { response in
                    #expect(response.status == .ok)
                    c.expectNoSecret(String(buffer: response.body), "/api/v1/objects")
                    let json = try JSONParser.parse(String(buffer: response.body))
                    guard case .object(let top) = json, case .array(let objects)? = top["objects"] else {
                        Issue.record("unexpected body")
                        return
                    }
                    #expect(top["formatVersion"] == .number(1))
                    #expect(objects.count == 26, "the source and the 25 example objects")
                    #expect(objects.first?["id"] == .string("Source/git") && objects.first?["lastAppliedRevision"] == .string(commit)
                            && objects.first?["fetchedRevision"] == .string(commit), "\(objects.first ?? .null)")
                    #expect(objects.contains { o in
                        guard case .object(let f) = o else { return false }
                        return f["id"] == .string("Tenant/northwind") && f["lastAppliedRevision"] == .string(commit) && f["retry"] == .null
                    })
                }
                // Filters: a kind (any case, plural too), a tenant (its objects and the Tenant), both; bad ones answer 400.
                func ids(_ query: String) async throws -> [String] {
                    try await client.execute(uri: "/api/v1/objects?\(query)", method: .get) { response in
                        #expect(response.status == .ok, "\(query)")
                        return (try JSONParser.parse(String(buffer: response.body))["objects"]?.arrayValue ?? []).compactMap { $0["id"]?.stringValue }
                    }
                }
                #expect(try await ids("kind=workers").count == 10)
                #expect(try await ids("kind=source") == ["Source/git"])
                #expect(try await ids("kind=Store") == ["Store/analytics-eu", "Store/sessions-eu", "Store/uploads-eu", "Store/vectors-eu"])
                #expect(try await ids("tenant=northwind").sorted()
                        == ["Tenant/northwind", "Worker/northwind/crm-updater", "Worker/northwind/lead-enricher", "Worker/northwind/lead-qualifier",
                            "Worker/northwind/outreach-drafter", "Workflow/northwind/lead-followup"])
                #expect(try await ids("kind=Worker&tenant=northwind").count == 4)
                for (query, message) in [("kind=Gadget", "\"Gadget\" is not a kind"), ("tenants=acme", "unknown parameter \"tenants\"")] {
                    try await client.execute(uri: "/api/v1/objects?\(query)", method: .get) { response in
                        let error = (try? JSONParser.parse(String(buffer: response.body)))?["error"]?.stringValue ?? ""
                        #expect(response.status == .badRequest && error.hasPrefix(message), "\(query): \(String(buffer: response.body))")
                    }
                }
            }
        }
    }

    @Test func anInvalidCommitIsNotAppliedAndTheNextValidOneIs() async throws {
        let h = try await Harness()
        let db = h.db
        defer { Task { await db.drop() } }
        let logs = LogBuffer()
        try await withController(try h.config(), logs: logs) { c in
            #expect(try await eventually { await c.isLeaderReady() })
            // A valid change and an invalid one in the same commit: nothing of it is applied.
            try h.edit("workers/brightpath.yaml", "replicas: 1", "replicas: 2")
            try h.edit("tenants/northwind.yaml", "  plan: pro\n", "  plan: gold\n")
            let typo = try h.commitAndPush("scale triage, and a typo")
            #expect(try await eventually { await c.state.current.lastPassResult == .invalid })
            try await Task.sleep(for: .milliseconds(500))
            #expect(logs.all.filter { $0.contains("the revision is invalid") }.count == 1, "one pass per commit, no retry loop")
            #expect(try await h.scalar("SELECT replicas::text FROM platform.workers WHERE name = 'support-triage'") == "1")
            #expect(await c.state.current.lastError?.contains("tenants/northwind.yaml:") == true)
            // The source says so (status, the API), and history lists the commit with why.
            #expect(try await eventually { try await h.scalar("SELECT reason FROM accord.source_status") == "RevisionInvalid" })
            #expect(try await h.scalar("SELECT ready::text FROM accord.source_status") == "false")
            #expect(try await h.scalar("SELECT errors->>0 FROM accord.source_status")?.hasPrefix("tenants/northwind.yaml:") == true)
            #expect(try await h.scalar("SELECT (fetched_revision = '\(typo)' AND applied_revision <> fetched_revision)::text FROM accord.source_status")
                    == "true")
            #expect(try await h.scalar("SELECT result || ' ' || reason FROM accord.revisions WHERE revision = '\(typo)'")?
                .hasPrefix("invalid the manifests at \(typo.prefix(12)) are invalid") == true)
            #expect(try await h.scalar("SELECT count(*)::text FROM accord.revisions WHERE revision = '\(typo)'") == "1",
                    "recorded once")
            let app = Application(router: HTTPServer.router(c.http))
            try await app.test(.router) { client in
                try await client.execute(uri: "/api/v1/objects?kind=Source", method: .get) { response in
                    let source = try JSONParser.parse(String(buffer: response.body))["objects"]?.arrayValue?.first
                    #expect(source?["conditions"]?.arrayValue?.first?["reason"] == .string("RevisionInvalid"), "\(source ?? .null)")
                    #expect(source?["errors"]?.arrayValue?.first?.stringValue?.hasPrefix("tenants/northwind.yaml:") == true)
                }
            }

            try h.push("tenants/northwind.yaml", "  plan: gold\n", "  plan: pro\n", message: "fix the typo")
            #expect(try await eventually {
                try await h.scalar("SELECT replicas::text FROM platform.workers WHERE name = 'support-triage'") == "2"
            })
            #expect(try await eventually { await c.state.current.lastPassResult == .ok })
            #expect(try await eventually { try await h.scalar("SELECT ready::text || ' ' || reason FROM accord.source_status") == "true Applied" })
        }
    }

    /// Under a verification policy the controller applies only trusted
    /// commits: a refused one is never read, the last trusted revision
    /// stays applied, status, history, /readyz and /metrics say why.
    @Test func onlyTrustedCommitsAreApplied() async throws {
        let h = try await Harness()
        let db = h.db
        defer { Task { await db.drop() } }
        let key = try SSHTestKey("ed25519")
        let policy = h.scratch.appendingPathComponent("verify.yaml")
        try Data("mode: head\nkeys:\n  - {name: platform-team, ssh: \"\(try key.publicLine)\"}\n".utf8).write(to: policy)
        let logs = LogBuffer()
        try await withController(try h.config(["verify-file": policy.path]), logs: logs) { c in
            // The harness's first commit is not signed: nothing is applied, and the controller is ready all the same.
            #expect(try await eventually { await c.isLeaderReady() })
            #expect(try await eventually { try await h.scalar("SELECT reason FROM accord.source_status") == "SignatureUnverified" })
            #expect(try await h.scalar("SELECT to_regclass('platform.tenants')::text") == "platform.tenants")
            #expect(try await h.scalar("SELECT count(*)::text FROM platform.tenants") == "0", "nothing of an untrusted commit is applied")

            try h.edit("workers/brightpath.yaml", "replicas: 1", "replicas: 2")
            let signed = try h.work.commitSigned("scale triage, signed", ssh: key)
            try h.work.git("push", "-q", "origin", "main")
            #expect(try await eventually { try await h.scalar("SELECT replicas::text FROM platform.workers WHERE name = 'support-triage'") == "2" })
            #expect(try await eventually { try await h.scalar("SELECT ready::text || ' ' || reason FROM accord.source_status") == "true Applied" })
            #expect(try await h.scalar("SELECT signer FROM accord.revisions WHERE revision = '\(signed)' AND result = 'applied'")?
                .hasPrefix("platform-team (ssh-ed25519 SHA256:") == true)
            #expect(c.metricsText.contains("accord_source_verified 1"))

            let unsigned = try h.push("workers/brightpath.yaml", "replicas: 2", "replicas: 9", message: "unsigned")
            #expect(try await eventually { try await h.scalar("SELECT reason FROM accord.source_status") == "SignatureUnverified" })
            #expect(try await h.scalar("SELECT verification FROM accord.source_status") == "it is not signed")
            #expect(try await h.scalar("SELECT result || ': ' || reason FROM accord.revisions WHERE revision = '\(unsigned)'") == "unverified: it is not signed")
            #expect(try await h.scalar("SELECT count(*)::text FROM accord.audit_log WHERE action = 'refuse' AND revision = '\(unsigned)'") == "1")
            #expect(try await h.scalar("SELECT replicas::text FROM platform.workers WHERE name = 'support-triage'") == "2", "the trusted revision stays applied")
            #expect(c.metricsText.contains("accord_source_verified 0"))
            #expect(logs.lines(msg: "the commit is not trusted; nothing of it is read or applied (waiting for a new commit)")
                .contains { $0["revision"] == .string(unsigned) && $0["reason"] == .string("it is not signed") })
            let app = Application(router: HTTPServer.router(c.http))
            try await app.test(.router) { client in
                try await client.execute(uri: "/readyz", method: .get) { response in
                    #expect(response.status == .ok, "a refused commit does not make the controller unready")
                    let conditions = try JSONParser.parse(String(buffer: response.body))["conditions"]?.arrayValue ?? []
                    #expect(conditions.contains { $0["type"] == .string("SourceVerified") && $0["status"] == .string("False") }, "\(conditions)")
                }
            }

            try h.edit("workers/brightpath.yaml", "replicas: 9", "replicas: 3")
            _ = try h.work.commitSigned("signed again", ssh: key)
            try h.work.git("push", "-q", "origin", "main")
            #expect(try await eventually { try await h.scalar("SELECT replicas::text FROM platform.workers WHERE name = 'support-triage'") == "3" })
            #expect(try await eventually { try await h.scalar("SELECT verified::text FROM accord.source_status") == "true" })
            #expect(try await h.scalar("SELECT count(*)::text FROM accord.revisions WHERE result IN ('applied', 'unchanged', 'partial') AND signer IS NULL") == "0",
                    "every revision applied under the policy records its signer")
        }
    }

    /// Strict mode in the daemon: every commit since the last applied one,
    /// starting after the policy's `since`; a force-push that rewrites
    /// history past the applied revision is refused and reported.
    @Test func strictModeRefusesRewrittenHistory() async throws {
        let h = try await Harness()
        let db = h.db
        defer { Task { await db.drop() } }
        let key = try SSHTestKey("ed25519")
        let root = try h.work.head
        let policy = h.scratch.appendingPathComponent("verify.yaml")
        try Data("mode: strict\nsince: \(root)\nkeys:\n  - {name: platform-team, ssh: \"\(try key.publicLine)\"}\n".utf8).write(to: policy)
        try h.edit("workers/brightpath.yaml", "replicas: 1", "replicas: 2")
        _ = try h.work.commitSigned("signed after since", ssh: key)
        try h.work.git("push", "-q", "origin", "main")
        try await withController(try h.config(["verify-file": policy.path])) { c in
            #expect(try await eventually { await c.isLeaderReady() })
            #expect(try await eventually { try await h.scalar("SELECT replicas::text FROM platform.workers WHERE name = 'support-triage'") == "2" })
            #expect(try await eventually { try await h.scalar("SELECT ready::text || ' ' || reason FROM accord.source_status") == "true Applied" })
            let applied = try h.work.head

            // Rewrite history past the applied commit, signed all the same, and force-push it.
            try h.work.git("reset", "-q", "--hard", root)
            try h.edit("workers/brightpath.yaml", "replicas: 1", "replicas: 7")
            let rewritten = try h.work.commitSigned("another history", ssh: key)
            try h.work.git("push", "-q", "-f", "origin", "main")
            #expect(try await eventually { try await h.scalar("SELECT reason FROM accord.source_status") == "SignatureUnverified" })
            #expect(try await h.scalar("SELECT verification FROM accord.source_status")?
                .hasPrefix("it does not descend from the last applied revision \(applied.prefix(12)): history was rewritten") == true)
            #expect(try await h.scalar("SELECT result FROM accord.revisions WHERE revision = '\(rewritten)'") == "unverified")
            #expect(try await h.scalar("SELECT replicas::text FROM platform.workers WHERE name = 'support-triage'") == "2", "the applied revision stays")
            #expect(await c.state.current.ready)
        }
    }

    @Test func aSignedWebhookFetchesAtOnceAndABadOneDoesNothing() async throws {
        let h = try await Harness()
        let db = h.db
        defer { Task { await db.drop() } }
        try await withController(try h.config(["interval": "1h"])) { c in
            #expect(try await eventually { await c.isLeaderReady() })
            try h.push("workers/brightpath.yaml", "replicas: 1", "replicas: 3")
            let app = Application(router: HTTPServer.router(c.http))
            let body = ByteBuffer(string: #"{"ref":"refs/heads/main"}"#)
            let header = HTTPFields.Element.Name("X-Hub-Signature-256")!
            try await app.test(.router) { client in
                let forged = WebhookSignature.sign(Array(buffer: body), secret: Array("not-the-secret".utf8))
                try await client.execute(uri: "/hooks/git", method: .post, headers: [header: forged], body: body) {
                    #expect($0.status == .unauthorized)
                }
                try await client.execute(uri: "/hooks/git", method: .post, body: body) { #expect($0.status == .unauthorized) }
                try await Task.sleep(for: .seconds(1))
                #expect(try await h.scalar("SELECT replicas::text FROM platform.workers WHERE name = 'support-triage'") == "1",
                        "nothing was fetched: the poll interval is an hour")

                let signed = WebhookSignature.sign(Array(buffer: body), secret: h.webhookSecret)
                try await client.execute(uri: "/hooks/git", method: .post, headers: [header: signed], body: body) {
                    #expect($0.status == .accepted)
                }
            }
            #expect(try await eventually(within: .seconds(60)) {
                try await h.scalar("SELECT replicas::text FROM platform.workers WHERE name = 'support-triage'") == "3"
            })
        }
    }

    @Test func driftIsRevertedByTheResync() async throws {
        let h = try await Harness()
        let db = h.db
        defer { Task { await db.drop() } }
        let logs = LogBuffer()
        try await withController(try h.config(["interval": "1h", "resync": "500ms"]), logs: logs) { c in
            #expect(try await eventually { await c.isLeaderReady() })
            // An edit the outside-write triggers do not see: only a full pass finds it.
            try await h.execute("""
                SET session_replication_role = replica;
                UPDATE platform.workers SET replicas = 40 WHERE name = 'risk-analyst';
                DELETE FROM platform.retention_policies WHERE name = 'strict-eu';
                SET session_replication_role = origin
                """)
            #expect(try await eventually {
                let replicas = try await h.scalar("SELECT replicas::text FROM platform.workers WHERE name = 'risk-analyst'")
                let policies = try await h.scalar("SELECT count(*)::text FROM platform.retention_policies WHERE name = 'strict-eu'")
                return replicas == "2" && policies == "1"
            })
            #expect(try await eventually {
                logs.lines(msg: "Worker updated").contains { $0["object"] == .string("Worker/acme-corp/risk-analyst") && $0["cause"] == .string("drift") }
                    && logs.lines(msg: "RetentionPolicy created").contains { $0["object"] == .string("RetentionPolicy/strict-eu") && $0["cause"] == .string("drift") }
            }, "\(logs.text)")
        }
    }

    @Test func aFailingObjectIsRetriedWithBackoffWhileTheOthersApply() async throws {
        let h = try await Harness()
        let db = h.db
        defer { Task { await db.drop() } }
        let logs = LogBuffer()
        try await withController(try h.config(["retry-min": "300ms", "retry-max": "1s"]), logs: logs) { c in
            #expect(try await eventually { await c.isLeaderReady() })
            try await h.execute("""
                CREATE FUNCTION public.refuse_triage() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                  IF NEW.name = 'support-triage' THEN
                    RAISE EXCEPTION 'support-triage is busy' USING ERRCODE = '40001';
                  END IF;
                  RETURN NEW;
                END $$;
                CREATE TRIGGER refuse_triage BEFORE UPDATE ON platform.workers FOR EACH ROW EXECUTE FUNCTION public.refuse_triage()
                """)
            try h.push("workers/brightpath.yaml", "replicas: 1", "replicas: 3", message: "scale triage")
            let id = ObjectID(kind: .worker, tenant: "brightpath", name: "support-triage")
            // The other objects go on: a later commit to another worker applies while triage waits.
            try h.push("workers/northwind.yaml", "replicas: 4", "replicas: 5", message: "scale enricher")
            #expect(try await eventually {
                try await h.scalar("SELECT replicas::text FROM platform.workers WHERE name = 'lead-enricher'") == "5"
            })
            #expect(try await eventually { (await c.state.current.retries.first { $0.id == id }?.attempts ?? 0) >= 3 })
            let entry = try #require(await c.state.current.retries.first { $0.id == id })
            #expect(!entry.stalled)
            #expect(entry.nextRetry != nil)
            #expect(entry.message.contains("SQLSTATE 40001"))
            #expect(try await h.scalar("SELECT replicas::text FROM platform.workers WHERE name = 'support-triage'") == "1")
            #expect(c.metricsText.contains(#"accord_reconciles_total{kind="Worker",result="failed"}"#))
            #expect(c.metricsText.contains("accord_queue_depth 1"))

            // The status API shows when it is tried next.
            let app = Application(router: HTTPServer.router(c.http))
            try await app.test(.router) { client in
                try await client.execute(uri: "/api/v1/objects", method: .get) { response in
                    let text = String(buffer: response.body)
                    c.expectNoSecret(text, "/api/v1/objects")
                    #expect(text.contains(#""nextRetryAt":"#))
                    #expect(text.contains(#""reason":"RetryScheduled""#))
                }
            }

            // So does `accordctl status`, from the database: the retry time is kept beside the failure.
            #expect(try await eventually {
                try await h.scalar("SELECT (next_attempt_at > attempted_at)::text FROM accord.object_status WHERE name = 'support-triage'") == "true"
            })
            let statusCLI = try await CLITestsAccess.accordctl(["status", "Worker/brightpath/support-triage", "-o", "json"],
                                                         databaseURL: h.db.urlText, h)
            var shown: JSONValue?
            if case .array(let objects)? = try JSONParser.parse(statusCLI.stdout)["objects"] { shown = objects.first }
            #expect(shown?["nextAttemptAt"]?.stringValue?.hasPrefix("20") == true, "\(statusCLI.stdout)")
            #expect(shown?["message"]?.stringValue?.contains("; next attempt at ") == true)

            // Once the database takes it, the retry applies it: no new commit needed.
            try await h.execute("DROP TRIGGER refuse_triage ON platform.workers")
            #expect(try await eventually {
                try await h.scalar("SELECT replicas::text FROM platform.workers WHERE name = 'support-triage'") == "3"
            })
            #expect(try await eventually { await c.state.current.retries.isEmpty })
            #expect(logs.lines(msg: "Worker updated").contains { $0["object"] == .string(id.description) && $0["cause"] == .string("retry") },
                    "\(logs.text)")
        }
    }

    /// An object refused for a reason only a change can fix (a CHECK
    /// violation) is Stalled: not retried while its manifest stays, tried
    /// at once when a commit changes it; the others apply meanwhile.
    @Test func aStalledObjectWaitsForItsManifestToChange() async throws {
        let h = try await Harness()
        let db = h.db
        defer { Task { await db.drop() } }
        try await withController(try h.config(["retry-min": "200ms", "retry-max": "400ms"])) { c in
            #expect(try await eventually { await c.isLeaderReady() })
            try await h.execute("ALTER TABLE platform.workers ADD CONSTRAINT triage_at_most_two CHECK (name <> 'support-triage' OR replicas <= 2) NOT VALID")
            try h.push("workers/brightpath.yaml", "replicas: 1", "replicas: 3", message: "scale triage past the limit")
            let id = ObjectID(kind: .worker, tenant: "brightpath", name: "support-triage")
            #expect(try await eventually { await c.state.current.retries.first { $0.id == id }?.stalled == true })
            let stalled = try #require(await c.state.current.retries.first { $0.id == id })
            #expect(stalled.nextRetry == nil && stalled.message.contains("SQLSTATE 23514"))
            // Several retry intervals later it has not been tried again, while another commit applies.
            try h.push("workers/northwind.yaml", "replicas: 4", "replicas: 5", message: "scale enricher")
            #expect(try await eventually {
                try await h.scalar("SELECT replicas::text FROM platform.workers WHERE name = 'lead-enricher'") == "5"
            })
            try await Task.sleep(for: .seconds(1.5))
            #expect(await c.state.current.retries.first { $0.id == id }?.attempts == stalled.attempts, "not retried")
            let status = try await h.scalar("SELECT stalled::text || ' ' || coalesce(next_attempt_at::text, 'none') FROM accord.object_status WHERE name = 'support-triage'")
            #expect(status == "true none")

            // A commit that changes its manifest is tried at once.
            try h.push("workers/brightpath.yaml", "replicas: 3", "replicas: 2", message: "scale triage within the limit")
            #expect(try await eventually {
                try await h.scalar("SELECT replicas::text FROM platform.workers WHERE name = 'support-triage'") == "2"
            })
            #expect(try await eventually { await c.state.current.retries.isEmpty })
            #expect(try await h.scalar("SELECT count(*)::text FROM accord.object_status WHERE name = 'support-triage'") == "0")
        }
    }
}
