import Foundation

/// The secrets the test runs use, and a scan of any output for them: the
/// key-encryption keys (raw, hex, base64), the private signing keys (PEM
/// body, raw seed), the webhook secret, and a database password in a URL.
/// Every accordctl and controller output of the suite goes through it.
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
        return out
    }()

    /// What leaked into `output`, by name; `passwords` are database
    /// passwords, looked for as `:password@` in URLs.
    public static func leaks(_ output: String, passwords: [String] = []) -> [String] {
        var found = secrets.filter { output.contains($0.text) }.map(\.what)
        for p in passwords where !p.isEmpty && output.contains(":\(p)@") {
            found.append("a database password in a URL")
        }
        return found
    }

    /// The password of a postgres:// URL, if it has one.
    public static func password(of url: String?) -> String? {
        guard let url, let components = URLComponents(string: url) else { return nil }
        return components.password
    }
}
