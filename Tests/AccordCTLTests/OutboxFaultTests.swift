import AccordCore
import AccordStore
import AccordTestSupport
import Foundation
import Testing

/// Events are written with the change that causes them (SPEC §11): an
/// apply SIGKILLed by itself (`ACCORD_TEST_KILL_AT`) after its first
/// tenant batch committed has exactly that batch's `TenantOnboarded`
/// events in the outbox; killed inside a tenant batch's transaction (its
/// data keys written, not committed), none. The apply that finishes writes
/// the rest, and no event twice.
@Suite(TestDatabase.required, .timeLimit(.minutes(10)))
struct OutboxFaultTests {
    @Test func aKilledApplyLeavesTheEventsOfWhatCommittedAndNothingElse() async throws {
        let db = try await TestDatabase.scratch()
        defer { Task { await db.drop() } }
        var files = GeneratedPlatform.files(tenants: 450, ownSchemaEvery: 10)
        files["notifications/hooks.yaml"] = """
            apiVersion: accord.dev/v1
            kind: Notification
            metadata: {name: hooks}
            spec: {type: webhook, address: "http://127.0.0.1:9/hooks", secret: hooks-key, kinds: [Tenant]}

            """
        let fx = try CLITests.repo(files: files)
        func outbox() async throws -> (events: Int, tenants: Int, distinct: Int) {
            try await db.withSession { session in
                let events = Int(try await session.scalar("SELECT count(*)::text FROM accord.outbox WHERE event = 'TenantOnboarded'") ?? "0") ?? -1
                let tenants = Int(try await session.scalar("SELECT count(*)::text FROM accord.inventory WHERE kind = 'Tenant'") ?? "0") ?? -1
                let distinct = Int(try await session.scalar("SELECT count(DISTINCT object)::text FROM accord.outbox WHERE event = 'TenantOnboarded'") ?? "0") ?? -1
                return (events, tenants, distinct)
            }
        }
        // Inside the first tenant batch's transaction: nothing of it, no event.
        let inside = try await CLITests.accordctl(["apply", "--repo", fx.root.path], environment: ["DATABASE_URL": db.urlText, "ACCORD_TEST_KILL_AT": "key-written"])
        #expect(inside.status == SIGKILL && inside.signaled, "\(inside.stderr.suffix(500))")
        let none = try await outbox()
        #expect(none.events == 0 && none.tenants == 0, "\(none)")
        // After the first tenant batch committed: its 200 tenants, each with its event.
        let between = try await CLITests.accordctl(["apply", "--repo", fx.root.path],
                                                   environment: ["DATABASE_URL": db.urlText, "ACCORD_TEST_KILL_AT": "batch-committed:Tenant:1"])
        #expect(between.status == SIGKILL && between.signaled, "\(between.stderr.suffix(500))")
        let first = try await outbox()
        #expect(first.tenants == 200 && first.events == 200 && first.distinct == 200, "\(first)")
        // Finished, and applied again: every tenant's event once.
        for _ in 0..<2 {
            let run = try await CLITests.accordctl(["apply", "--repo", fx.root.path], environment: ["DATABASE_URL": db.urlText])
            #expect(run.status == 0, "\(run.stderr)")
        }
        let all = try await outbox()
        #expect(all.tenants == 450 && all.events == 450 && all.distinct == 450, "\(all)")
        // Nothing was delivered: no controller ran. The events wait for one.
        #expect(try await db.withSession { try await $0.scalar("SELECT count(*)::text FROM accord.outbox WHERE sent_at IS NOT NULL") } == "0")
    }
}
