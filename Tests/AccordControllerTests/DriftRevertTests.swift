@testable import AccordController
import AccordCore
import AccordStore
import AccordTestSupport
import Foundation
import Testing

/// Bursts of notices become one batch (values only).
@Suite struct DriftQueueTests {
    @Test func aBurstOfNoticesIsOneBatchTakenOnceItPauses() async throws {
        let queue = DriftQueue()
        #expect(queue.isEmpty && queue.settling() == nil)
        let ids = (0..<10).map { ObjectID(kind: .worker, tenant: "t", name: "w\($0)") }
        queue.listening(since: 42)
        let start = ContinuousClock.now
        for i in 0..<10_000 { queue.add(.object(ids[i % 10])) }
        queue.add(.kind(.erasure))
        // Still settling: the last notice was just now.
        let wait = try #require(queue.settling())
        #expect(wait <= DriftQueue.quiet)
        #expect(queue.settling(now: start + DriftQueue.longest) == nil, "a burst is cut at the longest wait")
        let batch = queue.take()
        #expect(batch.objects == Set(ids))
        #expect(batch.kinds == [.erasure])
        #expect(batch.notices == 10_001)
        #expect(batch.heardSince == 42)
        #expect(queue.isEmpty && queue.settling() == nil)
        // Once the listener stops, a batch cannot be trusted to be all there is.
        queue.add(.object(ids[0]))
        queue.stopped()
        #expect(queue.take().heardSince == nil)
    }
}

extension DriftQueueTests {
    /// A transaction's notices are one batch however long the listener
    /// pauses between them: the batch waits for its commit notice.
    @Test func aBatchWaitsForTheCommitOfEveryTransactionHeard() {
        let queue = DriftQueue()
        let a = ObjectID(kind: .worker, tenant: "t", name: "a"), b = ObjectID(kind: .worker, tenant: "t", name: "b")
        let start = ContinuousClock.now
        queue.add(.object(a, transaction: 1))
        queue.add(.object(b, transaction: 2))
        // Long past the pause and the longest burst, transactions 1 and 2 are still open.
        let late = start + DriftQueue.longest + .milliseconds(100)
        #expect(queue.settling(now: late) == DriftQueue.quiet)
        queue.add(.committed(transaction: 1))
        #expect(queue.settling(now: late) != nil, "transaction 2 is still open")
        queue.add(.committed(transaction: 2))
        #expect(queue.settling(now: late) == nil)
        // A notice of a transaction already committed (its constraints set immediate) does not reopen it.
        queue.add(.object(a, transaction: 1))
        #expect(queue.settling(now: late) == nil)
        var batch = queue.take()
        #expect(batch.objects == [a, b] && batch.notices == 3, "commit notices are not counted")
        // A commit notice that never comes is waited for until `whole`, then the batch is taken.
        let before = ContinuousClock.now
        queue.add(.object(a, transaction: 3))
        let after = ContinuousClock.now
        #expect(queue.settling(now: before + DriftQueue.whole - .milliseconds(10)) != nil)
        #expect(queue.settling(now: after + DriftQueue.whole) == nil)
        batch = queue.take()
        #expect(batch.objects == [a])
        // Its commit notice, late, leaves the queue empty; notices without transactions (older schema) use the pause.
        queue.add(.committed(transaction: 3))
        #expect(queue.isEmpty && queue.settling() == nil)
        queue.add(.object(b))
        #expect(queue.settling(now: ContinuousClock.now + DriftQueue.quiet + .milliseconds(1)) == nil)
    }
}

/// The controller end to end: a write made outside Accord is heard and
/// reverted by a targeted pass, long before any resync.
@Suite(TestDatabase.required, .serialized, .timeLimit(.minutes(10)))
struct DriftRevertTests {
    static func listening(_ logs: LogBuffer) async throws -> Bool {
        try await eventually { !logs.lines(msg: "listening for writes made outside Accord").isEmpty }
    }

    static let replicas = "SELECT replicas::text FROM platform.workers WHERE name = 'risk-analyst'"

