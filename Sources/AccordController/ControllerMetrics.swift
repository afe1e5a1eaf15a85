import AccordBuildInfo
import AccordCore
import AccordStore
import Foundation
import Metrics
import Synchronization

/// The controller's metrics, through swift-metrics (the executable backs
/// them with Prometheus; tests with their own registry).
public final class ControllerMetrics: Sendable {
    let factory: any MetricsFactory
    let queueDepth: Gauge
    let gitFetchFailures: Counter
    let erasuresOpen: Gauge
    let erasuresOverdue: Gauge
    let erasuresWarning: Gauge
    let erasuresEscalated: Gauge
    let leader: Gauge
    let sourceUnavailable: Gauge
    let sourceVerified: Gauge
    let lastAppliedTime: Gauge
    private let lastRevision = Mutex<(String, Gauge)?>(nil)
    /// The store job and store health series set last, so that one no longer seen is set to 0.
    private let storeSeries = Mutex<(jobs: Set<[String]>, up: Set<String>)>(([], []))
    /// The notifications whose series were set last.
    private let notificationSeries = Mutex<Set<String>>([])

    public init(factory: any MetricsFactory) {
        self.factory = factory
        queueDepth = Gauge(label: "accord_queue_depth", factory: factory)
        gitFetchFailures = Counter(label: "accord_git_fetch_failures_total", factory: factory)
        erasuresOpen = Gauge(label: "accord_erasures_open", factory: factory)
        erasuresOverdue = Gauge(label: "accord_erasures_overdue", factory: factory)
        erasuresWarning = Gauge(label: "accord_erasures_sla_warning", factory: factory)
        erasuresEscalated = Gauge(label: "accord_erasures_sla_escalated", factory: factory)
        leader = Gauge(label: "accord_leader", factory: factory)
        sourceUnavailable = Gauge(label: "accord_source_unavailable", factory: factory)
        sourceVerified = Gauge(label: "accord_source_verified", factory: factory)
        sourceVerified.record(1)
        lastAppliedTime = Gauge(label: "accord_last_applied_timestamp_seconds", factory: factory)
        for g in [queueDepth, erasuresOpen, erasuresOverdue, erasuresWarning, erasuresEscalated, leader, sourceUnavailable] { g.record(0) }
        Gauge(label: "accord_build_info", dimensions: [("version", AccordBuild.version), ("commit", AccordBuild.commit)], factory: factory).record(1)
        gitFetchFailures.increment(by: 0)
        // Every kind's drift series from the start, so a first revert is a change from 0.
        for kind in Kind.allCases {
            driftCounter(Self.driftReverted, kind).increment(by: 0)
            driftCounter(Self.driftRepeated, kind).increment(by: 0)
        }
    }

    /// One object reconciled: `result` is applied, failed or held.
    /// What became of one object in a pass.
    public enum ObjectResult: String, Sendable {
        case applied, failed, stalled, held
    }

    public func reconciled(kind: Kind, result: ObjectResult, count: Int = 1) {
        Counter(label: "accord_reconciles_total", dimensions: [("kind", kind.rawValue), ("result", result.rawValue)], factory: factory)
            .increment(by: count)
    }

    /// An object written outside Accord, reverted as soon as it was heard.
    public func driftReverted(kind: Kind) {
        driftCounter(Self.driftReverted, kind).increment()
    }

    /// An object rewritten outside Accord too often: its reverts back off.
    public func driftRepeated(kind: Kind) {
        driftCounter(Self.driftRepeated, kind).increment()
    }

    static let driftReverted = "accord_drift_reverted_total", driftRepeated = "accord_drift_repeated_total"

    private func driftCounter(_ label: String, _ kind: Kind) -> Counter {
        Counter(label: label, dimensions: [("kind", kind.rawValue)], factory: factory)
    }

    /// A pass's wall time: how it read its input (`unknown` when it failed
    /// before it knew) and how it ended.
    public func passDuration(_ d: Duration, pass: PassKind?, result: PassResult) {
        Metrics.Timer(label: "accord_reconcile_duration_seconds",
                      dimensions: [("pass", pass?.rawValue ?? "unknown"), ("result", result.rawValue)], factory: factory)
            .recordNanoseconds(d.components.seconds * 1_000_000_000 + d.components.attoseconds / 1_000_000_000)
    }

