import AccordCore
import Foundation
import Logging
import PostgresNIO
import Synchronization

/// A region's database did not answer, or answered too late (SPEC §9):
/// only that region's tenants and erasures wait, retried with backoff.
public struct RegionUnavailable: Error, CustomStringConvertible, Sendable {
    public let region: Region
    public let reason: String

    public init(region: Region, reason: String) {
        self.region = region
        self.reason = reason
    }

    public var description: String { "region \(region.rawValue)'s database is unavailable: \(reason)" }
}

/// The databases of a regions file (SPEC §9): the control database (the
/// session a pass runs on) and one database per region, where each
/// tenant's stores, data keys and the deletions of its data live.
///
/// Each region has at most one connection, opened when first needed and
/// kept while it works (a pass uses a region's connection one statement
/// at a time, under the apply lock). Every use is bounded: connecting by
/// the URL's `connect_timeout` and the file's `timeout` together, every
/// transaction by the file's `timeout` — a database that accepts the
/// connection and never answers is cut off (its connection closed), not
/// waited on. A region that fails is reported `RegionUnavailable`, and the
/// next use connects again. Migrations run on a region's database the
/// first time this process connects to it, unless the databases were
/// opened for reading only (`diff`, `status`).
public final class RegionDatabases: Sendable {
    public let file: RegionsFile
    public let control: DatabaseURL
    public let urls: [Region: DatabaseURL]
    /// Reads only: no migrations, and a region Accord never ran on reads as empty.
    public let readOnly: Bool
    let timeout: Duration

    /// What is known of one region's database.
    public struct Health: Sendable, Equatable {
        public var up: Bool
        /// Why it is down (nil when up).
        public var reason: String?
        public var checkedAt: Date

        public init(up: Bool, reason: String? = nil, checkedAt: Date) {
            self.up = up
            self.reason = reason
            self.checkedAt = checkedAt
        }
    }

    private struct State {
        var sessions: [Region: Session] = [:]
        var health: [Region: Health] = [:]
        var migrated: Set<Region> = []
        /// Regions found down, and until when they are not tried again.
        var resting: [Region: (until: Date, reason: String)] = [:]
        /// Transactions committed in each region's database (`FaultPoint.regionCommitted`).
        var commits: [Region: Int] = [:]
    }

    /// How long a region found down is not tried again: a pass that needs
    /// it many times waits for it once, and a backend the server still
    /// runs for a connection cut off is not joined by another each time.
    static let rest: TimeInterval = 10

    private let state = Mutex(State())
    private let logger = Logger(label: "accord.regions")

    /// Reads every URL file the regions file names; every problem at once,
    /// each at the place in the regions file that names the file.
    public static func open(_ file: RegionsFile, readOnly: Bool = false,
                            environment: [String: String] = ProcessInfo.processInfo.environment) throws -> RegionDatabases {
        var diagnostics: [Diagnostic] = []
        func url(_ entry: RegionsFile.Entry, _ what: String) -> DatabaseURL? {
            do {
                return try DatabaseURL.fromFile(entry.urlFile, environment: environment)
            } catch {
                diagnostics.append(Diagnostic(entry.position, "\(what).databaseUrlFile: \(error)"))
                return nil
            }
        }
        let control = url(file.control, "control")
        var urls: [Region: DatabaseURL] = [:]
        for region in file.regionNames {
            if let u = url(file.regions[region]!, "regions.\(region.rawValue)") { urls[region] = u }
        }
        // Two regions on one database would mix their tenants' data: residency would mean nothing.
        var seen: [String: Region] = [:]
        for region in file.regionNames {
            guard let u = urls[region] else { continue }
            let key = "\(u.host.lowercased()):\(u.port)/\(u.database)"
            if let other = seen[key] {
                diagnostics.append(Diagnostic(file.regions[region]!.position,
                                              "regions.\(region.rawValue): the same database as region \(other.rawValue) (\(u.host):\(u.port)/\(u.database)); each region needs a database of its own"))
            } else {
                seen[key] = region
            }
        }
        guard diagnostics.isEmpty, let control else {
            throw SettingsFileError(what: "regions file", diagnostics: diagnostics.sorted())
        }
        return RegionDatabases(file: file, control: control, urls: urls, readOnly: readOnly)
    }

    init(file: RegionsFile, control: DatabaseURL, urls: [Region: DatabaseURL], readOnly: Bool) {
        self.file = file
        self.control = control
        self.urls = urls
        self.readOnly = readOnly
        self.timeout = .milliseconds(Int64(file.timeoutSeconds * 1000))
    }

    /// Every region with a database, in name order.
    public var regions: [Region] { file.regionNames }

    /// What is known of each region, as last used or checked.
    public var health: [Region: Health] { state.withLock { $0.health } }

