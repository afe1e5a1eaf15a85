import AccordCore
import AccordEngine
import Foundation
import PostgresNIO

/// Each external store's part of an erasure (SPEC §8), as a durable job in
/// `accord.erasure_store_jobs`: `pending → erasing → verifying →
/// verified`, or `failed` with the error, the attempts and the next
/// attempt (and the state it goes on from). Every change of a job is one
/// statement, so jobs of different stores can move concurrently on one
/// connection; a crash at any point leaves the job where it was, and the
/// next pass resumes it (every step is idempotent).
public enum StoreJobs {
    public enum State: String, Sendable, CaseIterable {
        case pending, erasing, verifying, verified, failed
    }

    public struct Job: Sendable, Hashable {
        public let tenant: String
        public let erasure: String
        public let store: String
        public let storeType: String
        public let endpoint: String
        public let subject: String
        public let state: State
        /// The state a failed job goes on from.
        public let retryState: State?
        public let requestID: String
        /// Deleted per `holds` entry, recorded once, before the first delete.
        public let deleted: [String: Int]
        public let remaining: [String: Int]?
        public let attempts: Int
        public let nextAttemptAt: Date?
        public let lastError: String?
        public let verifiedAt: Date?

        public var erasureID: ObjectID { ObjectID(kind: .erasure, tenant: tenant, name: erasure) }
        /// The state the job is in, or goes on from when it failed.
        public var current: State { state == .failed ? (retryState ?? .pending) : state }
    }

    static let columns = """
        j.tenant, j.name, j.store, j.store_type, j.endpoint, e.subject_email_hash, j.state, j.retry_state, j.request_id,
        j.deleted::text, j.remaining::text, j.attempts, extract(epoch FROM j.next_attempt_at)::float8, j.last_error,
        extract(epoch FROM j.verified_at)::float8
        """

    /// The jobs of the given erasures (all of them when nil).
    public static func jobs(of erasures: [ObjectID]? = nil, _ session: Session) async throws -> [Job] {
        let keys = erasures.map { ids in JSONValue(strings: ids.map { "\($0.tenant ?? "")/\($0.name)" }).canonical }
        return try await session.rows("""
            SELECT \(columns)
            FROM accord.erasure_store_jobs j JOIN platform.erasures e ON e.tenant = j.tenant AND e.name = j.name
            WHERE $1::json IS NULL OR j.tenant || '/' || j.name IN (SELECT json_array_elements_text($1::json))
            ORDER BY j.tenant, j.name, j.store
            """, [keys]).map(job)
    }

    static func job(_ row: PostgresRow) throws -> Job {
        let c = row.makeRandomAccess()
        func counts(_ text: String?) -> [String: Int]? {
            guard let text, case .object(let fields)? = try? JSONParser.parse(text) else { return nil }
            return fields.compactMapValues { $0.numberValue.map { Int($0) } }
        }
        return Job(
            tenant: try c[0].decode(String.self), erasure: try c[1].decode(String.self), store: try c[2].decode(String.self),
            storeType: try c[3].decode(String.self), endpoint: try c[4].decode(String.self), subject: try c[5].decode(String.self),
            state: State(rawValue: try c[6].decode(String.self)) ?? .pending,
            retryState: try c[7].decode(String?.self).flatMap(State.init(rawValue:)),
            requestID: try c[8].decode(String.self), deleted: counts(try c[9].decode(String.self)) ?? [:],
            remaining: counts(try c[10].decode(String?.self)), attempts: try c[11].decode(Int.self),
            nextAttemptAt: try c[12].decode(Double?.self).map { Date(timeIntervalSince1970: $0) },
            lastError: try c[13].decode(String?.self),
            verifiedAt: try c[14].decode(Double?.self).map { Date(timeIntervalSince1970: $0) })
    }

    /// Moves a job to `state` (clearing its error), recording the counts
    /// deleted once (the first record wins: a retry never changes them).
    public static func advance(_ job: Job, to state: State, deleted: [String: Int]? = nil, remaining: [String: Int]? = nil,
                               at now: Date, _ session: Session) async throws {
        try await session.execute("""
            UPDATE accord.erasure_store_jobs SET state = $4, retry_state = NULL, last_error = NULL, next_attempt_at = NULL,
                deleted = CASE WHEN deleted = '{}'::jsonb AND $5::jsonb IS NOT NULL THEN $5::jsonb ELSE deleted END,
                remaining = coalesce($6::jsonb, remaining),
                verified_at = CASE WHEN $4 = 'verified' THEN to_timestamp($7::float8) ELSE verified_at END,
                updated_at = now()
            WHERE tenant = $1 AND name = $2 AND store = $3
            """, [job.tenant, job.erasure, job.store, state.rawValue, deleted.map(countsJSON), remaining.map(countsJSON),
                  String(now.timeIntervalSince1970)])
    }

    /// Marks a job failed: the error, one more attempt, the next one at
    /// `next`, going on from `resume`.
    public static func fail(_ job: Job, resume: State, error: String, next: Date, remaining: [String: Int]? = nil,
                            _ session: Session) async throws {
        try await session.execute("""
            UPDATE accord.erasure_store_jobs SET state = 'failed', retry_state = $4, last_error = $5, attempts = attempts + 1,
                next_attempt_at = to_timestamp($6::float8), remaining = coalesce($7::jsonb, remaining), updated_at = now()
            WHERE tenant = $1 AND name = $2 AND store = $3
            """, [job.tenant, job.erasure, job.store, resume.rawValue, error, String(next.timeIntervalSince1970),
                  remaining.map(countsJSON)])
    }

    static func countsJSON(_ counts: [String: Int]) -> String {
        JSONValue.object(counts.mapValues { JSONValue($0) }).canonical
    }

    /// Backoff of a store's job after its n-th failed attempt: 15 s doubling, at most 15 min.
    public static func backoff(afterAttempts n: Int) -> TimeInterval {
        min(900, 15 * pow(2, Double(max(0, n - 1))))
    }

    /// Open jobs per store and state, for the metrics.
    public static func counts(_ session: Session) async throws -> [(store: String, state: String, jobs: Int)] {
        try await session.rows("""
            SELECT j.store, j.state, count(*)::int FROM accord.erasure_store_jobs j
            WHERE NOT EXISTS (SELECT 1 FROM accord.erasure_certificates c WHERE c.tenant = j.tenant AND c.name = j.name)
            GROUP BY j.store, j.state ORDER BY 1, 2
            """).map { try $0.decode((String, String, Int).self) }
    }
}
