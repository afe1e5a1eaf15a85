import AccordConnectors
import AccordCore
import AccordStore
import Foundation
import Logging
import Synchronization

/// Delivers the outbox (SPEC §11) while this replica leads. Each
/// notification's events go out in the order they were written: the first
/// one not delivered holds back the ones after it, so a receiver that is
/// down gets everything, in order, once it is back. A failed delivery is
/// retried with backoff (`retry`: 1 s doubling to 60 s); a receiver that
/// refuses for good (a 4xx other than 408 and 429, a redirect) stalls the
/// notification until its manifest changes. An event is marked sent in
/// the transaction after its receiver accepted it: a crash in between sends
/// it again (at least once; receivers dedupe on its `id`), and a row
/// marked sent is never sent again.
final class NotificationSender: Sendable {
    let databaseURL: DatabaseURL
    let secretsDirectory: String?
    /// The status page's address (`--external-url`): deliveries link to it.
    let page: String?
    let metrics: ControllerMetrics
    let logger: Logger
    /// Rung (`.outbox`) after each pass, so the events it wrote go out at once.
    let bell: Doorbell
    /// How often the outbox is read when nothing rings.
    let poll: Duration
    /// A failed delivery's next attempt; a lost connection's next try.
    static let retry = Backoff(min: .seconds(1), max: .seconds(60), random: { 0 })
    static let reconnect = Backoff(min: .seconds(1), max: .seconds(30), random: { 0 })

    init(databaseURL: DatabaseURL, secretsDirectory: String?, page: String? = nil, metrics: ControllerMetrics, logger: Logger,
         bell: Doorbell, poll: Duration = .seconds(1)) {
        self.databaseURL = databaseURL
        self.secretsDirectory = secretsDirectory
        self.page = page
        self.metrics = metrics
        self.logger = logger
        self.bell = bell
        self.poll = poll
    }

    /// Sends until cancelled; a lost database connection is made again.
    func run() async {
        var failures = 0
        var lastForget = Date.distantPast
        // The outbox exists once a pass migrated the database to version 16, and stays.
        var migrated = false
        while !Task.isCancelled {
            do {
                try await Database.withConnection(databaseURL, logger: logger) { connection in
                    let session = Session(connection, logger: logger)
                    failures = 0
                    while !Task.isCancelled {
                        var more = false
                        if !migrated { migrated = try await Migrations.currentVersion(session) >= 16 }
                        if migrated {
                            more = try await tick(session, now: Date())
                            if Date().timeIntervalSince(lastForget) > 3600 {
                                lastForget = Date()
                                try await Outbox.forgetSent(now: lastForget, session)
                            }
                        }
                        // A notification that used up its budget with events still due goes on at once.
                        if !more { _ = await bell.wait(for: poll) }
                    }
                }
            } catch where Task.isCancelled {
                return
            } catch {
                failures += 1
                let delay = Self.reconnect.delay(attempt: failures)
                logger.warning("notifications: the outbox cannot be read; trying again", metadata: [
                    "error": "\(error)", "retryInSeconds": .seconds(delay)])
                try? await Task.sleep(for: delay)
            }
        }
    }

    /// Delivers what is due of every notification that is not stalled —
    /// the notifications side by side, so a slow receiver holds back only
    /// its own events, and each for about a second (`tickBudget`) before
    /// the next tick, so that a slow one never keeps a tick from the others
    /// for longer than one delivery — then updates the gauges.
    /// Returns whether a notification stopped at its budget with events still due.
    @discardableResult
    func tick(_ session: Session, now: Date) async throws -> Bool {
        let db = SerialSession(session)
        let until = ContinuousClock.now.advanced(by: Self.tickBudget)
        let targets = try await db.run { try await Outbox.targets($0) }.filter { $0.stalled == nil }
        let more = try await withThrowingTaskGroup(of: Bool.self) { group in
            for target in targets { group.addTask { try await self.deliver(target, db, now: now, until: until) } }
            return try await group.reduce(false) { $0 || $1 }
        }
        metrics.setNotifications(try await db.run { try await Outbox.reports($0) })
        return more
    }

    /// How long one tick delivers a notification's events before it goes on.
    static let tickBudget: Duration = .seconds(1)

