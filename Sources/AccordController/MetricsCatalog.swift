/// Every metric the controller exports, once: its name, type, labels and
/// meaning. `/metrics` adds a `# HELP` line from it before each family, and
/// the metrics table of docs/controller.md is made from it
/// (`ACCORD_WRITE_DOCS=1 swift test --filter MetricsCatalogTests`).
public enum MetricsCatalog {
    public struct Entry: Sendable {
        public let name: String
        public let type: String
        /// Markdown, for the docs table.
        public let labels: String
        /// Markdown, for the docs table; `help` is it without the markup.
        public let meaning: String
        public var help: String { meaning.replacingOccurrences(of: "`", with: "") }
    }

    public static let all: [Entry] = [
        Entry(name: "accord_reconciles_total", type: "counter", labels: "`kind`, `result` (`applied`, `failed`, `stalled`, `held`)",
              meaning: "objects a pass applied, could not apply, or held back for their retry"),
        Entry(name: "accord_reconcile_duration_seconds", type: "histogram",
              labels: "`pass` (`fast`, `incremental`, `full`, `targeted`; `unknown` for a pass that failed before it got that far), `result` (`ok`, `refused`, `invalid`, `error`)",
              meaning: "wall time of passes"),
        Entry(name: "accord_drift_reverted_total", type: "counter", labels: "`kind`",
              meaning: "objects written outside Accord and reverted by a targeted pass, as the write was heard"),
        Entry(name: "accord_drift_repeated_total", type: "counter", labels: "`kind`",
              meaning: "times an object was found rewritten outside Accord too often (`DriftRepeated`) and its reverts backed off"),
        Entry(name: "accord_last_applied_revision_info", type: "gauge (1)", labels: "`revision`", meaning: "the commit the last pass applied"),
        Entry(name: "accord_last_applied_timestamp_seconds", type: "gauge", labels: "", meaning: "when the last pass applied it (Unix time)"),
        Entry(name: "accord_queue_depth", type: "gauge", labels: "", meaning: "objects waiting for a retry (stalled ones included)"),
        Entry(name: "accord_git_fetch_failures_total", type: "counter", labels: "", meaning: "failed fetches (or branch resolutions)"),
        Entry(name: "accord_source_verified", type: "gauge", labels: "",
              meaning: "0 while the fetched commit is refused by the verification policy (the `SourceVerified` condition), else 1 (and 1 without a policy)"),
        Entry(name: "accord_source_unavailable", type: "gauge", labels: "",
              meaning: "1 while the leader's fetches fail (the `SourceUnavailable` condition), else 0"),
        Entry(name: "accord_erasures_open", type: "gauge", labels: "", meaning: "managed erasures without a certificate yet, read after each pass"),
        Entry(name: "accord_erasures_sla_warning", type: "gauge", labels: "", meaning: "of those, the ones open for 48 to 60 hours (warning to the DPO)"),
        Entry(name: "accord_erasures_sla_escalated", type: "gauge", labels: "", meaning: "of those, the ones open for 60 to 72 hours (escalated to legal)"),
        Entry(name: "accord_erasures_overdue", type: "gauge", labels: "", meaning: "of those, the ones past the 72-hour deadline after `requestedAt`"),
        Entry(name: "accord_erasure_store_jobs", type: "gauge", labels: "`store`, `state` (`pending`, `erasing`, `verifying`, `verified`, `failed`)",
              meaning: "open erasures' jobs in each external store, by state (a series no longer seen is set to 0)"),
        Entry(name: "accord_store_up", type: "gauge", labels: "`store`", meaning: "1 when the store answers and holds every `holds` entry, else 0"),
        Entry(name: "accord_region_up", type: "gauge", labels: "`region`",
              meaning: "with a regions file: 1 when the region's database answered after the last pass, else 0"),
        Entry(name: "accord_notifications_sent_total", type: "counter", labels: "`notification`",
              meaning: "events a notification's receiver accepted"),
        Entry(name: "accord_notification_failures_total", type: "counter", labels: "`notification`",
              meaning: "deliveries that failed (retried with backoff, or the notification stalled)"),
        Entry(name: "accord_notifications_pending", type: "gauge", labels: "`notification`",
              meaning: "events written to the outbox and not delivered yet"),
        Entry(name: "accord_notification_stalled", type: "gauge", labels: "`notification`",
              meaning: "1 while the receiver's refusal stalls the notification until its manifest changes, else 0"),
        Entry(name: "accord_leader", type: "gauge", labels: "", meaning: "1 on the leader, 0 on a standby"),
        Entry(name: "accord_build_info", type: "gauge (1)", labels: "`version`, `commit`", meaning: "the version of the running controller and the git commit it was built from"),
    ]

    /// The table of docs/controller.md.
    public static var markdownTable: String {
        var out = "| metric | type | labels | meaning |\n|---|---|---|---|\n"
        for e in all { out += "| `\(e.name)` | \(e.type) | \(e.labels) | \(e.meaning) |\n" }
        return out
    }

    /// Prometheus text with a `# HELP` line before each family's `# TYPE`
    /// line, where the catalog knows the family.
    public static func withHelp(_ exposition: String) -> String {
        let help = Dictionary(uniqueKeysWithValues: all.map { ($0.name, $0.help) })
        var out = ""
        out.reserveCapacity(exposition.utf8.count + 2048)
        for line in exposition.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("# TYPE "), let name = line.dropFirst(7).split(separator: " ").first, let text = help[String(name)] {
                out += "# HELP \(name) \(text.replacingOccurrences(of: "\\", with: "\\\\"))\n"
            }
            out += line
            out += "\n"
        }
        if out.hasSuffix("\n\n") { out.removeLast() }
        return out
    }
}
