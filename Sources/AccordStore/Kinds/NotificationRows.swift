import AccordCore

/// `platform.notifications`: one row per Notification (SPEC §11); what
/// was sent, what waits and the last error are observed state in `accord`
/// (`Outbox`).
enum NotificationRows: KindRows {
    static let kind = Kind.notification
}
