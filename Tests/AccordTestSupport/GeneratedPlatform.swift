import Foundation

/// A generated platform for fault tests: a retention policy `std`, a signed
/// model `m`, and `tenants` tenants `t0`… (or another `prefix`) each with
/// ten workers, one file per tenant; worker `wn` has `replicas + n` replicas.
/// With `ownSchemaEvery: n`, every n-th tenant in apply order (names by
/// their bytes: t0, t1, t10, t100, …) has a schema of its own; with 10,
/// tenant transactions hold 200 tenants each (20 with a schema is the most
/// one takes, `ExecutionOrder.schemaTenantsPerBatch`), so 450 tenants are
/// three transactions, as fault tests need.
public enum GeneratedPlatform {
    public static func files(tenants: Int, prefix: String = "t", replicas: Int = 0, ownSchemaEvery: Int? = nil) -> [String: String] {
        let names = (0..<tenants).map { "\(prefix)\($0)" }.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
        let ownSchema = Set(ownSchemaEvery.map { every in names.enumerated().filter { $0.offset % every == 0 }.map(\.element) } ?? [])
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
        for name in names { files["tenants/\(name).yaml"] = tenant(name, replicas: replicas, ownSchema: ownSchema.contains(name)) }
        return files
    }

    /// One tenant's file: the tenant and its ten workers `w0`…`w9`.
    public static func tenant(_ name: String, replicas: Int = 0, ownSchema: Bool = false) -> String {
        let isolation = ownSchema ? " isolation: schema," : ""
        var text = "apiVersion: accord.dev/v1\nkind: Tenant\nmetadata: {name: \(name)}\nspec: {displayName: \(name.uppercased()), plan: pro,\(isolation) region: eu, gdpr: {retentionPolicy: std}}\n"
        for w in 0..<10 {
            text += "---\napiVersion: accord.dev/v1\nkind: Worker\nmetadata: {name: w\(w), tenant: \(name)}\nspec: {role: r, model: m, replicas: \(replicas + w)}\n"
        }
        return text
    }
}
