import AccordCore

/// A Notification's row in `platform.notifications` (SPEC §11): where
/// events go and which. `secret` is only the name of a file under
/// `ACCORD_SECRETS_DIR`, never what the file holds. A missing filter is
/// SQL NULL (every event, tenant or kind).
public enum NotificationRecord {
    static let columns: [Column] = [
        Column("type", .text), Column("address", .text), Column("secret", .text),
        Column("events", .json), Column("tenants", .json), Column("kinds", .json),
    ]

    static func fields(_ spec: NotificationSpec) -> [String: JSONValue] {
        [
            "type": .string(spec.type.rawValue), "address": JSONValue(spec.address), "secret": JSONValue(spec.secret),
            "events": spec.events.map { JSONValue(strings: $0.map(\.rawValue)) } ?? .null,
            "tenants": spec.tenants.map { JSONValue(strings: $0) } ?? .null,
            "kinds": spec.kinds.map { JSONValue(strings: $0.map(\.rawValue)) } ?? .null,
        ]
    }

    static func spec(_ spec: NotificationSpec) -> JSONValue {
        var out: [String: JSONValue] = ["type": .string(spec.type.rawValue)]
        if let address = spec.address { out["address"] = .string(address) }
        if let secret = spec.secret { out["secret"] = .string(secret) }
        if let events = spec.events { out["events"] = JSONValue(strings: events.map(\.rawValue)) }
        if let tenants = spec.tenants { out["tenants"] = JSONValue(strings: tenants) }
        if let kinds = spec.kinds { out["kinds"] = JSONValue(strings: kinds.map(\.rawValue)) }
        return .object(out)
    }
}