    /// The session of a region's database, connected (and, unless read
    /// only, migrated) when needed.
    public func session(_ region: Region) async throws -> Session {
        if let open = state.withLock({ $0.sessions[region] }) {
            if !open.isLost, !open.connection.isClosed { return open }
            // Lost: closed before it is let go (a connection must be closed before it is freed).
            state.withLock { _ = $0.sessions.removeValue(forKey: region) }
            try? await open.connection.close()
        }
        guard let url = urls[region] else {
            throw RegionUnavailable(region: region, reason: "the regions file \(Text.quoted(file.file, limit: 200)) names no database for it")
        }
        if let resting = state.withLock({ $0.resting[region] }), resting.until > Date() {
            throw RegionUnavailable(region: region, reason: resting.reason)
        }
        let connection: PostgresConnection
        do {
            connection = try await Self.connect(url, within: timeout, logger: logger)
        } catch {
            throw markDown(region, reason(error))
        }
        let session = Session(connection, logger: logger)
        do {
            try await bounded(session) {
                // The server gives up where this process does: a statement cut off here does not run on there.
                try await session.execute("SELECT set_config('statement_timeout', $1, false)", [String(Int(file.timeoutSeconds * 1000))])
                if readOnly {
                    let version = try await Migrations.currentVersion(session)
                    guard version == Migrations.latest else {
                        throw RegionUnavailable(region: region, reason: version == 0
                            ? "Accord has not run on its database yet (an apply migrates it)"
                            : "its database's schema is at version \(version), not \(Migrations.latest) (an apply of this version migrates it)")
                    }
                } else if !state.withLock({ $0.migrated.contains(region) }) {
                    try await Migrations.run(session)
                    state.withLock { _ = $0.migrated.insert(region) }
                }
            }
        } catch {
            try? await connection.close()
            throw markDown(region, reason(error))
        }
        state.withLock { s in
            s.sessions[region] = session
            s.health[region] = Health(up: true, checkedAt: Date())
        }
        return session
    }

    /// Runs `body` in a transaction on a region's database, bounded by the
    /// file's timeout. A lost connection or no answer in time is
    /// `RegionUnavailable`; a statement the database refuses is rethrown
    /// as it is (`SQLFailure`).
    public func transaction<T: Sendable>(_ region: Region, _ body: (Session) async throws -> T) async throws -> T {
        let session = try await self.session(region)
        do {
            let value = try await bounded(session) { try await session.transaction { try await body(session) } }
            state.withLock { $0.health[region]?.checkedAt = Date() }
            return value
        } catch let failure as SQLFailure where !failure.isConnectionLost {
            throw failure
        } catch {
            throw markDown(region, reason(error))
        }
    }

    /// Reads from a region's database (no transaction), bounded like `transaction`.
    public func read<T: Sendable>(_ region: Region, _ body: (Session) async throws -> T) async throws -> T {
        let session = try await self.session(region)
        do {
            return try await bounded(session, body: { try await body(session) })
        } catch let failure as SQLFailure where !failure.isConnectionLost {
            throw failure
        } catch {
            throw markDown(region, reason(error))
        }
    }

    /// Connects to every region (what `/readyz`, `status` and the metrics
    /// show); the health of each.
    @discardableResult
    public func check() async -> [Region: Health] {
        for region in regions {
            _ = try? await read(region) { try await $0.execute("SELECT 1") }
        }
        return health
    }

    /// Counts a transaction committed in a region's database; how many so far.
    func committed(_ region: Region) -> Int {
        state.withLock { s in
            s.commits[region, default: 0] += 1
            return s.commits[region]!
        }
    }

    /// Closes every open connection.
    public func close() async {
        let open = state.withLock { s in
            defer { s.sessions = [:] }
            return Array(s.sessions.values)
        }
        for session in open { try? await session.connection.close() }
    }

    private func markDown(_ region: Region, _ why: String) -> RegionUnavailable {
        let stale = state.withLock { s in
            s.health[region] = Health(up: false, reason: why, checkedAt: Date())
            s.resting[region] = (Date().addingTimeInterval(Self.rest), why)
            return s.sessions.removeValue(forKey: region)
        }
        if let stale { Task { try? await stale.connection.close() } }
        logger.warning("region database unavailable", metadata: ["region": .string(region.rawValue), "reason": .string(why)])
        return RegionUnavailable(region: region, reason: why)
    }

    private func reason(_ error: any Error) -> String {
        if let unavailable = error as? RegionUnavailable { return unavailable.reason }
        if let unreachable = error as? Database.Unreachable { return unreachable.reason }
        if error is TimedOut { return "no answer within \(Self.seconds(timeout)) (the regions file's timeout)" }
        return String(describing: error)
    }

    static func seconds(_ d: Duration) -> String {
        let s = Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
        return s == s.rounded() ? "\(Int(s)) s" : "\(s) s"
    }

    struct TimedOut: Error {}