    /// Delivers a notification's due events in order; true when it stopped at the budget with events left.
    private func deliver(_ target: Outbox.Target, _ db: SerialSession, now: Date, until: ContinuousClock.Instant) async throws -> Bool {
        let deliveries = try await db.run { try await Outbox.due(target.name, now: now, $0) }
        guard let first = deliveries.first else { return false }
        let receiver: NotificationDelivery.Receiver
        do {
            let secret = try SecretFile.named(target.secret ?? "", in: secretsDirectory, object: "Notification/\(target.name)", field: "secret")
            receiver = NotificationDelivery.Receiver(name: target.name, type: target.type, address: target.address, secret: secret,
                                                     page: page)
        } catch {
            try await failed(first, "\(error)", stall: false, db, now: now)
            return false
        }
        for (i, d) in deliveries.enumerated() {
            // Shutdown is honoured between deliveries: one under way is sent and recorded whole
            // (a task of its own, which cancellation does not reach), so a receiver that accepted
            // an event is never sent it again by the next leader.
            if Task.isCancelled { return false }
            if ContinuousClock.now > until { return i < deliveries.count }
            let delivered = try await Task { try await deliver(d, to: receiver, db, now: now) }.value
            if !delivered { return false }
        }
        // A full batch: more may wait behind it.
        return deliveries.count == Outbox.dueLimit
    }

    /// Sends one event and records the outcome; false when the events after it must wait.
    private func deliver(_ d: Outbox.Delivery, to receiver: NotificationDelivery.Receiver, _ db: SerialSession, now: Date) async throws -> Bool {
        let event = NotificationDelivery.Event(id: String(d.id), event: d.event, object: d.object, tenant: d.tenant,
                                               revision: d.revision, message: d.message, time: d.at, detail: d.detail)
        let outcome: NotificationDelivery.Outcome
        do {
            if let request = try NotificationDelivery.request(event, to: receiver) {
                outcome = await NotificationDelivery.send(request)
            } else {
                outcome = .skipped
            }
        } catch {
            outcome = .retry("\(error)")
        }
        switch outcome {
        case .sent, .skipped:
            try await db.run { try await Outbox.markSent(d, $0) }
            if outcome == .sent { metrics.notificationSent(receiver.name) }
            if d.attempts > 0 {
                logger.info("notification delivered after failed attempts", metadata: [
                    "notification": "\(receiver.name)", "event": "\(d.event.rawValue)", "object": "\(d.object)",
                    "attempts": .stringConvertible(d.attempts + 1)])
            }
            return true
        case .retry(let error):
            try await failed(d, error, stall: false, db, now: now)
            return false
        case .refused(let error):
            try await failed(d, error, stall: true, db, now: now)
            return false
        }
    }

    private func failed(_ d: Outbox.Delivery, _ error: String, stall: Bool, _ db: SerialSession, now: Date) async throws {
        let delay = Self.retry.delay(attempt: d.attempts + 1)
        try await db.run { try await Outbox.markFailed(d, error: error, retryAt: now.addingTimeInterval(delay.seconds), stall: stall, $0) }
        metrics.notificationFailed(d.notification)
        if stall {
            logger.error("notification stalled: its receiver refused the delivery; nothing more is sent until the Notification's manifest changes",
                         metadata: ["notification": "\(d.notification)", "event": "\(d.event.rawValue)", "object": "\(d.object)",
                                    "error": "\(error)"])
        } else {
            logger.warning("notification not delivered; retrying with backoff, the events after it wait", metadata: [
                "notification": "\(d.notification)", "event": "\(d.event.rawValue)", "object": "\(d.object)", "error": "\(error)",
                "attempts": .stringConvertible(d.attempts + 1), "retryInSeconds": .seconds(delay)])
        }
    }
}

/// One database session shared by tasks that must not interleave their
/// statements (a transaction is several): each `run` has the session to
/// itself until it returns, in the order asked.
final class SerialSession: Sendable {
    private let session: Session
    private let state = Mutex<(busy: Bool, waiting: [CheckedContinuation<Void, Never>])>((false, []))

    init(_ session: Session) { self.session = session }

    func run<T: Sendable>(_ body: @Sendable (Session) async throws -> T) async throws -> T {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let now = state.withLock { s -> Bool in
                if s.busy { s.waiting.append(c); return false }
                s.busy = true
                return true
            }
            if now { c.resume() }
        }
        defer {
            let next = state.withLock { s -> CheckedContinuation<Void, Never>? in
                if s.waiting.isEmpty { s.busy = false; return nil }
                return s.waiting.removeFirst()
            }
            next?.resume()
        }
        return try await body(session)
    }
}
