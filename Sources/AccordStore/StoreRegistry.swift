import AccordCore
import AccordEngine
import Foundation

/// The external stores as the platform registry has them (`platform.stores`),
/// and their health (`accord.store_health`).
public enum StoreRegistry {
    /// Every registered store's settings, by name.
    public static func read(_ session: Session) async throws -> [String: StoreSpec] {
        var out: [String: StoreSpec] = [:]
        for record in try await LiveState.read(.store, session) {
            guard let spec = spec(record) else { continue }
            out[record.id.name] = spec
        }
        return out
    }

    /// A Store's row back as its spec.
    public static func spec(_ record: Record) -> StoreSpec? {
        guard let type = record["type"].stringValue.flatMap(StoreSpec.StoreType.init(rawValue:)),
              let region = record["region"].stringValue.flatMap(Region.init(rawValue:)),
              let endpoint = record["endpoint"].stringValue else { return nil }
        var spec = StoreSpec(type: type, region: region, endpoint: endpoint, holds: StoreRecord.holdings(record["holds"], type: type))
        spec.credentials = record["credentials"].stringValue
        spec.s3Region = record["s3_region"].stringValue
        if let seconds = record["timeout_seconds"].numberValue {
            spec.timeout = DurationValue(seconds: Int(seconds), text: "\(Int(seconds))s")
        }
        return spec
    }

    public struct Health: Sendable {
        public let store: String
        public let ready: Bool
        public let message: String
        public let missing: [String]
        public let failures: Int
        public let checkedAt: Date
        public let nextCheckAt: Date?
    }

    /// The stores whose health is due for a check at `now`.
    public static func dueForCheck(_ names: [String], now: Date, _ session: Session) async throws -> Set<String> {
        var known: [String: Date?] = [:]
        for row in try await session.rows("SELECT store, extract(epoch FROM next_check_at)::float8 FROM accord.store_health") {
            let (store, next) = try row.decode((String, Double?).self)
            known[store] = next.map { Date(timeIntervalSince1970: $0) }
        }
        return Set(names.filter { name in
            guard let next = known[name] else { return true }
            return next.map { $0 <= now } ?? true
        })
    }

    public static func recordHealth(_ store: String, ready: Bool, message: String, missing: [String], now: Date,
                                    next: Date, _ session: Session) async throws {
        try await session.execute("""
            INSERT INTO accord.store_health (store, ready, message, missing, failures, checked_at, next_check_at)
            VALUES ($1, $2::boolean, $3, $4::jsonb, CASE WHEN $2::boolean THEN 0 ELSE 1 END, to_timestamp($5::float8), to_timestamp($6::float8))
            ON CONFLICT (store) DO UPDATE SET ready = EXCLUDED.ready, message = EXCLUDED.message, missing = EXCLUDED.missing,
                failures = CASE WHEN EXCLUDED.ready THEN 0 ELSE accord.store_health.failures + 1 END,
                checked_at = EXCLUDED.checked_at, next_check_at = EXCLUDED.next_check_at
            """, [store, ready ? "true" : "false", message, JSONValue(strings: missing).canonical,
                  String(now.timeIntervalSince1970), String(next.timeIntervalSince1970)])
    }

    /// Failed checks in a row of a store (0 when it is ready or never checked).
    public static func failures(_ store: String, _ session: Session) async throws -> Int {
        Int(try await session.scalar("SELECT failures::text FROM accord.store_health WHERE store = $1", [store]) ?? "0") ?? 0
    }

    public static func health(_ session: Session) async throws -> [String: Health] {
        var out: [String: Health] = [:]
        for row in try await session.rows("""
            SELECT store, ready, message, missing::text, failures, extract(epoch FROM checked_at)::float8,
                   extract(epoch FROM next_check_at)::float8
            FROM accord.store_health
            """) {
            let (store, ready, message, missing, failures, checked, next) = try row.decode((String, Bool, String, String, Int, Double, Double?).self)
            let names = (try? JSONParser.parse(missing))?.arrayValue?.compactMap(\.stringValue) ?? []
            out[store] = Health(store: store, ready: ready, message: message, missing: names, failures: failures,
                                checkedAt: Date(timeIntervalSince1970: checked), nextCheckAt: next.map { Date(timeIntervalSince1970: $0) })
        }
        return out
    }
}
