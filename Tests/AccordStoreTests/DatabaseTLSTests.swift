@testable import AccordStore
import AccordTestSupport
import Foundation
import Testing

/// `sslmode` against real servers (SPEC §13): a throwaway cluster serving
/// TLS with a certificate for `localhost` made by `hack/make-test-certs`
/// (and a `cert`-authenticated role for client certificates), and the
/// shared test cluster, which serves none.
@Suite(TestDatabase.required, .timeLimit(.minutes(3)))
struct DatabaseTLSTests {
    /// Whether the session is encrypted, from the server's side.
    static func encrypted(_ url: DatabaseURL) async throws -> Bool {
        try await Database.withConnection(url) { connection in
            try await Session(connection).scalar("SELECT ssl::text FROM pg_stat_ssl WHERE pid = pg_backend_pid()") == "true"
        }
    }

    static func refusal(_ url: DatabaseURL) async -> String? {
        do {
            _ = try await Database.serverVersion(url)
            return nil
        } catch {
            return String(describing: error)
        }
    }

    @Test func everySSLModeWithLibpqsMeaning() async throws {
        let certs = try PrivateCluster.certificates(san: "DNS:localhost", client: "certuser")
        defer { try? FileManager.default.removeItem(at: certs) }
        let cluster = try PrivateCluster.start([
            "ACCORD_PG_SSL_CERT": certs.appendingPathComponent("server.crt").path,
            "ACCORD_PG_SSL_KEY": certs.appendingPathComponent("server.key").path,
            "ACCORD_PG_SSL_CA": certs.appendingPathComponent("ca.crt").path,
            "ACCORD_PG_HBA": "hostssl all certuser 127.0.0.1/32 cert\nhostssl all certuser ::1/128 cert",
        ])
        defer { cluster.stop() }
        try cluster.superuser("CREATE ROLE certuser LOGIN")
        let base = try DatabaseURL(cluster.url)
        let ca = certs.appendingPathComponent("ca.crt").path, other = certs.appendingPathComponent("other-ca.crt").path
        func url(_ host: String, _ query: String, user: String? = nil) throws -> DatabaseURL {
            let who = user ?? "\(base.username):\(base.password ?? "")"
            return try DatabaseURL("postgres://\(who)@\(host):\(base.port)/\(base.database)?\(query)", environment: ["HOME": certs.path])
        }

        // Encrypted or not, as asked.
        #expect(try await Self.encrypted(try url("127.0.0.1", "sslmode=disable")) == false)
        #expect(try await Self.encrypted(try url("127.0.0.1", "sslmode=prefer")) == true)
        #expect(try await Self.encrypted(try url("127.0.0.1", "sslmode=require")) == true, "require checks no certificate")
        #expect(try await Self.encrypted(try url("127.0.0.1", "sslmode=verify-ca&sslrootcert=\(ca)")) == true, "verify-ca checks no name")
        #expect(try await Self.encrypted(try url("localhost", "sslmode=verify-full&sslrootcert=\(ca)")) == true)

        // verify-full: another root, or a name the certificate is not for, is refused, naming host and reason.
        let otherRoot = await Self.refusal(try url("localhost", "sslmode=verify-full&sslrootcert=\(other)"))
        #expect(otherRoot?.contains("cannot reach database postgres://accord:***@localhost:\(base.port)/accord") == true, "\(otherRoot ?? "connected")")
        #expect(otherRoot?.contains("the server's certificate does not chain to sslrootcert \"\(other)\" (sslmode=verify-full)") == true,
                "\(otherRoot ?? "connected")")
        let otherName = await Self.refusal(try url("127.0.0.1", "sslmode=verify-full&sslrootcert=\(ca)"))
        #expect(otherName?.contains("the server's certificate is not for 127.0.0.1 (sslmode=verify-full checks the name)") == true,
                "\(otherName ?? "connected")")
        let otherRootCA = await Self.refusal(try url("127.0.0.1", "sslmode=verify-ca&sslrootcert=\(other)"))
        #expect(otherRootCA?.contains("does not chain to sslrootcert") == true, "\(otherRootCA ?? "connected")")
        // require with a root certificate checks the chain, as libpq does.
        let requireOther = await Self.refusal(try url("127.0.0.1", "sslmode=require&sslrootcert=\(other)"))
        #expect(requireOther?.contains("does not chain to sslrootcert") == true, "\(requireOther ?? "connected")")
        for refusal in [otherRoot, otherName, otherRootCA, requireOther] {
            #expect(refusal.map { !$0.contains(base.password ?? "-") } == true, "never the password")
        }

        // A client certificate: the cert-authenticated role gets in with it and only with it.
        let client = "sslcert=\(certs.appendingPathComponent("client.crt").path)&sslkey=\(certs.appendingPathComponent("client.key").path)"
        #expect(try await Self.encrypted(try url("localhost", "sslmode=verify-full&sslrootcert=\(ca)&\(client)", user: "certuser")) == true)
        let noCertificate = await Self.refusal(try url("localhost", "sslmode=verify-full&sslrootcert=\(ca)", user: "certuser"))
        #expect(noCertificate?.contains("certificate") == true, "\(noCertificate ?? "connected")")
    }

    @Test func requireAgainstAServerWithoutTLSIsRefused() async throws {
        let plain = try TestDatabase.url()
        let url = try DatabaseURL("postgres://\(plain.username):\(plain.password ?? "")@\(plain.host):\(plain.port)/\(plain.database)?sslmode=require",
                                  environment: [:])
        let refusal = await Self.refusal(url)
        #expect(refusal == "cannot reach database \(url.redacted): the server does not accept TLS, and sslmode=require requires it")
        // prefer (the default) falls back to plain text there.
        let prefer = try DatabaseURL("postgres://\(plain.username):\(plain.password ?? "")@\(plain.host):\(plain.port)/\(plain.database)",
                                     environment: [:])
        #expect(prefer.tls.mode == .prefer)
        #expect(try await Self.encrypted(prefer) == false)
    }
}
