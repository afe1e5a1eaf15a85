@testable import AccordStore
import AccordTestSupport
import Foundation
import Testing

/// The database URL on values and temporary files: libpq's parameters,
/// the password file, and the URL file.
@Suite struct DatabaseURLTests {
    static let none: [String: String] = ["HOME": "/nonexistent-home"]

    @Test func sslModesAndTheirDefaults() throws {
        #expect(try DatabaseURL("postgres://u:p@h/db", environment: Self.none).tls.mode == .prefer, "libpq's default")
        #expect(try DatabaseURL("postgres://u:p@h/db", environment: Self.none).redacted == "postgres://u:***@h/db")
        for mode in ["disable", "prefer", "require"] {
            #expect(try DatabaseURL("postgres://u:p@h/db?sslmode=\(mode)", environment: Self.none).tls.mode.rawValue == mode)
        }
        #expect(try DatabaseURL("postgres://u:p@h/db", environment: ["PGSSLMODE": "disable"]).tls.mode == .disable, "PGSSLMODE")
        #expect(try DatabaseURL("postgres://u:p@h/db?sslmode=require", environment: ["PGSSLMODE": "disable"]).tls.mode == .require,
                "the URL wins over the variable")
        let system = try DatabaseURL("postgres://u:p@h/db?sslmode=verify-full&sslrootcert=system", environment: Self.none)
        #expect(system.tls.systemRoots && system.tls.verifiesChain && system.tls.rootCertificate == nil)
        #expect(try DatabaseURL("postgres://u:p@h/db?sslmode=require", environment: Self.none).tls.verifiesChain == false)
        #expect(try DatabaseURL("postgres://u:p@h/db?sslmode=require&sslrootcert=system", environment: Self.none).tls.verifiesChain,
                "require with a root checks the chain, as libpq does")
        let url = try DatabaseURL("postgres://u:p@h/db?connect_timeout=1&application_name=accord-eu", environment: Self.none)
        #expect(url.connectTimeout == 2 && url.applicationName == "accord-eu", "libpq takes 1 second as 2")
        #expect(try DatabaseURL("postgres://u:p@h/db?connect_timeout=0", environment: Self.none).connectTimeout == nil)
    }

    @Test(arguments: [
        ("postgres://u:p@h/db?sslmode=allow", "invalid database URL: sslmode \"allow\" must be one of disable, prefer, require, verify-ca, verify-full (allow, TLS only when the server insists, is not supported: use prefer)"),
        ("postgres://u:p@h/db?sslmode=on", "invalid database URL: sslmode \"on\" must be one of disable, prefer, require, verify-ca, verify-full"),
        ("postgres://u:p@h/db?sslmod=require", "invalid database URL: unknown parameter \"sslmod\"; Accord reads sslmode, sslrootcert, sslcert, sslkey, passfile, connect_timeout, application_name"),
        ("postgres://u:p@h/db?password=x", "invalid database URL: unknown parameter \"password\"; Accord reads sslmode, sslrootcert, sslcert, sslkey, passfile, connect_timeout, application_name"),
        ("postgres://u:p@h/db?sslmode=require&sslmode=disable", "invalid database URL: sslmode is given twice"),
        ("postgres://u:p@h/db?sslmode=verify-full", "invalid database URL: sslmode=verify-full checks the server's certificate against a root certificate: set sslrootcert to a PEM file (or sslrootcert=system); /nonexistent-home/.postgresql/root.crt does not exist"),
        ("postgres://u:p@h/db?sslmode=verify-ca&sslrootcert=/no/such/root.crt", "invalid database URL: sslrootcert: cannot read \"/no/such/root.crt\""),
        ("postgres://u:p@h/db?sslcert=/c.crt", "invalid database URL: a client certificate needs both sslcert and sslkey"),
        ("postgres://u:p@h/db?connect_timeout=soon", "invalid database URL: connect_timeout must be a number of seconds from 0 to 3600, got \"soon\""),
        ("postgres://u@h/db?passfile=/no/such/pgpass", "invalid database URL: passfile: cannot read \"/no/such/pgpass\": No such file or directory"),
    ])
    func badParametersAreErrorsNamingThem(url: String, message: String) {
        let error = #expect(throws: DatabaseURL.ParseError.self) { try DatabaseURL(url, environment: Self.none) }
        #expect(error?.description == message)
    }

    @Test func aClientKeyOthersCanReadIsRefused() throws {
        let dir = try SecretFixture.directory("client-key")
        defer { try? FileManager.default.removeItem(at: dir) }
        let cert = dir.appendingPathComponent("c.crt"), key = dir.appendingPathComponent("c.key")
        try SecretFixture.write("certificate", to: cert, mode: 0o644)
        try SecretFixture.write("key", to: key, mode: 0o644)
        let text = "postgres://u@h/db?sslmode=require&sslcert=\(cert.path)&sslkey=\(key.path)"
        let error = #expect(throws: DatabaseURL.ParseError.self) { try DatabaseURL(text, environment: Self.none) }
        #expect(error?.description == "invalid database URL: sslkey: \"\(key.path)\" has mode 0644, readable or writable by its group or others; make it 0600 (chmod 600) or 0400")
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: key.path)
        let url = try DatabaseURL(text, environment: Self.none)
        #expect(url.tls.clientCertificate == cert.path && url.tls.clientKey == key.path)
    }

    @Test func aURLWithoutAPasswordTakesItFromThePasswordFile() throws {
        let dir = try SecretFixture.directory("pgpass")
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("pgpass")
        try SecretFixture.write("""
            # comments and lines that do not match are skipped
            db.example:5432:accord:accord:not-this-one
            other:*:*:*:nor-this
            h:5433:*:accord:pa\\:ss\\\\word
            *:*:*:accord:the-fallback
            """, to: file)
        func password(_ url: String, _ env: [String: String] = [:]) throws -> String? {
            try DatabaseURL(url, environment: Self.none.merging(env) { $1 }).password
        }
        #expect(try password("postgres://accord@h:5433/accord?passfile=\(file.path)") == "pa:ss\\word", "escapes")
        #expect(try password("postgres://accord@h:5432/accord?passfile=\(file.path)") == "the-fallback", "wildcards, first match")
        #expect(try password("postgres://accord@h:5433/accord", ["PGPASSFILE": file.path]) == "pa:ss\\word", "PGPASSFILE")
        #expect(try password("postgres://nobody@h/accord?passfile=\(file.path)") == nil, "no line for the user")
        #expect(try password("postgres://accord:in-url@h/accord?passfile=\(file.path)") == "in-url", "the URL's own password wins")
        // ~/.pgpass when nothing names a file.
        try FileManager.default.copyItem(at: file, to: dir.appendingPathComponent(".pgpass"))
        #expect(try DatabaseURL("postgres://accord@h:5433/accord", environment: ["HOME": dir.path]).password == "pa:ss\\word")

        try FileManager.default.setAttributes([.posixPermissions: 0o640], ofItemAtPath: file.path)
        let open = #expect(throws: DatabaseURL.ParseError.self) { try password("postgres://accord@h/accord?passfile=\(file.path)") }
        #expect(open?.description == "invalid database URL: passfile: \"\(file.path)\" has mode 0640, readable or writable by its group or others; make it 0600 (chmod 600) or 0400")
    }

    @Test func theURLFileIsASecretFileAndItsTextIsNeverRepeated() throws {
        let dir = try SecretFixture.directory("url-file")
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("database-url")
        try SecretFixture.write("postgres://accord:file-secret-pw@db.example:6432/accord?sslmode=require\n", to: file)
        let url = try DatabaseURL.fromFile(file.path, environment: Self.none)
        #expect(url.host == "db.example" && url.port == 6432 && url.password == "file-secret-pw" && url.tls.mode == .require)

        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: file.path)
        let open = #expect(throws: DatabaseURL.ParseError.self) { try DatabaseURL.fromFile(file.path, environment: Self.none) }
        #expect(open?.description == "invalid database URL: \"\(file.path)\" has mode 0644, readable or writable by its group or others; make it 0600 (chmod 600) or 0400")

        try SecretFixture.write("mysql://accord:file-secret-pw@db/accord\n", to: file)
        let bad = #expect(throws: DatabaseURL.ParseError.self) { try DatabaseURL.fromFile(file.path, environment: Self.none) }
        #expect(bad?.description == "invalid database URL: in \"\(file.path)\": scheme must be postgres:// or postgresql://, not mysql://")
        #expect(bad.map { !$0.description.contains("file-secret-pw") } == true)
    }

    @Test func parsesAndRedacts() throws {
        let url = try DatabaseURL("postgres://accord:s3cret@127.0.0.1:5433/platform")
        #expect(url.host == "127.0.0.1")
        #expect(url.port == 5433)
        #expect(url.username == "accord")
        #expect(url.password == "s3cret")
        #expect(url.database == "platform")
        #expect(url.description == "postgres://accord:***@127.0.0.1:5433/platform")
        #expect(!"\(url)".contains("s3cret"))
    }

    @Test func refusesOtherSchemes() {
        #expect(throws: DatabaseURL.ParseError.self) { try DatabaseURL("mysql://u:p@h/db") }
        #expect(throws: DatabaseURL.ParseError.self) { try DatabaseURL("not a url") }
    }

    @Test func unreachableDatabaseNamesTheURLWithoutItsPassword() async throws {
        let url = try DatabaseURL("postgres://accord:s3cret@127.0.0.1:1/accord")
        do {
            _ = try await Database.serverVersion(url)
            Issue.record("expected the connection to fail")
        } catch {
            let text = "\(error)"
            #expect(text == "cannot reach database postgres://accord:***@127.0.0.1:1/accord: cannot connect to 127.0.0.1:1: Connection refused",
                    "host, port and the system's reason, not an internal dump: \(text)")
            #expect(!text.contains("s3cret"))
        }
    }
}
