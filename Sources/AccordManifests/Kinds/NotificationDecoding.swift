import AccordCore

extension Decoding {
    mutating func notificationSpec(_ node: YAMLNode) -> NotificationSpec? {
        guard let f = fields(node, "spec", allowed: ["type", "address", "secret", "events", "tenants", "kinds"],
                             required: ["type", "secret"], owner: "a Notification spec") else { return nil }
        let before = diagnostics.count
        let type = f["type"].flatMap { oneOf($0, "spec.type", NotificationSpec.NotificationType.self) }
        var address: String?
        if let type {
            switch (type, f["address"]) {
            case (.slack, let n?):
                error(node.keyNode("address") ?? n, "spec.address",
                      "not allowed for slack: an incoming-webhook URL carries its token, so it goes in the file spec.secret names")
            case (.webhook, nil), (.github, nil):
                error(node, "spec", "missing required field \"address\" (\(type == .github ? "the repository's API URL, https://api.github.com/repos/OWNER/REPO" : "the receiver's URL"))")
            case (_, let n?):
                if let s = string(n, "spec.address") {
                    if let problem = NotificationAddress.problem(s, type: type) {
                        error(n, "spec.address", "\(Decoding.show(s, limit: 120)) \(problem)")
                    } else {
                        address = s
                    }
                }
            case (.slack, nil):
                break
            }
        }
        let secret = f["secret"].flatMap {
            string($0, "spec.secret", matching: Patterns.isPlainFileName,
                   rule: "a plain file name under ACCORD_SECRETS_DIR (letters, digits, '.', '_' and '-', not starting with '.' or '-'; no directories)")
        }
        if type == .github {
            for field in ["events", "tenants", "kinds"] {
                if let n = f[field] {
                    error(node.keyNode(field) ?? n, "spec.\(field)",
                          "not allowed for github: a github notification sets the commit status accord/apply on each applied commit, for every object")
                }
            }
        }
        var events: [NotificationEvent]?
        if type != .github, let n = f["events"] { events = notificationEvents(n) }
        var tenants: [String]?
        if type != .github, let n = f["tenants"], let items = list(n, "spec.tenants", nonEmpty: true) {
            var out: [String] = []
            for (i, item) in items.enumerated() {
                guard let name = objectName(item, "spec.tenants[\(i)]") else { continue }
                if out.contains(name) { error(item, "spec.tenants[\(i)]", "\(Decoding.show(name)) is listed twice"); continue }
                out.append(name)
            }
            tenants = out
        }
        var kinds: [Kind]?
        if type != .github, let n = f["kinds"], let items = list(n, "spec.kinds", nonEmpty: true) {
            var out: [Kind] = []
            for (i, item) in items.enumerated() {
                guard let kind = oneOf(item, "spec.kinds[\(i)]", Kind.self) else { continue }
                if out.contains(kind) { error(item, "spec.kinds[\(i)]", "\(Decoding.show(kind.rawValue)) is listed twice"); continue }
                out.append(kind)
            }
            kinds = out
        }
        guard diagnostics.count == before, let type, let secret else { return nil }
        var spec = NotificationSpec(type: type, address: address, secret: secret)
        spec.events = events
        spec.tenants = tenants
        spec.kinds = kinds
        return spec
    }

    /// `spec.events`: distinct names from SPEC §11's list.
    private mutating func notificationEvents(_ node: YAMLNode) -> [NotificationEvent]? {
        guard let items = list(node, "spec.events", nonEmpty: true) else { return nil }
        var out: [NotificationEvent] = []
        for (i, item) in items.enumerated() {
            let path = "spec.events[\(i)]"
            guard let s = string(item, path) else { continue }
            guard let event = NotificationEvent(rawValue: s), !event.isApply else {
                let known = NotificationEvent.subscribable.map(\.rawValue)
                let near = known.first { $0.lowercased() == s.lowercased() }
                error(item, path, "\(Decoding.show(s)) is not an event\(near.map { " (did you mean \($0)?)" } ?? ""); the events are \(Text.list(known))")
                continue
            }
            if out.contains(event) { error(item, path, "\(Decoding.show(s)) is listed twice"); continue }
            out.append(event)
        }
        return out
    }
}

/// The shape of a notification's address by type.
enum NotificationAddress {
    static func problem(_ s: String, type: NotificationSpec.NotificationType) -> String? {
        guard let scheme = ["https://", "http://"].first(where: { s.hasPrefix($0) }), Patterns.isURI(s) else {
            return type == .github ? "is not a repository's API URL (https://api.github.com/repos/OWNER/REPO)" : "is not an http(s):// URL"
        }
        let rest = s.dropFirst(scheme.count)
        let authority = rest.prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        if authority.contains("@") { return "holds credentials; put them in the file spec.secret names" }
        if rest.contains("#") { return "must not have a fragment" }
        guard let (host, _) = StoreEndpoint.hostAndPort(String(authority)) else { return "has no valid host (and port from 1 to 65535)" }
        guard type == .github else { return nil }
        if scheme == "http://", !["127.0.0.1", "localhost", "::1"].contains(host) {
            return "is plain http; the token goes to GitHub only over https (http is allowed for a loopback stand-in)"
        }
        if rest.contains("?") { return "must not have a query; it is a repository's API URL (https://api.github.com/repos/OWNER/REPO)" }
        let path = rest.dropFirst(authority.count).split(separator: "/", omittingEmptySubsequences: false)
        // "", …, "repos", OWNER, REPO — GitHub Enterprise puts /api/v3 before /repos.
        guard path.count >= 4, path[path.count - 3] == "repos",
              [path[path.count - 2], path[path.count - 1]].allSatisfy({ part in
                  !part.isEmpty && part.utf8.allSatisfy { $0 < 128 && (Character(Unicode.Scalar($0)).isLetter || Character(Unicode.Scalar($0)).isNumber || "-_.".utf8.contains($0)) }
              })
        else {
            return "is not a repository's API URL: it must end in /repos/OWNER/REPO (https://api.github.com/repos/OWNER/REPO, or https://HOST/api/v3/repos/OWNER/REPO for GitHub Enterprise)"
        }
        return nil
    }
}
