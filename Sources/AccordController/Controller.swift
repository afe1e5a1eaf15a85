import AccordStore
import Foundation
import Logging
import ServiceLifecycle

/// One controller replica, as a `Service`: it connects to the database,
/// stands by until it holds the leader lock, then reconciles until it loses
/// the lock or shuts down. Graceful shutdown (SIGTERM, SIGINT) lets the
/// transaction in hand commit, stops the pass there (every object whole),
/// releases the lock and returns.
public struct Controller: Service {
    public let config: ControllerConfig
    public let state: ControllerState
    public let metrics: ControllerMetrics
    public let doorbell: Doorbell
    let logger: Logger

    public init(config: ControllerConfig, state: ControllerState, metrics: ControllerMetrics, doorbell: Doorbell, logger: Logger) {
        self.config = config
        self.state = state
        self.metrics = metrics
        self.doorbell = doorbell
        self.logger = logger
    }

    struct LeadershipLost: Error, CustomStringConvertible {
        var description: String { "the leader lock's database connection no longer holds the lock" }
    }

    public func run() async throws {
        let doorbell = self.doorbell
        await withGracefulShutdownHandler {
            await campaign()
        } onGracefulShutdown: {
            doorbell.shutdown()
        }
        await config.regions?.close()
        await config.readRegions?.close()
        logger.info("stopped")
    }

    /// Connects (again, with backoff, after the connection is lost) and serves.
    func campaign() async {
        let reconciler = Reconciler(config: config, state: state, metrics: metrics, doorbell: doorbell, logger: logger)
        var store = logger
        store.logLevel = max(logger.logLevel, .info)
        let storeLogger = store
        let backoff = Backoff(min: config.leaderPoll, max: .seconds(30))
        var failures = 0
        while !doorbell.isShuttingDown && !Task.isCancelled {
            do {
                try await Database.withConnection(config.databaseURL, logger: storeLogger) { connection in
                    failures = 0
                    try await serve(Session(connection, logger: storeLogger), reconciler)
                }
            } catch where doorbell.isShuttingDown || Task.isCancelled {
                logger.info("stopping", metadata: ["while": "\(error)"])
                break
            } catch {
                failures += 1
                metrics.setLeader(false)
                await state.become(.starting)
                await state.failed(String(describing: error))
                let delay = backoff.delay(attempt: failures)
                logger.error("database connection failed; trying again", metadata: [
                    "error": "\(error)", "retryInSeconds": .seconds(delay)])
                _ = await doorbell.wait(for: delay)
            }
        }
    }

    /// Stands by for the leader lock, then leads while it holds it.
    func serve(_ session: Session, _ reconciler: Reconciler) async throws {
        await state.become(.standby)
        logger.info("standby: waiting for the leader lock")
        while !(try await LeaderLock.tryAcquire(session)) {
            if doorbell.isShuttingDown || Task.isCancelled { return }
            // A webhook that reached this standby is passed on to the leader.
            if await doorbell.wait(for: config.leaderPoll).contains(.webhook), !doorbell.isShuttingDown {
                try await LeaderLock.requestFetch(session)
                logger.info("standby: webhook passed on to the leader")
            }
        }
        await state.become(.leader)
        metrics.setLeader(true)
        logger.info("leader: holding the leader lock")
        do {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { await reconciler.lead() }
                group.addTask { try await holdLease(session) }
                let doorbell = self.doorbell, logger = self.logger
                group.addTask {
                    // Webhooks a standby received. Ends with the connection (the lease notices
                    // that); until the group is cancelled this task must not end the leadership.
                    do {
                        try await LeaderLock.fetchRequests(session) {
                            logger.info("webhook passed on by a standby: fetching now")
                            doorbell.ring(.webhook)
                        }
                    } catch where !Task.isCancelled {
                        logger.warning("cannot listen for webhooks passed on by standbys; they wait for the next poll",
                                       metadata: ["error": "\(error)"])
                    }
                    while !Task.isCancelled { try await Task.sleep(for: .seconds(3600)) }
                }
                let drift = reconciler.drift
                group.addTask {
                    // Writes made outside Accord, reverted as they are heard. Without this
                    // listener they wait for the resync; it never ends the leadership.
                    do {
                        try await DriftNotices.listen(session, listening: { count in
                            drift.listening(since: count)
                            logger.debug("listening for writes made outside Accord", metadata: ["outsideWrites": .number(Int(count))])
                        }) { notice in
                            drift.add(notice)
                            doorbell.ring(.drift)
                        }
                    } catch where !Task.isCancelled {
                        logger.warning("cannot listen for writes made outside Accord; drift waits for the resync",
                                       metadata: ["error": "\(error)"])
                    }
                    drift.stopped()
                    while !Task.isCancelled { try await Task.sleep(for: .seconds(3600)) }
                }
                let sender = NotificationSender(databaseURL: config.databaseURL, secretsDirectory: config.secretsDirectory,
                                                page: config.externalURL, metrics: metrics, logger: logger, bell: reconciler.outbox)
                group.addTask {
                    // The outbox, delivered while this replica leads (on a connection of its own).
                    await sender.run()
                    while !Task.isCancelled { try await Task.sleep(for: .seconds(3600)) }
                }
                try await group.next()
                group.cancelAll()
            }
        } catch {
            metrics.setLeader(false)
            logger.error("leadership lost; standing by", metadata: ["error": "\(error)"])
            throw error
        }
        try? await LeaderLock.release(session)
        metrics.setLeader(false)
        await state.become(.standby)
        logger.info("released the leader lock")
    }

    /// Checks every `leaderPoll` that the lock is still held; throws when
    /// not, or when its connection is gone.
    func holdLease(_ session: Session) async throws {
        while true {
            try await Task.sleep(for: config.leaderPoll)
            guard try await LeaderLock.isHeld(session) else { throw LeadershipLost() }
            logger.trace("the leader lock is held")
        }
    }
}
