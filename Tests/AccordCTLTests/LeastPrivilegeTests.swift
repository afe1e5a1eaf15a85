import AccordCore
import AccordStore
import AccordTestSupport
import Foundation
import Testing

/// Accord run as the role docs/deploy.md sets up — no SUPERUSER, no
/// BYPASSRLS, CONNECT, CREATE and TEMPORARY on its database and nothing
/// else — on a
/// cluster that authenticates with `scram-sha-256`, not trust: a full apply
/// (tenant schemas, row-level security, keys), a drift revert, an erasure,
/// retention, and a tenant offboarded with `deletionPolicy: Delete`.
@Suite(TestDatabase.required, .timeLimit(.minutes(5)))
struct LeastPrivilegeTests {
    static let password = "lp-scram-7c41e0b9d2a6f3"

    @Test func everythingRunsAsTheLeastPrivilegedRole() async throws {
        let cluster = try PrivateCluster.start(["ACCORD_PG_HBA": "host all all 127.0.0.1/32 scram-sha-256"])
        defer { cluster.stop() }
        // The role setup of docs/deploy.md, verbatim.
        for statement in [
            "CREATE ROLE accord_app LOGIN PASSWORD '\(Self.password)' NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS",
            "CREATE DATABASE accord_lp",
            "REVOKE ALL ON DATABASE accord_lp FROM PUBLIC",
            "GRANT CONNECT, CREATE, TEMPORARY ON DATABASE accord_lp TO accord_app",
        ] { try cluster.superuser(statement) }
        let port = try DatabaseURL(cluster.url).port
        let url = "postgres://accord_app:\(Self.password)@127.0.0.1:\(port)/accord_lp"
        let env = ["DATABASE_URL": url]

        // scram, not trust: a wrong password is refused.
        let wrong = try await CLITests.accordctl(["status"], environment: ["DATABASE_URL": "postgres://accord_app:wrong-password@127.0.0.1:\(port)/accord_lp"])
        #expect(wrong.status == 2 && wrong.stderr.contains("password authentication failed for user \"accord_app\""), "\(wrong.stderr)")

        let fx = try CLITests.repo(copying: "examples/platform")
        let first = try await CLITests.accordctl(["apply", "--repo", fx.root.path], environment: env)
        #expect(first.status == 0, "\(first.stdout)\(first.stderr)")
        #expect(first.stdout.contains("Erasure/acme-corp/dsr-2026-11-0007 erased"), "\(first.stdout)")

        let attributes = try await cluster.session { s in
            try await s.scalar("SELECT rolsuper::text || ' ' || rolbypassrls::text FROM pg_roles WHERE rolname = 'accord_app'")
        }
        #expect(attributes == "false false")
        let status = try await CLITests.accordctl(["status", "Tenant/kestrel-health"], environment: env)
        let row = status.stdout.split(separator: "\n").first { $0.hasPrefix("Tenant/kestrel-health") }?.split(separator: " ")
        #expect(status.status == 0 && row?[1] == "True" && row?[2] == "False", "ready, not stalled: \(status.stdout)")

        // Drift, made by someone else, reverted by the role.
        try cluster.superuser("UPDATE platform.workers SET replicas = 99 WHERE tenant = 'acme-corp'", database: "accord_lp")
        let drift = try await CLITests.accordctl(["diff", "--repo", fx.root.path], environment: env)
        #expect(drift.status == 1 && drift.stdout.contains("(drift: changed outside Accord)"), "\(drift.stdout)")
        let revert = try await CLITests.accordctl(["apply", "--repo", fx.root.path, "--full"], environment: env)
        #expect(revert.status == 0, "\(revert.stderr)")
        let clean = try await CLITests.accordctl(["diff", "--repo", fx.root.path], environment: env)
        #expect(clean.status == 0, "\(clean.stdout)")

        // Retention in the tenants' stores.
        let retention = try await CLITests.accordctl(["retention", "run"], environment: env)
        #expect(retention.status == 0, "\(retention.stdout)\(retention.stderr)")

        // Offboarding with Delete: the tenant's schema dropped, its keys destroyed.
        let tenant = try String(contentsOf: fx.root.appendingPathComponent("tenants/kestrel-health.yaml"), encoding: .utf8)
        try fx.write("tenants/kestrel-health.yaml", tenant.replacingOccurrences(of: "  isolation: schema\n", with: "  isolation: schema\n  deletionPolicy: Delete\n"))
        _ = try fx.commit("kestrel-health is deleted when removed")
        #expect(try await CLITests.accordctl(["apply", "--repo", fx.root.path], environment: env).status == 0)
        try FileManager.default.removeItem(at: fx.root.appendingPathComponent("tenants/kestrel-health.yaml"))
        try FileManager.default.removeItem(at: fx.root.appendingPathComponent("workers/kestrel-health.yaml"))
        _ = try fx.commit("offboard kestrel-health")
        let offboard = try await CLITests.accordctl(["apply", "--repo", fx.root.path, "--prune", "--max-delete-percent", "50"], environment: env)
        #expect(offboard.status == 0, "\(offboard.stdout)\(offboard.stderr)")
        let lp = try await DatabaseURL(url).withSession { s in
            (schema: try await s.scalar("SELECT to_regnamespace('tenant_kestrel_health')::text"),
             keys: try await s.scalar("SELECT count(*)::text FROM accord.tenant_keys WHERE tenant = 'kestrel-health'"),
             violations: try await FaultInvariants.violations(s),
             owners: try await s.scalar("""
                SELECT string_agg(nspname || '=' || pg_get_userbyid(nspowner), ' ' ORDER BY nspname) FROM pg_namespace
                WHERE nspname IN ('accord', 'platform', 'shared', 'tenant_acme_corp')
                """))
        }
        #expect(lp.schema == nil && lp.keys == "0", "schema \(lp.schema ?? "dropped"), keys \(lp.keys ?? "?")")
        #expect(lp.violations.isEmpty, "\(lp.violations.joined(separator: "; "))")
        #expect(lp.owners == "accord=accord_app platform=accord_app shared=accord_app tenant_acme_corp=accord_app", "\(lp.owners ?? "")")
        for run in [first, revert, retention, offboard] {
            #expect(!(run.stdout + run.stderr).contains(Self.password))
        }
    }
}

extension DatabaseURL {
    /// A session on this URL, for a test.
    func withSession<T: Sendable>(_ body: (Session) async throws -> T) async throws -> T {
        try await Database.withConnection(self) { try await body(Session($0)) }
    }
}
