import Foundation

/// A generated platform for fault tests: a retention policy `std`, a signed
/// model `m`, and `tenants` tenants `t0`… (or another `prefix`) each with
/// ten workers, one file per tenant; worker `wn` has `replicas + n` replicas.
public enum GeneratedPlatform {
    public static func files(tenants: Int, prefix: String = "t", replicas: Int = 0) -> [String: String] {
        var files = [
            "policy.yaml": "apiVersion: accord.dev/v1\nkind: RetentionPolicy\nmetadata: {name: std}\nspec:\n  rules: [{store: traces, maxAge: 90d}]\n",
            "model.yaml": """
                apiVersion: accord.dev/v1
                kind: Model
                metadata: {name: m}
                spec:
                  versions: [{version: "1", artifact: s3://m/1, digest: "sha256:\(String(repeating: "a", count: 64))",
                              signature: "\(ExampleKeys.signModelDigest("sha256:" + String(repeating: "a", count: 64)))"}]
                  production: "1"

                """,
        ]
        for t in 0..<tenants { files["tenants/\(prefix)\(t).yaml"] = tenant("\(prefix)\(t)", replicas: replicas) }
        return files
    }

    /// One tenant's file: the tenant and its ten workers `w0`…`w9`.
    public static func tenant(_ name: String, replicas: Int = 0) -> String {
        var text = "apiVersion: accord.dev/v1\nkind: Tenant\nmetadata: {name: \(name)}\nspec: {displayName: \(name.uppercased()), plan: pro, region: eu, gdpr: {retentionPolicy: std}}\n"
        for w in 0..<10 {
            text += "---\napiVersion: accord.dev/v1\nkind: Worker\nmetadata: {name: w\(w), tenant: \(name)}\nspec: {role: r, model: m, replicas: \(replicas + w)}\n"
        }
        return text
    }
}
