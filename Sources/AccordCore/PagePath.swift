import Foundation

/// Where the controller's status page shows things: an object's page is
/// `/objects/KIND/[TENANT/]NAME`, each part percent-encoded on its own, so
/// that any name (one written past the manifests' rules too) is one path
/// segment. The status page links with it, and so do notifications.
public enum PagePath {
    /// One path segment: everything but unreserved characters percent-encoded.
    public static func part(_ s: String) -> String {
        s.addingPercentEncoding(withAllowedCharacters: unreserved) ?? s
    }

    public static func object(_ id: ObjectID) -> String {
        object(parts: [id.kind.rawValue] + (id.tenant.map { [$0] } ?? []) + [id.name])
    }

    /// The page of an object given as the parts of its identity.
    public static func object(parts: [String]) -> String {
        "/objects/" + parts.map(part).joined(separator: "/")
    }

    private static let unreserved = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "-._~"))
}
