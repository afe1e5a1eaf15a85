extension Migrations {
    /// Notifications (SPEC §11): the registry of where events go, and the
    /// transactional outbox. An event is written to `accord.outbox` by the
    /// transaction that makes the change it reports, one row per matching
    /// notification; the sender (`Outbox`) delivers each row and marks it
    /// sent. The key (notification, object, event, revision) makes an
    /// event once per notification: written again, it is dropped.
    static let v16 = Migration(version: 16, name: "notifications and their outbox", sql: """
        CREATE TABLE platform.notifications (
            name text PRIMARY KEY,
            type text NOT NULL CHECK (type IN ('webhook', 'slack', 'github')),
            address text,
            secret text,
            events jsonb,
            tenants jsonb,
            kinds jsonb,
            created_at timestamptz NOT NULL DEFAULT now(),
            updated_at timestamptz NOT NULL DEFAULT now()
        );
        \(noteWrites("notifications"))
        \(driftTriggers(DriftNotices.Table(name: "notifications", kind: .notification, keys: ["name"])))
        CREATE TABLE accord.outbox (
            id bigserial PRIMARY KEY,
            notification text NOT NULL REFERENCES platform.notifications (name) ON DELETE CASCADE,
            event text NOT NULL,
            object text NOT NULL,
            kind text,
            tenant text,
            revision text NOT NULL DEFAULT '',
            message text NOT NULL,
            detail jsonb NOT NULL DEFAULT '{}',
            created_at timestamptz NOT NULL DEFAULT now(),
            sent_at timestamptz,
            attempts integer NOT NULL DEFAULT 0,
            next_attempt_at timestamptz,
            last_error text,
            UNIQUE (notification, object, event, revision)
        );
        CREATE INDEX outbox_pending ON accord.outbox (notification, id) WHERE sent_at IS NULL;
        CREATE TABLE accord.notification_status (
            name text PRIMARY KEY REFERENCES platform.notifications (name) ON DELETE CASCADE,
            sent bigint NOT NULL DEFAULT 0,
            failures bigint NOT NULL DEFAULT 0,
            last_sent_at timestamptz,
            last_error text,
            last_error_at timestamptz,
            -- Set when the receiver refused a delivery for good (a 4xx other than 408 and 429):
            -- nothing more is sent until the notification's manifest changes.
            stalled_reason text,
            stalled_at timestamptz
        );
        """)
}
