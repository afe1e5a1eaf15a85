import AccordCore

/// An Erasure's row in `platform.erasures`. `status` and `completed_at` are
/// observed (the erasure run owns them), not compared.
enum ErasureRecord {
    static let columns: [Column] = [
        Column("subject_email_hash", .text), Column("requested_at", .timestamp), Column("legal_basis", .text),
    ]

    static func fields(_ spec: ErasureSpec) -> [String: JSONValue] {
        [
            "subject_email_hash": .string(spec.subjectEmailHash),
            "requested_at": .string(Timestamp.rfc3339(epochSeconds: spec.requestedAtEpochSeconds)),
            "legal_basis": .string(spec.legalBasis),
        ]
    }

    static func spec(_ spec: ErasureSpec) -> JSONValue {
        .object([
            "subjectEmailHash": .string(spec.subjectEmailHash),
            "requestedAt": .string(Timestamp.rfc3339(epochSeconds: spec.requestedAtEpochSeconds)),
            "legalBasis": .string(spec.legalBasis),
        ])
    }
}
