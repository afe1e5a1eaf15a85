import Foundation

/// A generated platform for fault tests: a retention policy `std`, a signed
/// model `m`, and `tenants` tenants `t0`… each with ten workers, one file
/// per tenant.
public enum GeneratedPlatform {
    public static func files(tenants: Int) -> [String: String] {
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
        for t in 0..<tenants {
            var text = "apiVersion: accord.dev/v1\nkind: Tenant\nmetadata: {name: t\(t)}\nspec: {displayName: T\(t), plan: pro, region: eu, gdpr: {retentionPolicy: std}}\n"
            for w in 0..<10 {
                text += "---\napiVersion: accord.dev/v1\nkind: Worker\nmetadata: {name: w\(w), tenant: t\(t)}\nspec: {role: r, model: m, replicas: \(w)}\n"
            }
            files["tenants/t\(t).yaml"] = text
        }
        return files
    }
}