    /// An operator changing a worker's replicas as often as it takes to be
    /// DriftRepeated, each change reverted; returns when the last was written.
    static func fight(_ h: Harness) async throws -> ContinuousClock.Instant {
        var lastWrite = ContinuousClock.now
        for round in 1...Reconciler.driftRepeatLimit {
            lastWrite = ContinuousClock.now
            try await h.execute("UPDATE platform.workers SET replicas = \(40 + round) WHERE name = 'risk-analyst'")
            #expect(try await eventually { try await h.scalar(replicas) == "2" }, "round \(round)")
        }
        return lastWrite
    }

    @Test func aWriteMadeOutsideIsRevertedAsItIsHeard() async throws {
        let h = try await Harness()
        let db = h.db
        defer { Task { await db.drop() } }
        let logs = LogBuffer()
        // No resync and no poll within the test: only the notice can bring the revert.
        try await withController(try h.config(["interval": "1h", "resync": "1h"]), logs: logs) { c in
            #expect(try await eventually { await c.isLeaderReady() })
            #expect(try await Self.listening(logs), "\(logs.text)")
            try await h.execute("UPDATE platform.workers SET replicas = 40 WHERE name = 'risk-analyst'")
            #expect(try await eventually {
                try await h.scalar("SELECT replicas::text FROM platform.workers WHERE name = 'risk-analyst'") == "2"
            }, "\(logs.text)")
            #expect(try await eventually {
                logs.lines(msg: "Worker updated").contains { $0["object"] == .string("Worker/acme-corp/risk-analyst") && $0["cause"] == .string("drift") }
            })
            let reconciled = logs.lines(msg: "reconciled")
            #expect(reconciled.last?["pass"] == .string("targeted"), "\(reconciled)")
            #expect(reconciled.last?["applied"] == .number(1))
            #expect(logs.lines(msg: "written outside Accord: reverting").count == 1)
            #expect(c.metricsText.contains(#"accord_drift_reverted_total{kind="Worker"} 1"#), "\(c.metricsText)")
            #expect(c.metricsText.contains(#"accord_reconcile_duration_seconds_count{pass="targeted",result="ok"} 1"#))
            // History has the revert, at the revision applied.
            #expect(try await h.scalar("SELECT result || ' ' || updated FROM accord.revisions ORDER BY id DESC LIMIT 1") == "applied 1")

            // A truncated table: every row of it was written; the pass reads every row.
            try await h.execute("TRUNCATE platform.erasures")
            #expect(try await eventually { try await h.scalar("SELECT count(*)::text FROM platform.erasures") == "1" }, "\(logs.text)")
            #expect(try await eventually { logs.lines(msg: "reconciled").last?["pass"] == .string("full") })
        }
    }

    @Test func burstsOfTenThousandWritesAreCoalescedIntoFewTargetedPasses() async throws {
        let h = try await Harness()
        let db = h.db
        defer { Task { await db.drop() } }
        // 50 more tenants of ten workers each, one file per tenant.
        for (path, text) in GeneratedPlatform.files(tenants: 50, prefix: "g") { try h.work.write("generated/\(path)", text) }
        try h.commitAndPush("fifty generated tenants")
        let logs = LogBuffer()
        try await withController(try h.config(["interval": "1h", "resync": "1h"]), logs: logs) { c in
            #expect(try await eventually { await c.isLeaderReady() })
            #expect(try await Self.listening(logs))
            #expect(try await h.scalar("SELECT count(*)::text FROM platform.workers WHERE tenant LIKE 'g%'") == "500")
            let drifted = "SELECT count(*)::text FROM platform.workers WHERE tenant LIKE 'g%' AND replicas >= 100"
            let update = "UPDATE platform.workers SET replicas = replicas + 100 WHERE tenant LIKE 'g%';\n"

            // One transaction rewriting the 500 generated workers 20 times: 10,000 rows written, one targeted pass.
            var before = logs.lines(msg: "reconciled").count
            try await h.execute("BEGIN;\n" + String(repeating: update, count: 20) + "COMMIT;")
            #expect(try await eventually { try await h.scalar(drifted) == "0" }, "\(logs.text.suffix(4000))")
            // The pass logs once it is done; under load that comes a while after its rows commit.
            #expect(try await eventually { logs.lines(msg: "reconciled").count > before })
            try await Task.sleep(for: .milliseconds(500))
            var passes = Array(logs.lines(msg: "reconciled").dropFirst(before))
            #expect(passes.count == 1 && passes.first?["pass"] == .string("targeted") && passes.first?["applied"] == .number(500), "\(passes)")

            // 20 transactions of 500 rows each: 10,000 notices, taken in batches while passes run, far fewer passes than transactions.
            before = logs.lines(msg: "reconciled").count
            let announced = logs.lines(msg: "written outside Accord: reverting").count
            // Each its own transaction, as an operator's script would run them; one that deadlocks with a
            // revert pass (both lock the same rows, in their own orders) sends no notice and is run again.
            for _ in 0..<20 {
                for attempt in 1...5 {
                    do {
                        try await h.execute("BEGIN; " + update + "COMMIT;")
                        break
                    } catch where "\(error)".contains("deadlock detected") && attempt < 5 {
                        continue
                    }
                }
            }
            #expect(try await eventually { try await h.scalar(drifted) == "0" }, "\(logs.text.suffix(4000))")
            #expect(try await eventually {
                logs.lines(msg: "written outside Accord: reverting").dropFirst(announced).compactMap { $0["notices"]?.numberValue }.reduce(0, +) == 10_000
            }, "every notice is taken once")
            #expect(try await eventually { logs.lines(msg: "reconciled").count > before })
            try await Task.sleep(for: .milliseconds(500))
            passes = Array(logs.lines(msg: "reconciled").dropFirst(before))
            #expect(passes.count >= 1 && passes.count < 10, "\(passes.count) passes for 20 transactions")
            #expect(passes.allSatisfy { $0["pass"] == .string("targeted") }, "\(passes)")
            #expect(passes.compactMap { $0["applied"]?.numberValue }.reduce(0, +) >= 500)
        }
    }

    @Test func anOperatorFightingAccordIsDriftRepeatedNotAHotLoop() async throws {
        let h = try await Harness()
        let db = h.db
        defer { Task { await db.drop() } }
        let logs = LogBuffer()
        try await withController(try h.config(["interval": "1h", "resync": "1h", "retry-min": "6s", "retry-max": "6s"]), logs: logs) { c in
            #expect(try await eventually { await c.isLeaderReady() })
            #expect(try await Self.listening(logs))
            let replicas = Self.replicas
            let lastWrite = try await Self.fight(h)
            // The limit is reached: the next write stands until its backoff (6 s) is over.
            #expect(try await eventually { logs.lines(msg: "DriftRepeated: written outside Accord again and again; its reverts back off").count == 1 })
            let warning = try #require(logs.lines(msg: "DriftRepeated: written outside Accord again and again; its reverts back off").first)
            #expect(warning["object"] == .string("Worker/acme-corp/risk-analyst") && warning["reverts"] == .number(Double(Reconciler.driftRepeatLimit)))
            #expect(c.metricsText.contains(#"accord_drift_repeated_total{kind="Worker"} 1"#))
            // Status says so: DriftRepeated, not stalled, with when it is reverted again.
            let held = ObjectID(kind: .worker, tenant: "acme-corp", name: "risk-analyst")
            #expect(try await eventually { try await db.withSession { try await ObjectStatus.read($0, id: held) }.first?.ready == false })
            let status = try #require(try await db.withSession { try await ObjectStatus.read($0, id: held) }.first)
            #expect(status.conditions.first?.reason == "DriftRepeated" && !status.stalled && status.nextAttemptAt != nil, "\(status.conditions)")
            #expect(status.message.hasPrefix("written outside Accord 5 times within 10m; its reverts back off"), "\(status.message)")
            try await h.execute("UPDATE platform.workers SET replicas = 99 WHERE name = 'risk-analyst'")
            try await Task.sleep(for: .milliseconds(1000))
            #expect(try await h.scalar(replicas) == "99", "held: not reverted within its backoff")
            // Another object written meanwhile is reverted at once.
            try await h.execute("UPDATE platform.workers SET replicas = 9 WHERE name = 'crm-updater'")
            #expect(try await eventually { try await h.scalar("SELECT replicas::text FROM platform.workers WHERE name = 'crm-updater'") == "1" })
            // A truncated table makes the next revert read every row: it restores the table and
            // still holds the object back.
            let fullPasses = logs.lines(msg: "reconciled").filter { $0["pass"] == .string("full") }.count
            try await h.execute("TRUNCATE platform.erasures")
            #expect(try await eventually { try await h.scalar("SELECT count(*)::text FROM platform.erasures") == "1" }, "\(logs.text.suffix(3000))")
            #expect(try await eventually { logs.lines(msg: "reconciled").filter { $0["pass"] == .string("full") }.count == fullPasses + 1 })
            #expect(ContinuousClock.now - lastWrite < .seconds(6), "the full revert came after the backoff: the check below would prove nothing")
            #expect(try await h.scalar(replicas) == "99", "held back by a revert that read every row")
            #expect(logs.lines(msg: "reconciled").last?["held"] == .number(1), "\(logs.lines(msg: "reconciled").suffix(1))")
            // Once the backoff is over, it is reverted.
            #expect(try await eventually { try await h.scalar(replicas) == "2" }, "\(logs.text.suffix(3000))")
            // Held 6 s from when the fifth revert was noted: after the fifth write, and possibly well
            // before the 99 (the waits above); without the backoff the 99 would be gone within 0.1 s.
            #expect(ContinuousClock.now - lastWrite >= .seconds(6), "not before its backoff")
            // The revert clears it.
            #expect(try await eventually { try await db.withSession { try await ObjectStatus.read($0, id: held) }.first?.ready == true })
        }
    }

    /// A held object whose write went unheard (a missed notice) and that a
    /// revert reading every row held back is reverted when its backoff
    /// ends, without another notice and long before the resync.
    @Test func aHeldObjectAFullRevertHeldBackIsRevertedWhenItsBackoffEnds() async throws {
        let h = try await Harness()
        let db = h.db
        defer { Task { await db.drop() } }
        let logs = LogBuffer()
        try await withController(try h.config(["interval": "1h", "resync": "1h", "retry-min": "5s", "retry-max": "5s"]), logs: logs) { c in
            #expect(try await eventually { await c.isLeaderReady() })
            #expect(try await Self.listening(logs))
            let replicas = Self.replicas
            _ = try await Self.fight(h)
            #expect(try await eventually { logs.lines(msg: "DriftRepeated: written outside Accord again and again; its reverts back off").count == 1 })
            // Written as Accord writes (no notice): only a pass that reads every row finds it.
            try await h.execute("BEGIN; SET LOCAL accord.applier = on; UPDATE platform.workers SET replicas = 77 WHERE name = 'risk-analyst'; COMMIT;")
            let fullPasses = logs.lines(msg: "reconciled").filter { $0["pass"] == .string("full") }.count
            try await h.execute("TRUNCATE platform.erasures")
            #expect(try await eventually { logs.lines(msg: "reconciled").filter { $0["pass"] == .string("full") }.count == fullPasses + 1 })
            let full = try #require(logs.lines(msg: "reconciled").last)
            #expect(full["pass"] == .string("full") && full["held"] == .number(1), "\(full)")
            // No notice comes for it; its backoff's end brings the revert.
            #expect(try await eventually { try await h.scalar(replicas) == "2" }, "\(logs.text.suffix(3000))")
            #expect(logs.lines(msg: "Worker updated").last?["cause"] == .string("drift"))
        }
    }
}
