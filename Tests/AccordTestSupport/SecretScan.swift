import AccordStore
import Foundation

/// The secrets the test runs use, and a scan of any output for them: the
/// key-encryption keys (raw, hex, base64), the private signing keys (PEM
/// body, raw seed), the webhook secret, the store servers' credentials, and
/// the database password. Every
/// accordctl and controller output of the suite goes through it, and so do
/// the status API's answers and what the fault tests leave in
/// `accord.object_status` and the audit log.
public enum SecretScan {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static func base64(_ bytes: [UInt8]) -> String { Data(bytes).base64EncodedString() }
    static func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }

    /// Text that must never appear, by what it is.
    public static let secrets: [(what: String, text: String)] = {
        var out: [(String, String)] = []
        let testKEK: [UInt8] = (0..<32).map { UInt8(($0 * 37 + 11) % 256) }
        out.append(("the test KEK (base64)", base64(testKEK)))
        out.append(("the test KEK (hex)", hex(testKEK)))
        if let demo = try? String(contentsOf: root.appendingPathComponent("examples/keys/kek.b64"), encoding: .utf8) {
            out.append(("the demo KEK", demo.trimmingCharacters(in: .whitespacesAndNewlines)))
        }
        for key in ["controller-signing.pem", "model-signing.pem"] {
            guard let pem = try? String(contentsOf: root.appendingPathComponent("examples/keys/\(key)"), encoding: .utf8) else { continue }
            let body = pem.split(separator: "\n").filter { !$0.hasPrefix("-----") }.joined()
            out.append(("the private key \(key) (PEM body)", body))
            if let der = Data(base64Encoded: body), der.count >= 48 {
                let seed = Array(der[16..<48])
                out.append(("the private key \(key) (seed, base64)", base64(seed)))
                out.append(("the private key \(key) (seed, hex)", hex(seed)))
            }
        }
        out.append(("the test webhook secret", "hook-secret-for-e2e"))
        out.append(("the test git token", gitToken))
        out.append(("the git token of the configuration tests", "ghp_not-a-real-token-4d1c"))
        out.append(("the test API token", "tok-0123456789abcdef-for-tests"))
        out.append(("the least-privileged role's scram password", "lp-scram-7c41e0b9d2a6f3"))
        // The store servers' credentials (hack/start-stores): the whole
        // secret and each part long enough to be one (not a user name).
        for kind in TestStores.Kind.allCases {
            guard let secret = try? TestStores.server(kind).secret, !secret.isEmpty else { continue }
            out.append(("the \(kind.rawValue) credentials", secret))
            for part in secret.split(separator: ":") where part.count >= distinctivePassword && String(part) != secret {
                out.append(("a part of the \(kind.rawValue) credentials", String(part)))
            }
        }
        return out
    }()

    /// The git token (`ACCORD_GIT_PASSWORD_FILE`) every in-process
    /// controller of the suite is configured with.
    public static let gitToken = "git-token-for-e2e-5f1c9a7d"

    /// Database passwords at least this long are looked for anywhere in
    /// the output (hack/start-postgres makes a random one of 30
    /// characters); shorter ones, which may well occur as ordinary words,
    /// only as `:password@` in a URL.
    public static let distinctivePassword = 12

    /// What leaked into `output`, by name; `passwords` are database
    /// passwords.
    public static func leaks(_ output: String, passwords: [String] = []) -> [String] {
        var found = secrets.filter { output.contains($0.text) }.map(\.what)
        for p in Set(passwords) where !p.isEmpty {
            if p.count >= distinctivePassword, output.contains(p) {
                found.append("the database password")
            } else if output.contains(":\(p)@") {
                found.append("a database password in a URL")
            }
        }
        return found
    }

    /// What leaked into the messages Accord stores for people to read: the
    /// failures in `accord.object_status` and the audit log's entries.
    public static func storedLeaks(_ session: Session, passwords: [String] = []) async throws -> [String] {
        var found: [String] = []
        if try await session.scalar("SELECT to_regclass('accord.object_status')::text") != nil {
            for row in try await session.rows("SELECT kind || '/' || tenant || '/' || name, reason || ': ' || message FROM accord.object_status") {
                let (object, message) = try row.decode((String, String).self)
                found += leaks(message, passwords: passwords).map { "\($0) in the status of \(object)" }
            }
        }
        if try await session.scalar("SELECT to_regclass('accord.erasure_store_jobs')::text") != nil {
            for row in try await session.rows("""
                SELECT 'job ' || tenant || '/' || name || ' in ' || store, coalesce(last_error, '') || ' ' || endpoint FROM accord.erasure_store_jobs
                UNION ALL SELECT 'health of ' || store, message FROM accord.store_health
                """) {
                let (what, message) = try row.decode((String, String).self)
                found += leaks(message, passwords: passwords).map { "\($0) in the \(what)" }
            }
        }
        if try await session.scalar("SELECT to_regclass('accord.audit_log')::text") != nil {
            for row in try await session.rows("SELECT seq::text, body FROM accord.audit_log") {
                let (seq, body) = try row.decode((String, String).self)
                found += leaks(body, passwords: passwords).map { "\($0) in audit entry \(seq)" }
            }
        }
        return found
    }

    /// How many rows `storedLeaks` reads.
    public static func storedMessages(_ session: Session) async throws -> Int {
        guard try await session.scalar("SELECT to_regclass('accord.audit_log')::text") != nil else { return 0 }
        return Int(try await session.scalar("SELECT ((SELECT count(*) FROM accord.object_status) + (SELECT count(*) FROM accord.audit_log))::text") ?? "0") ?? 0
    }

    /// The password of a postgres:// URL, if it has one.
    public static func password(of url: String?) -> String? {
        guard let url, let components = URLComponents(string: url) else { return nil }
        return components.password
    }
}
