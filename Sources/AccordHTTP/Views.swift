import AccordController
import AccordCore
import AccordStore
import Foundation

/// The JSON the endpoints answer with.
enum Views {
    static func time(_ date: Date?) -> JSONValue {
        date.map { .string(Timestamp.rfc3339(epochSeconds: Int64($0.timeIntervalSince1970))) } ?? .null
    }

    static func readiness(_ s: ControllerState.Snapshot) -> JSONValue {
        .object([
            "ready": .bool(s.ready), "role": .string(s.role.rawValue), "reconciling": .bool(s.reconciling),
            "revision": JSONValue(s.revision), "lastPassAt": time(s.lastPassAt), "lastPassResult": JSONValue(s.lastPassResult?.rawValue),
            "lastError": JSONValue(s.lastError),
            "conditions": .array((s.source.map { [source($0)] } ?? []) + (s.verified.map { [verified($0)] } ?? [])),
        ])
    }

    /// The `SourceUnavailable` condition (kstatus style, with the fetch backoff).
    static func source(_ c: ControllerState.SourceCondition) -> JSONValue {
        .object([
            "type": .string(ConditionType.sourceUnavailable.rawValue), "status": .string(ConditionStatus(c.unavailable).rawValue),
            "reason": .string(c.reason.rawValue), "message": .string(c.message), "lastTransitionTime": time(c.since),
            "failures": JSONValue(c.failures), "lastFetchAt": time(c.lastFetchAt), "nextFetchAt": time(c.nextFetchAt),
        ])
    }

    /// The `SourceVerified` condition: whether the verification policy trusts the fetched commit.
    static func verified(_ v: (trusted: Bool, message: String, since: Date)) -> JSONValue {
        .object([
            "type": .string(ConditionType.sourceVerified.rawValue), "status": .string(ConditionStatus(v.trusted).rawValue),
            "reason": .string((v.trusted ? StatusReason.signatureVerified : .signatureUnverified).rawValue),
            "message": .string(v.message), "lastTransitionTime": time(v.since),
        ])
    }

    static func retry(_ e: RetryBook.Entry) -> JSONValue {
        .object([
            "attempts": JSONValue(e.attempts), "nextRetryAt": time(e.nextRetry), "stalled": .bool(e.stalled),
            "reason": .string(e.reason.rawValue), "message": .string(e.message),
            "waitsFor": .string(e.stalled ? "a change to its manifest" : "its next retry"),
        ])
    }

    /// `accordctl status -o json`'s objects, each with `retry` when the
    /// controller holds it back, and the controller's own state.
    /// The source (`Source/git`) comes first when it is shown.
    static func objects(_ statuses: [ObjectStatus], source: SourceStatus? = nil, _ s: ControllerState.Snapshot) -> JSONValue {
        var retries: [String: RetryBook.Entry] = [:]
        for e in s.retries { retries[e.id.description] = e }
        return .object([
            "formatVersion": .number(1),
            "controller": readiness(s),
            "objects": .array((source.map { [$0.json] } ?? []) + statuses.map { status in
                var status = status
                if let entry = retries[status.id] {
                    status.facts.retry = (entry.attempts, entry.nextRetry, entry.stalled)
                }
                guard case .object(var fields) = status.json else { return status.json }
                fields["retry"] = retries[status.id].map(retry) ?? .null
                return .object(fields)
            }),
        ])
    }
}