    /// Runs `body` on `session`; when it has not finished within the
    /// timeout, the connection is closed, which ends the statement in
    /// flight (`ConnectionWatch`), and `TimedOut` is thrown.
    private func bounded<T: Sendable>(_ session: Session, body: () async throws -> T) async throws -> T {
        let fired = Atomic<Bool>(false)
        let connection = session.connection
        let timer = Task { [timeout] in
            try await Task.sleep(for: timeout)
            fired.store(true, ordering: .sequentiallyConsistent)
            try? await connection.close()
        }
        defer { timer.cancel() }
        do {
            let value = try await body()
            if fired.load(ordering: .sequentiallyConsistent) { throw TimedOut() }
            return value
        } catch {
            if fired.load(ordering: .sequentiallyConsistent) { throw TimedOut() }
            throw error
        }
    }

    /// A connection, or `TimedOut` when the server has not completed the
    /// handshake within `timeout` (a connection that arrives later is closed).
    static func connect(_ url: DatabaseURL, within timeout: Duration, logger: Logger) async throws -> PostgresConnection {
        let outcome = Once()
        return try await withCheckedThrowingContinuation { continuation in
            outcome.set(continuation)
            Task {
                do {
                    let connection = try await Database.connect(url, logger: logger)
                    if let c = outcome.take() { c.resume(returning: connection) } else { try? await connection.close() }
                } catch {
                    outcome.take()?.resume(throwing: error)
                }
            }
            Task {
                try? await Task.sleep(for: timeout)
                outcome.take()?.resume(throwing: TimedOut())
            }
        }
    }

    /// A continuation resumed by whichever comes first.
    final class Once: Sendable {
        private let continuation = Mutex<CheckedContinuation<PostgresConnection, any Error>?>(nil)
        func set(_ c: CheckedContinuation<PostgresConnection, any Error>) { continuation.withLock { $0 = c } }
        func take() -> CheckedContinuation<PostgresConnection, any Error>? { continuation.withLock { $0.take() } }
    }
}

extension Session {
    /// Runs `data` on the database that holds a region's tenant data, then
    /// `control` on this (the control) database. Without a regions file
    /// they are one database and run in one transaction; with one, the
    /// region's transaction commits first and the control's follows, so a
    /// crash between them leaves the data written and the registry not —
    /// which the next pass plans again, and every data write is idempotent
    /// (docs/engine.md, "Regions").
    public func dataThenControl<D: Sendable, C: Sendable>(
        _ region: Region?, asApplier: Bool = false,
        data: (Session) async throws -> D, control: (D) async throws -> C
    ) async throws -> C {
        guard let regions, let region else {
            return try await transaction(asApplier: asApplier) { try await control(try await data(self)) }
        }
        let written = try await regions.transaction(region) { try await data($0) }
        FaultPoint.regionCommitted.reach("\(region.rawValue):\(regions.committed(region))")
        return try await transaction(asApplier: asApplier) { try await control(written) }
    }

    /// Reads from the database that holds a region's tenant data: this one
    /// without a regions file.
    public func readData<T: Sendable>(_ region: Region, _ body: (Session) async throws -> T) async throws -> T {
        guard let regions else { return try await body(self) }
        return try await regions.read(region) { try await body($0) }
    }
}

extension Session {
    /// `body` once for each region's share of `items`, on that region's
    /// data database (once, on this database, without a regions file).
    /// Items of a region that is unavailable, or that has no region, are
    /// returned apart with why; the other regions go on.
    public func perRegion<Item: Sendable, T: Sendable>(
        _ items: [Item], region: (Item) -> Region?, _ body: ([Item], Session) async throws -> T
    ) async throws -> (results: [T], unavailable: [(item: Item, reason: RegionUnavailable)]) {
        guard let regions else {
            return items.isEmpty ? ([], []) : ([try await body(items, self)], [])
        }
        var byRegion: [Region: [Item]] = [:]
        var order: [Region] = []
        var unavailable: [(item: Item, reason: RegionUnavailable)] = []
        for item in items {
            guard let r = region(item) else { continue }
            if byRegion[r] == nil { order.append(r) }
            byRegion[r, default: []].append(item)
        }
        var results: [T] = []
        for r in order {
            let share = byRegion[r]!
            do {
                results.append(try await regions.read(r) { try await body(share, $0) })
            } catch let down as RegionUnavailable {
                unavailable += share.map { ($0, down) }
            }
        }
        return (results, unavailable)
    }
}

extension RegionDatabases {
    /// Each tenant's region as the registry (the control database) has it.
    public static func tenantRegions(_ session: Session) async throws -> [String: String] {
        var out: [String: String] = [:]
        for row in try await session.rows("SELECT name, region FROM platform.tenants") {
            let (name, region) = try row.decode((String, String).self)
            out[name] = region
        }
        return out
    }
}
