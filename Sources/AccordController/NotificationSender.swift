import AccordConnectors
import AccordCore
import AccordStore
import Foundation
import Logging

/// Delivers the outbox (SPEC §11) while this replica leads. Each
/// notification's events go out in the order they were written: the first
/// one not delivered holds back the ones after it, so a receiver that is
/// down gets everything, in order, once it is back. A failed delivery is
/// retried with backoff (1 s doubling to `maxRetryDelay`); a receiver that
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
    static let maxRetryDelay: TimeInterval = 60

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
        while !Task.isCancelled {
            do {
                try await Database.withConnection(databaseURL, logger: logger) { connection in
                    let session = Session(connection, logger: logger)
                    failures = 0
                    while !Task.isCancelled {
                        if try await Migrations.currentVersion(session) >= 16 {
                            try await tick(session, now: Date())
                            if Date().timeIntervalSince(lastForget) > 3600 {
                                lastForget = Date()
                                try await Outbox.forgetSent(now: lastForget, session)
                            }
                        }
                        _ = await bell.wait(for: poll)
                    }
                }
            } catch where Task.isCancelled {
                return
            } catch {
                failures += 1
                let delay = min(30.0, pow(2, Double(failures - 1)))
                logger.warning("notifications: the outbox cannot be read; trying again", metadata: [
                    "error": "\(error)", "retryInSeconds": .stringConvertible(delay)])
                try? await Task.sleep(for: .seconds(delay))
            }
        }
    }

    /// Delivers what is due of every notification that is not stalled, then updates the gauges.
    func tick(_ session: Session, now: Date) async throws {
        for target in try await Outbox.targets(session) where target.stalled == nil {
            try await deliver(target, session, now: now)
        }
        metrics.setNotifications(try await Outbox.reports(session))
    }

    private func deliver(_ target: Outbox.Target, _ session: Session, now: Date) async throws {
        let deliveries = try await Outbox.due(target.name, now: now, session)
        guard let first = deliveries.first else { return }
        let receiver: NotificationDelivery.Receiver
        do {
            let secret = try SecretFile.named(target.secret ?? "", in: secretsDirectory, object: "Notification/\(target.name)", field: "secret")
            receiver = NotificationDelivery.Receiver(name: target.name, type: target.type, address: target.address, secret: secret,
                                                     page: page)
        } catch {
            try await failed(first, "\(error)", stall: false, session, now: now)
            return
        }
        for d in deliveries {
            // Shutdown is honoured between deliveries: one under way is sent and recorded whole
            // (a task of its own, which cancellation does not reach), so a receiver that accepted
            // an event is never sent it again by the next leader.
            if Task.isCancelled { return }
            let delivered = try await Task { try await deliver(d, to: receiver, session, now: now) }.value
            if !delivered { return }
        }
    }

    /// Sends one event and records the outcome; false when the events after it must wait.
    private func deliver(_ d: Outbox.Delivery, to receiver: NotificationDelivery.Receiver, _ session: Session, now: Date) async throws -> Bool {
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
            try await Outbox.markSent(d, session)
            if outcome == .sent { metrics.notificationSent(receiver.name) }
            if d.attempts > 0 {
                logger.info("notification delivered after failed attempts", metadata: [
                    "notification": "\(receiver.name)", "event": "\(d.event.rawValue)", "object": "\(d.object)",
                    "attempts": .stringConvertible(d.attempts + 1)])
            }
            return true
        case .retry(let error):
            try await failed(d, error, stall: false, session, now: now)
            return false
        case .refused(let error):
            try await failed(d, error, stall: true, session, now: now)
            return false
        }
    }

    private func failed(_ d: Outbox.Delivery, _ error: String, stall: Bool, _ session: Session, now: Date) async throws {
        let delay = Self.retryDelay(afterAttempts: d.attempts + 1)
        try await Outbox.markFailed(d, error: error, retryAt: now.addingTimeInterval(delay), stall: stall, session)
        metrics.notificationFailed(d.notification)
        if stall {
            logger.error("notification stalled: its receiver refused the delivery; nothing more is sent until the Notification's manifest changes",
                         metadata: ["notification": "\(d.notification)", "event": "\(d.event.rawValue)", "object": "\(d.object)",
                                    "error": "\(error)"])
        } else {
            logger.warning("notification not delivered; retrying with backoff, the events after it wait", metadata: [
                "notification": "\(d.notification)", "event": "\(d.event.rawValue)", "object": "\(d.object)", "error": "\(error)",
                "attempts": .stringConvertible(d.attempts + 1), "retryInSeconds": .stringConvertible(delay)])
        }
    }

    /// 1 s after the first failure, doubling, at most `maxRetryDelay`.
    static func retryDelay(afterAttempts n: Int) -> TimeInterval {
        min(maxRetryDelay, pow(2, Double(max(0, n - 1))))
    }
}
