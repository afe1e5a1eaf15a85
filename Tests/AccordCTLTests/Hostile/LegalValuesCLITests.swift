import AccordTestSupport
import Foundation
import Testing

/// Text that looks like SQL is data where free text is allowed: it goes into
/// the database byte for byte, through bind parameters, and every other table
/// stays as it was.
@Suite struct LegalValuesCLITests {
    typealias CLI = CLITests

    static let displayName = #"Robert'); DROP TABLE platform.tenants; -- \ $$ E'\x27' /* c */ "q" ;"#
    static let role = "$tag$ x $tag$; DELETE FROM platform.workers WHERE true; --"
    static let ruleValue = "'); DROP TABLE platform.workflow_versions; -- \\N \u{1F600}"

    /// YAML double-quoted form of a value.
    static func quoted(_ s: String) -> String {
        "\"" + s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }

    static let manifests = """
        apiVersion: accord.dev/v1
        kind: Tenant
        metadata:
          name: quotes
          labels: {team: "o'brien--x", "sql/drop": "$$x$$"}
          annotations: {note: \(quoted("'; DROP TABLE accord.inventory; -- /* */ E'\\x41' \\ $$"))}
        spec: {displayName: \(quoted(displayName)), plan: pro, region: eu}
        ---
        apiVersion: accord.dev/v1
        kind: Worker
        metadata: {name: quoter, tenant: quotes}
        spec: {role: \(quoted(role)), model: support-drafter}
        ---
        apiVersion: accord.dev/v1
        kind: Workflow
        metadata: {name: quoting, tenant: quotes}
        spec:
          trigger: {manual: true}
          steps:
            - name: a
              worker: quoter
              when: [{field: context.note, operator: eq, value: \(quoted(ruleValue))}]

        """

    @Test(TestDatabase.required)
    func sqlLookingValuesRoundTripExactly() async throws {
        let db = try await TestDatabase.scratch()
        defer { Task { await db.drop() } }
        let fx = try CLI.repo(copying: "examples/platform", files: ["tenants/quotes.yaml": Self.manifests])
        let apply = try await CLI.accordctl(["apply", "--repo", fx.root.path, "--database-url", db.urlText])
        try #require(apply.status == 0, "\(apply.stdout)\(apply.stderr)")

        func scalar(_ sql: String, _ values: [String?] = []) async throws -> String? {
            try await db.withSession { try await $0.scalar(sql, values) }
        }
        #expect(try await scalar("SELECT display_name FROM platform.tenants WHERE name = $1", ["quotes"]) == Self.displayName)
        #expect(try await scalar("SELECT role FROM platform.workers WHERE tenant = $1 AND name = $2", ["quotes", "quoter"]) == Self.role)
        #expect(try await scalar("""
            SELECT v.definition #>> '{steps,0,when,0,value}' FROM platform.workflow_versions v
            JOIN platform.workflows w ON (w.tenant, w.name, w.version) = (v.tenant, v.name, v.version)
            WHERE w.tenant = $1 AND w.name = $2
            """, ["quotes", "quoting"]) == Self.ruleValue)
        // Every other object of the platform is there, every table intact.
        #expect(try await scalar("SELECT count(*)::text FROM platform.tenants") == "5")
        #expect(try await scalar("SELECT count(*)::text FROM platform.workers") == "11")
        let tables = ["tenants", "workers", "workflows", "workflow_versions", "models", "model_versions", "retention_policies", "erasures"]
            .map { "platform.\($0)" } + ["accord.inventory", "accord.audit_log", "accord.revisions"]
        for table in tables {
            #expect(try await scalar("SELECT (to_regclass($1) IS NOT NULL)::text", [table]) == "true", "\(table)")
        }
        // What was written reads back equal: the next diff is empty.
        let diff = try await CLI.accordctl(["diff", "--repo", fx.root.path, "--database-url", db.urlText])
        #expect(diff.status == 0, "\(diff.stdout)")
        #expect(diff.stdout.hasSuffix("0 to create, 0 to update, 0 to delete\n"))
    }
}
