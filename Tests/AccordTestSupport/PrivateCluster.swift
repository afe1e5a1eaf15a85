import AccordStore
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A PostgreSQL cluster of a test's own (`hack/start-postgres` in a fresh
/// state directory), for faults that must not touch the shared test
/// database: crash-restarting the server.
public final class PrivateCluster: Sendable {
    public let url: String
    let directory: String
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    public struct Failure: Error, CustomStringConvertible { public let description: String }

    init(url: String, directory: String) {
        self.url = url
        self.directory = directory
    }

    /// `environment` adds `hack/start-postgres`'s settings: TLS
    /// (`ACCORD_PG_SSL_CERT`, …), `ACCORD_PG_HBA`, `ACCORD_PG_DURABLE`.
    public static func start(_ environment: [String: String] = [:]) throws -> PrivateCluster {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("accord-pg-private-\(UUID().uuidString.prefix(8))").path
        let out = try run(root.appendingPathComponent("hack/start-postgres").path, [],
                          env: environment.merging(["ACCORD_PG_DIR": directory]) { $1 })
        guard let line = out.split(separator: "\n").first(where: { $0.hasPrefix("export DATABASE_URL=") }) else {
            throw Failure(description: "hack/start-postgres printed no DATABASE_URL: \(out)")
        }
        return PrivateCluster(url: String(line.dropFirst("export DATABASE_URL=".count)), directory: directory)
    }

    /// `pg_ctl restart -m immediate`: the server stops as if it crashed
    /// (no checkpoint, every connection cut) and recovers from its WAL.
    public func restartImmediately() throws {
        let pgCtl = "/usr/lib/postgresql/15/bin/pg_ctl"
        let args = ["-D", directory + "/data", "-m", "immediate", "-w", "-l", directory + "/postgres.log", "restart"]
        if getuid() == 0 {
            _ = try Self.run("/usr/sbin/runuser", ["-u", "postgres", "--", pgCtl] + args, cwd: "/")
        } else {
            _ = try Self.run(pgCtl, args, cwd: "/")
        }
    }

    /// `pg_ctl stop -m immediate` (the server gone, every connection cut),
    /// keeping the data directory; `startServer` brings it back.
    public func stopServer() throws { try pgCtl(["-m", "immediate", "stop"]) }

    public func startServer() throws { try pgCtl(["start"]) }

    private func pgCtl(_ command: [String]) throws {
        let pgCtl = "/usr/lib/postgresql/15/bin/pg_ctl"
        let args = ["-D", directory + "/data", "-w", "-l", directory + "/postgres.log"] + command
        if getuid() == 0 {
            _ = try Self.run("/usr/sbin/runuser", ["-u", "postgres", "--", pgCtl] + args, cwd: "/")
        } else {
            _ = try Self.run(pgCtl, args, cwd: "/")
        }
    }

    public func session<T: Sendable>(_ body: (Session) async throws -> T) async throws -> T {
        try await Database.withConnection(try DatabaseURL(url)) { try await body(Session($0)) }
    }

    /// TLS material made by `hack/make-test-certs` in a fresh directory.
    public static func certificates(san: String = "DNS:localhost", client: String? = nil) throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("accord-certs-\(UUID().uuidString.prefix(8))")
        try run(root.appendingPathComponent("hack/make-test-certs").path, [dir.path, "--san", san] + (client.map { ["--client", $0] } ?? []))
        return dir
    }

    /// Runs SQL as the cluster's superuser (psql over its loopback port, trusted for `postgres`).
    public func superuser(_ sql: String, database: String = "postgres") throws {
        let url = try DatabaseURL(self.url)
        try Self.run("/usr/lib/postgresql/15/bin/psql", ["-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", String(url.port),
                                                         "-U", "postgres", "-d", database, "-c", sql])
    }

    public func stop() {
        _ = try? Self.run(Self.root.appendingPathComponent("hack/stop-postgres").path, [], env: ["ACCORD_PG_DIR": directory])
    }

    /// Runs a command through `system(3)`, its output in temporary files:
    /// the server it may start keeps running after the command exits, and
    /// only a plain waitpid on the command itself is reliable then.
    @discardableResult
    static func run(_ path: String, _ args: [String], env: [String: String] = [:], cwd: String? = nil) throws -> String {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("accord-run-\(UUID().uuidString)").path
        defer {
            try? FileManager.default.removeItem(atPath: base + ".out")
            try? FileManager.default.removeItem(atPath: base + ".err")
        }
        func quote(_ s: String) -> String { "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'" }
        var command = env.map { "\($0.key)=\(quote($0.value))" }.sorted().joined(separator: " ")
        command += " " + ([path] + args).map(quote).joined(separator: " ")
        command += " </dev/null >\(quote(base + ".out")) 2>\(quote(base + ".err"))"
        if let cwd { command = "cd \(quote(cwd)) && " + command }
        let status = system(command)
        let out = (try? String(contentsOfFile: base + ".out", encoding: .utf8)) ?? ""
        guard status == 0 else {
            let err = (try? String(contentsOfFile: base + ".err", encoding: .utf8)) ?? ""
            throw Failure(description: "\(path) \(args.joined(separator: " ")) failed (status \(status)): \(err)")
        }
        return out
    }
}
