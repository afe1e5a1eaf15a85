import AccordCore
import Foundation

extension ObjectStatus {
    /// One object as `accordctl status -o json` and the controller's
    /// `GET /api/v1/objects` show it.
    public var json: JSONValue {
        .object([
            "id": .string(id), "kind": .string(kind), "tenant": JSONValue(tenant), "name": .string(name),
            "generation": JSONValue(generation), "observedGeneration": JSONValue(observedGeneration),
            "lastAppliedRevision": JSONValue(lastAppliedRevision), "lastAttemptedRevision": JSONValue(lastAttemptedRevision),
            "source": JSONValue(sourcePath), "database": JSONValue(database), "message": .string(message),
            "conditions": .array(conditions.map(\.json)),
            "live": live.isEmpty ? .null : .object(live),
            "nextAttemptAt": JSONValue(nextAttemptAt.map { Timestamp.rfc3339(epochSeconds: Int64($0.timeIntervalSince1970)) }),
        ])
    }
}
