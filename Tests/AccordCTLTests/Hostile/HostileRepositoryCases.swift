import Foundation

/// Hostile repositories for `accordctl diff` and `apply` against a live
/// database. `outside` is a directory outside the repository holding a
/// manifest (Tenant/outsider) and a secret marker.
extension HostileRepository {
    static let secret = "TOPSECRET-7f3a9c"

    static func tenant(_ name: String, _ extra: String = "") -> String {
        "apiVersion: accord.dev/v1\nkind: Tenant\nmetadata:\n  name: \(name)\n\(extra)spec: {displayName: X, plan: pro, region: eu}\n"
    }

    static func laughs() -> String {
        var text = "l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
        for level in 1...9 { text += "l\(level): &l\(level) [" + Array(repeating: "*l\(level - 1)", count: 10).joined(separator: ", ") + "]\n" }
        return text
    }

    static func cases(outside: String) -> [HostileRepository] {
        let big = String(repeating: "x", count: 1 << 20)
        let rules = Array(repeating: "{field: context.a, operator: eq, value: *big}", count: 3_000).joined(separator: ", ")
        let hugeFile = tenant("huge") + "# " + String(repeating: "p", count: 4 * 1024 * 1024) + "\n"
        return [
            HostileRepository("billion laughs", file: "bomb.yaml", laughs(),
                              expected: ["bomb.yaml:5:45: YAML aliases expand to more than 100000 nodes"]),
            HostileRepository("a 1 MiB string aliased 3,000 times in a workflow", file: "workflows/bomb.yaml",
                              "apiVersion: accord.dev/v1\nkind: Workflow\nmetadata: {name: bomb, tenant: acme-corp}\nspec:\n  trigger: {manual: true}\n  steps:\n"
                                + "    - {name: a, worker: risk-analyst, when: [{field: context.b, operator: eq, value: &big \"\(big)\"}, \(rules)]}\n",
                              expected: ["workflows/bomb.yaml:7:", "YAML aliases expand to more than 4194304 bytes of text"]),
            HostileRepository("a file over 4 MiB", file: "tenants/huge.yaml", hugeFile,
                              expected: ["tenants/huge.yaml:1:1: file is \(hugeFile.utf8.count) bytes; the limit is 4194304 bytes (4 MiB)"]),
            HostileRepository("bytes that are not UTF-8", files: ["tenants/latin1.yaml": Data(tenant("latin").utf8) + Data([0x23, 0x20, 0x63, 0x61, 0x66, 0xE9, 0x0A])],
                              expected: ["tenants/latin1.yaml:6:6: not valid UTF-8 (byte 0xE9"]),
            HostileRepository("a NUL in a display name", file: "tenants/nul.yaml", tenant("nul").replacingOccurrences(of: "displayName: X", with: "displayName: \"A\\0B\""),
                              expected: ["tenants/nul.yaml:5:21: a value holds a NUL character"]),
            HostileRepository("SQL in a tenant name", file: "tenants/sql.yaml", tenant("\"x'; DROP TABLE platform.tenants; --\""),
                              expected: ["tenants/sql.yaml:4:9: metadata.name: \"x'; DROP TABLE platform.tenants; --\" is not a DNS-1123 label"]),
            HostileRepository("SQL in a worker's tenant reference", file: "workers/sql.yaml",
                              "apiVersion: accord.dev/v1\nkind: Worker\nmetadata: {name: w, tenant: \"acme-corp' OR '1'='1\"}\nspec: {role: r, model: support-drafter}\n",
                              expected: ["workers/sql.yaml:3:29: metadata.tenant: \"acme-corp' OR '1'='1\" is not a DNS-1123 label"]),
            HostileRepository("a Cyrillic look-alike of an existing tenant", file: "tenants/homoglyph.yaml", tenant("\"\\u0430cme-corp\""),
                              expected: ["tenants/homoglyph.yaml:4:9: metadata.name: \"аcme-corp\" is not a DNS-1123 label: character 1 is U+0430 CYRILLIC SMALL LETTER A"]),
            HostileRepository("a right-to-left override in a label", file: "tenants/rtl.yaml", tenant("rtl", "  labels: {team: \"\\u202Eevil\"}\n"),
                              expected: ["tenants/rtl.yaml:5:18: metadata.labels.team: contains a control character"], forbidden: ["\u{202E}"]),
            HostileRepository("a symbolic link to /etc/passwd", links: ["passwd.yaml": "/etc/passwd"],
                              expected: ["passwd.yaml:1:1: is a symbolic link; Accord does not follow symbolic links"], forbidden: ["/etc/passwd", "root:"]),
            HostileRepository("a symbolic link to a manifest outside the repository", links: ["tenants/outsider.yaml": outside + "/secret.yaml"],
                              expected: ["tenants/outsider.yaml:1:1: is a symbolic link"], forbidden: [outside, secret, "outsider\""]),
            HostileRepository("a symbolic link climbing out with ..", links: ["tenants/up.yaml": "../../../../../../../etc/hostname"],
                              expected: ["tenants/up.yaml:1:1: is a symbolic link"], forbidden: ["etc/hostname"]),
            HostileRepository("a symbolic link to itself", links: ["loop.yaml": "loop.yaml"], expected: ["loop.yaml:1:1: is a symbolic link"]),
            HostileRepository("two symbolic links to each other", links: ["a.yml": "b.yml", "b.yml": "a.yml"],
                              expected: ["a.yml:1:1: is a symbolic link", "b.yml:1:1: is a symbolic link"]),
            HostileRepository("a dangling symbolic link", links: ["gone.yaml": "nowhere/never.yaml"],
                              expected: ["gone.yaml:1:1: is a symbolic link"], forbidden: ["nowhere"]),
            HostileRepository("a symbolic link to a directory outside: skipped, never followed", links: ["imported": outside + "/dir"],
                              status: 0, expected: ["0 to create, 0 to update, 0 to delete"], forbidden: [outside, "outsider", secret]),
            HostileRepository("a valid new tenant beside an invalid file: nothing applied", files: [
                "tenants/fresh.yaml": Data(tenant("fresh").utf8),
                "tenants/broken.yaml": Data(tenant("broken").replacingOccurrences(of: "plan: pro", with: "plan: gold").utf8),
            ], expected: ["tenants/broken.yaml:5:", "spec.plan: must be one of starter, pro or enterprise; got \"gold\"", "nothing was planned or applied"]),
            HostileRepository("an identity defined twice", file: "tenants/again.yaml", tenant("acme-corp"),
                              expected: ["duplicate Tenant/acme-corp; first defined at tenants/"]),
            HostileRepository("a raw e-mail address in an Erasure", file: "erasures/raw.yaml",
                              "apiVersion: accord.dev/v1\nkind: Erasure\nmetadata: {name: raw, tenant: acme-corp}\nspec: {subjectEmailHash: jane.doe@example.com, requestedAt: \"2026-11-18T09:00:00Z\", legalBasis: gdpr-art17}\n",
                              expected: ["erasures/raw.yaml:4:26: spec.subjectEmailHash: holds a raw e-mail address"], forbidden: ["jane.doe@example.com"]),
            HostileRepository("nesting 100 levels deep", file: "deep.yaml", "spec: " + String(repeating: "[", count: 100) + String(repeating: "]", count: 100) + "\n",
                              expected: ["deep.yaml:1:70: nesting deeper than 64 levels"]),
            HostileRepository("a !!python/object tag", file: "tenants/tag.yaml", "--- !!python/object:os.system\n" + tenant("tag"),
                              expected: ["tenants/tag.yaml:1:5: unsupported tag \"tag:yaml.org,2002:python/object:os.system\" on a mapping"]),
            HostileRepository("a merge key", file: "tenants/merge.yaml", tenant("merge").replacingOccurrences(of: "{displayName: X,", with: "{<<: {displayName: X},"),
                              expected: ["tenants/merge.yaml:5:8: spec.<<: merge keys (<<) are not part of YAML 1.2"]),
            HostileRepository("a file name with a terminal escape and a newline", file: "tenants/evil\u{1B}[2J\nname.yaml", tenant("Evil"),
                              expected: ["tenants/evil\\u{1B}[2J\\u{A}name.yaml:4:9: metadata.name: \"Evil\" is not a DNS-1123 label"], forbidden: ["\u{1B}"]),
            HostileRepository("a byte order mark and CRLF line endings", files: ["tenants/crlf.yaml": Data([0xEF, 0xBB, 0xBF]) + Data(tenant("Crlf").replacingOccurrences(of: "\n", with: "\r\n").utf8)],
                              expected: ["tenants/crlf.yaml:4:9: metadata.name: \"Crlf\" is not a DNS-1123 label"]),
            HostileRepository("--path climbing out of the repository", arguments: ["--path", "../.."], expected: ["--path must be a directory inside the repository, not \"../..\""]),
            HostileRepository("--path that is absolute", arguments: ["--path", "/etc"], expected: ["--path must be a directory inside the repository, not \"/etc\""]),
            HostileRepository("--path climbing out after a real directory", arguments: ["--path", "tenants/../../x"],
                              expected: ["--path must be a directory inside the repository, not \"tenants/../../x\""]),
            HostileRepository("--path naming a symbolic link to a directory outside", links: ["linked": outside + "/dir"], arguments: ["--path", "linked"],
                              expected: ["read \"linked\": not a directory at commit"], forbidden: [outside]),
            HostileRepository("--worktree with --path through a symbolic link", links: ["linked": outside + "/dir"], arguments: ["--worktree", "--path", "linked/."],
                              expected: ["\"linked\" is a symbolic link; Accord does not follow symbolic links"], forbidden: [outside]),
            HostileRepository("--path that does not exist", arguments: ["--path", "nope"], expected: ["read \"nope\": no such directory at commit"]),
        ]
    }
}
