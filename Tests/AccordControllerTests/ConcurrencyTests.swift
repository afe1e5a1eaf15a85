import AccordCore
import AccordStore
import AccordTestSupport
import Foundation
import Testing

/// Two controllers and an `accordctl apply` on one database at once: every
/// write to the platform is made by the one session holding the apply lock,
/// every erasure runs once, every tenant gets one data key.
@Suite(TestDatabase.required, .serialized, .timeLimit(.minutes(10)))
struct ConcurrencyTests {
    /// `pg_locks.objid` of the apply lock (`ApplyLock.key`, a bigint below
    /// 2^32); advisory locks are per database, and other tests' databases
    /// take the same key.
    static let applyLock = 0x4143_4344

    @Test func twoControllersAndACLIApplyNeverWriteAtOnce() async throws {
        let h = try await Harness()
        let db = h.db
        defer { Task { await db.drop() } }
        // The migrations first, so the triggers below have tables to watch.
        let setup = try await CLITestsAccess.accordctl(["apply", "--repo", h.work.root.path, "--dry-run"], databaseURL: db.urlText, h)
        #expect(setup.status == 0, "\(setup.stderr)")
        var watched = ["platform.tenants", "platform.workers", "platform.models", "platform.erasures", "accord.tenant_keys", "accord.erasure_certificates", "accord.inventory"]
        watched.append("accord.audit_log")
        try await h.execute("""
            CREATE TABLE public.writes (id bigserial, pid int, at timestamptz, holds bigint, others bigint);
            CREATE FUNCTION public.note_write() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                INSERT INTO public.writes (pid, at, holds, others) SELECT pg_backend_pid(), clock_timestamp(),
                    (SELECT count(*) FROM pg_locks l WHERE l.locktype = 'advisory' AND l.granted AND l.objid = \(Self.applyLock) AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) AND l.pid = pg_backend_pid()),
                    (SELECT count(*) FROM pg_locks l WHERE l.locktype = 'advisory' AND l.granted AND l.objid = \(Self.applyLock) AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) AND l.pid <> pg_backend_pid());
                RETURN NULL;
            END $$;
            """ + watched.map { "CREATE TRIGGER note_write_test AFTER INSERT OR UPDATE OR DELETE ON \($0) FOR EACH STATEMENT EXECUTE FUNCTION public.note_write();" }.joined(separator: "\n"))

        let a = try ControllerProcess(h.arguments())
        let b = try ControllerProcess(h.arguments())
        let cli = try await CLITestsAccess.accordctl(["apply", "--repo", h.work.root.path, "--lock-timeout", "120"], databaseURL: db.urlText, h)
        #expect(cli.status == 0, "\(cli.stdout)\(cli.stderr)")
        #expect(try await eventually { a.logs.contains("reconciled") || b.logs.contains("reconciled") })
        // A change while both controllers run: only the leader applies it.
        try h.edit("workers/northwind.yaml", "replicas: 4", "replicas: 5")
        try h.commitAndPush("scale")
        #expect(try await eventually { try await h.scalar("SELECT replicas::text FROM platform.workers WHERE name = 'lead-enricher'") == "5" })
        let again = try await CLITestsAccess.accordctl(["apply", "--repo", h.work.root.path, "--lock-timeout", "120"], databaseURL: db.urlText, h)
        #expect(again.status == 0)
        a.signal(SIGTERM)
        b.signal(SIGTERM)
        #expect(try await a.exit(within: .seconds(10)) == 0)
        #expect(try await b.exit(within: .seconds(10)) == 0)

        let writers = try await h.scalar("SELECT count(DISTINCT pid)::text FROM public.writes")
        #expect(Int(writers ?? "0") ?? 0 >= 2, "more than one session wrote over the test")
        #expect(try await h.scalar("SELECT count(*)::text FROM public.writes WHERE holds <> 1") == "0", "every write was made holding the apply lock")
        #expect(try await h.scalar("SELECT count(*)::text FROM public.writes WHERE others <> 0") == "0", "no other session held it meanwhile")
        #expect(try await h.scalar("SELECT count(*)::text FROM accord.erasure_certificates") == "1")
        #expect(try await h.scalar("SELECT count(*)::text FROM accord.audit_log WHERE action = 'erase'") == "1", "the erasure ran once")
        #expect(try await h.scalar("SELECT string_agg(tenant || ':' || version, ',' ORDER BY tenant) FROM accord.tenant_keys")
                == "acme-corp:1,brightpath:1,kestrel-health:1,northwind:1", "one key per tenant")
        let statements = try await h.scalar("SELECT count(*)::text FROM public.writes") ?? "?"
        print("concurrency figures: 2 controllers + 2 CLI applies, \(writers ?? "?") writing sessions, \(statements) write statements, all under the apply lock held by no one else")
    }
}

/// Runs the built accordctl the way operators do, with the harness's keys.
enum CLITestsAccess {
    static func accordctl(_ args: [String], databaseURL: String, _ h: Harness) async throws -> ToolRun {
        let binary = try ControllerProcess.binary().deletingLastPathComponent().appendingPathComponent("accordctl")
        var env = ProcessInfo.processInfo.environment
        env["DATABASE_URL"] = databaseURL
        env["ACCORD_KEK_FILE"] = h.scratch.appendingPathComponent("kek").path
        env["ACCORD_TRUSTED_KEYS_DIR"] = h.scratch.appendingPathComponent("trusted").path
        env["ACCORD_SIGNING_KEY_FILE"] = Harness.signingKeyFile
        return try await ToolRun.run(binary, args, environment: env)
    }
}
