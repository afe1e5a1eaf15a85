import AccordCore
import AccordManifests
import Foundation

/// Builds a manifest set from in-memory files: path → YAML text.
func load(_ files: [String: String]) -> ManifestSet {
    ManifestSet.load(files.map { SourceFile(path: $0.key, content: .bytes(Array($0.value.utf8))) })
}

func messages(_ set: ManifestSet) -> [String] { set.diagnostics.map(\.description) }

/// The package root, found from this file's place.
let packageRoot: URL = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

let tenantYAML = """
    apiVersion: accord.dev/v1
    kind: Tenant
    metadata:
      name: acme
    spec:
      displayName: Acme
      plan: pro
      region: eu

    """

let modelYAML = """
    apiVersion: accord.dev/v1
    kind: Model
    metadata:
      name: drafter
    spec:
      versions:
        - version: "1"
          artifact: s3://models/drafter/1
          digest: sha256:\(String(repeating: "a", count: 64))
      production: "1"

    """

func workerYAML(_ name: String, tenant: String = "acme", model: String = "drafter") -> String {
    """
    apiVersion: accord.dev/v1
    kind: Worker
    metadata:
      name: \(name)
      tenant: \(tenant)
    spec:
      role: writer
      model: \(model)

    """
}
