import AccordCore
import AccordStore
import AccordTestSupport
import Foundation
import Testing

/// The outbox against a real database: which notification gets which
/// event, once per (object, event, revision), and what the sender records.
@Suite(TestDatabase.required)
struct OutboxTests {
    static func notifications(_ session: Session) async throws {
        try await session.script("""
            INSERT INTO platform.notifications (name, type, address, secret, events, tenants, kinds) VALUES
              ('all', 'webhook', 'http://127.0.0.1:9/all', 'k', NULL, NULL, NULL),
              ('acme-erasures', 'webhook', 'http://127.0.0.1:9/a', 'k', '["ErasureCompleted", "ErasureOverdue"]', '["acme"]', '["Erasure"]'),
              ('tenants', 'slack', NULL, 'k', NULL, NULL, '["Tenant"]'),
              ('commits', 'github', 'http://127.0.0.1:9/repos/o/r', 'k', NULL, NULL, NULL);
            """)
    }

    static func rows(_ session: Session) async throws -> [String] {
        try await session.rows("SELECT notification || ' ' || event || ' ' || object || ' ' || revision FROM accord.outbox ORDER BY id")
            .map { try $0.decode(String.self) }
    }

    @Test func eventsFanOutByFilterOnceEach() async throws {
        let db = try await TestDatabase.scratch()
        defer { Task { await db.drop() } }
        try await db.withSession { session in
            try await Migrations.run(session)
            try await Self.notifications(session)
            let acme = ObjectID(kind: .erasure, tenant: "acme", name: "dsr-1")
            let other = ObjectID(kind: .erasure, tenant: "northwind", name: "dsr-2")
            let events = [
                OutboxEvent(.erasureCompleted, acme, revision: "r1", message: "done"),
                OutboxEvent(.erasureSLAWarning, acme, revision: "r1", message: "48h"),
                OutboxEvent(.erasureCompleted, other, revision: "r1", message: "done"),
                OutboxEvent(.tenantOnboarded, ObjectID(kind: .tenant, name: "acme"), revision: "r1", message: "onboarded"),
                OutboxEvent(.applyStarted, object: "Revision", kind: nil, tenant: nil, revision: "r1", message: "pending"),
            ]
            try await session.transaction { try await Outbox.emit(events, session) }
            // Written again (a retried transaction, a second pass): nothing new.
            try await session.transaction { try await Outbox.emit(events, session) }
            #expect(try await Self.rows(session) == [
                "acme-erasures ErasureCompleted Erasure/acme/dsr-1 r1",
                "all ErasureCompleted Erasure/acme/dsr-1 r1",
                "all ErasureSLAWarning Erasure/acme/dsr-1 r1",
                "all ErasureCompleted Erasure/northwind/dsr-2 r1",
                "all TenantOnboarded Tenant/acme r1",
                "tenants TenantOnboarded Tenant/acme r1",
                "commits ApplyStarted Revision r1",
            ])

            // A commit reported applied is not reported failed later; the next one is.
            let outcome = { (e: NotificationEvent, r: String) in OutboxEvent(e, object: "Revision", kind: nil, tenant: nil, revision: r, message: "") }
            try await Outbox.emitAlone([outcome(.applySucceeded, "r1")], session)
            try await Outbox.emitAlone([outcome(.applyFailed, "r1"), outcome(.applyFailed, "r2")], session)
            #expect(try await Self.rows(session).suffix(2) == ["commits ApplySucceeded Revision r1", "commits ApplyFailed Revision r2"])

            // In order, the first undelivered holding back the rest; a failure waits for its retry.
            let due = try await Outbox.due("all", now: Date(), session)
            #expect(due.map(\.object) == ["Erasure/acme/dsr-1", "Erasure/acme/dsr-1", "Erasure/northwind/dsr-2", "Tenant/acme"])
            try await Outbox.markSent(due[0], session)
            try await Outbox.markFailed(due[1], error: "HTTP 503", retryAt: Date().addingTimeInterval(60), stall: false, session)
            #expect(try await Outbox.due("all", now: Date(), session).isEmpty)
            #expect(try await Outbox.due("all", now: Date().addingTimeInterval(61), session).count == 3)
            let all = try #require(try await Outbox.reports(session).first { $0.name == "all" })
            #expect(all.sent == 1 && all.failures == 1 && all.pending == 3 && all.lastError == "HTTP 503" && all.stalled == nil)
            #expect(all.nextAttemptAt != nil)

            // A refusal stalls; a change to the notification's row clears it and the wait.
            try await Outbox.markFailed(due[1], error: "HTTP 401", retryAt: Date().addingTimeInterval(60), stall: true, session)
            #expect(try await Outbox.targets(session).first { $0.name == "all" }?.stalled == "HTTP 401")
            try await session.execute("UPDATE platform.notifications SET address = 'http://127.0.0.1:9/new', updated_at = now() + interval '1 second' WHERE name = 'all'")
            #expect(try await Outbox.targets(session).first { $0.name == "all" }?.stalled == nil)
            #expect(try await Outbox.due("all", now: Date(), session).count == 3)

            // A notification removed from git takes its undelivered events with it.
            try await session.execute("DELETE FROM platform.notifications WHERE name = 'all'")
            #expect(try await session.scalar("SELECT count(*)::text FROM accord.outbox WHERE notification = 'all'") == "0")
            #expect(try await Outbox.forgetSent(now: Date().addingTimeInterval(Outbox.keepSent + 60), session) == 0)
        }
    }
}