    /// The revision the last complete pass applied: an info gauge with the
    /// commit as its label (the previous revision's series is removed).
    public func appliedRevision(_ revision: String) {
        lastRevision.withLock { current in
            if current?.0 == revision { return }
            current?.1.destroy()
            let gauge = Gauge(label: "accord_last_applied_revision_info", dimensions: [("revision", revision)], factory: factory)
            gauge.record(1)
            current = (revision, gauge)
        }
        lastAppliedTime.record(Date().timeIntervalSince1970)
    }

    public func setQueueDepth(_ n: Int) { queueDepth.record(n) }
    public func gitFetchFailed() { gitFetchFailures.increment() }
    /// 1 while the leader's fetches of the repository fail (SourceUnavailable), else 0.
    public func setSourceUnavailable(_ down: Bool) { sourceUnavailable.record(down ? 1 : 0) }
    public func setSourceVerified(_ trusted: Bool) { sourceVerified.record(trusted ? 1 : 0) }
    public func setLeader(_ isLeader: Bool) {
        leader.record(isLeader ? 1 : 0)
        if !isLeader { sourceUnavailable.record(0) } // only the leader fetches
    }
    /// Open erasures' store jobs per store and state
    /// (`accord_erasure_store_jobs{store,state}`), and each store's health
    /// (`accord_store_up{store}`, 1 ready, 0 not).
    /// Each region's database, as it answered after the last pass.
    public func setRegions(_ health: [Region: RegionDatabases.Health]) {
        for (region, h) in health {
            Gauge(label: "accord_region_up", dimensions: [("region", region.rawValue)], factory: factory).record(h.up ? 1 : 0)
        }
    }

    public func setStores(jobs: [(store: String, state: String, jobs: Int)], up: [String: Bool]) {
        storeSeries.withLock { seen in
            var now = Set<[String]>()
            for j in jobs {
                Gauge(label: "accord_erasure_store_jobs", dimensions: [("store", j.store), ("state", j.state)], factory: factory).record(j.jobs)
                now.insert([j.store, j.state])
            }
            for gone in seen.jobs.subtracting(now) {
                Gauge(label: "accord_erasure_store_jobs", dimensions: [("store", gone[0]), ("state", gone[1])], factory: factory).record(0)
            }
            for (store, ready) in up {
                Gauge(label: "accord_store_up", dimensions: [("store", store)], factory: factory).record(ready ? 1 : 0)
            }
            seen = (now, Set(up.keys))
        }
    }

    /// An event a notification's receiver accepted.
    public func notificationSent(_ name: String) {
        Counter(label: "accord_notifications_sent_total", dimensions: [("notification", name)], factory: factory).increment()
    }

    /// A delivery that failed (it is retried, or the notification stalls).
    public func notificationFailed(_ name: String) {
        Counter(label: "accord_notification_failures_total", dimensions: [("notification", name)], factory: factory).increment()
    }

    /// Per notification: events waiting to be delivered, and whether it is
    /// stalled (a series no longer seen is set to 0). Both counters start
    /// at 0 for every notification seen.
    public func setNotifications(_ reports: [Outbox.Report]) {
        notificationSeries.withLock { seen in
            let now = Set(reports.map(\.name))
            for r in reports {
                Gauge(label: "accord_notifications_pending", dimensions: [("notification", r.name)], factory: factory).record(r.pending)
                Gauge(label: "accord_notification_stalled", dimensions: [("notification", r.name)], factory: factory)
                    .record(r.stalled == nil ? 0 : 1)
                if !seen.contains(r.name) {
                    Counter(label: "accord_notifications_sent_total", dimensions: [("notification", r.name)], factory: factory).increment(by: 0)
                    Counter(label: "accord_notification_failures_total", dimensions: [("notification", r.name)], factory: factory).increment(by: 0)
                }
            }
            for gone in seen.subtracting(now) {
                Gauge(label: "accord_notifications_pending", dimensions: [("notification", gone)], factory: factory).record(0)
                Gauge(label: "accord_notification_stalled", dimensions: [("notification", gone)], factory: factory).record(0)
            }
            seen = now
        }
    }

    public func setErasures(_ counts: ErasureCounts.Counts) {
        erasuresOpen.record(counts.open)
        erasuresWarning.record(counts.warning)
        erasuresEscalated.record(counts.escalation)
        erasuresOverdue.record(counts.overdue)
    }
}
