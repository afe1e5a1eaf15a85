import AccordCore
import AccordManifests
import Foundation

/// Which commits Accord may apply (SPEC §10): a file outside the
/// repository (`--verify-file`, `ACCORD_VERIFY_FILE`).
///
/// ```yaml
/// mode: head            # off | head | strict
/// keys:
///   - {name: platform-team, ssh: "ssh-ed25519 AAAA… alice@example"}
///   - {name: release-bot,  openpgp: /etc/accord/release-bot.asc}
/// require:
///   - {kinds: [Erasure, Model], signers: [platform-team]}
/// since: 3f2a…          # strict, before the first apply: a commit already trusted; the commits after it are checked (default: all, from the root)
/// ```
///
/// A key's `name` is its group: several keys may share one, and `require`
/// names groups.
public struct VerificationPolicy: Sendable {
    public enum Mode: String, Sendable, CaseIterable {
        /// Nothing is verified.
        case off
        /// The commit to apply must be signed by a trusted key.
        case head
        /// Every commit since the last applied revision must be.
        case strict
    }

    public struct Key: Sendable {
        public enum Material: Sendable {
            case ssh(SSHPublicKey)
            case openpgp(path: String)
        }

        public let name: String
        public let material: Material
    }

    /// Changes to objects of `kinds` need a signer of one of `signers`.
    public struct Rule: Sendable {
        public let kinds: [Kind]
        public let signers: [String]
    }

    public let mode: Mode
    public let keys: [Key]
    public let require: [Rule]
    public let since: String?
    /// The file it was read from.
    public let file: String

    public init(mode: Mode, keys: [Key], require: [Rule] = [], since: String? = nil, file: String = "") {
        self.mode = mode
        self.keys = keys
        self.require = require
        self.since = since
        self.file = file
    }

    /// Every problem of a policy file, each at its place.
    public typealias Invalid = SettingsFileError

    /// Reads and checks a policy file; every error at once.
    public static func load(file path: String) throws -> VerificationPolicy {
        let root: YAMLNode
        switch SettingsFileReader.document(path, what: "verification policy") {
        case .success(let node): root = node
        case .failure(let error): throw error
        }
        var parser = PolicyParser(reader: SettingsFileReader(file: path))
        let policy = parser.policy(root, directory: URL(fileURLWithPath: path).deletingLastPathComponent().path)
        guard let policy, parser.reader.diagnostics.isEmpty else {
            throw SettingsFileError(what: "verification policy", diagnostics: parser.reader.diagnostics.sorted())
        }
        return policy
    }
}

/// The policy file's fields, each error at its node.
struct PolicyParser {
    var reader: SettingsFileReader
    var file: String { reader.file }

    mutating func error(_ node: YAMLNode, _ path: String, _ message: String) { reader.error(node, path, message) }
    mutating func mapping(_ node: YAMLNode, _ path: String, allowed: [String]) -> [String: YAMLNode]? {
        reader.mapping(node, path, allowed: allowed)
    }
    mutating func string(_ node: YAMLNode, _ path: String) -> String? { reader.string(node, path) }
    mutating func list(_ node: YAMLNode, _ path: String) -> [YAMLNode]? { reader.list(node, path) }

    mutating func policy(_ root: YAMLNode, directory: String) -> VerificationPolicy? {
        guard let fields = mapping(root, "", allowed: ["mode", "keys", "require", "since"]) else { return nil }
        var mode = VerificationPolicy.Mode.head
        if let node = fields["mode"], let text = string(node, "mode") {
            if let m = VerificationPolicy.Mode(rawValue: text) {
                mode = m
            } else {
                error(node, "mode", "must be off, head or strict; got \(Text.quoted(text, limit: 40))")
            }
        }
        var keys: [VerificationPolicy.Key] = []
        if let node = fields["keys"] {
            for (i, item) in (list(node, "keys") ?? []).enumerated() {
                let path = "keys[\(i)]"
                guard let f = mapping(item, path, allowed: ["name", "ssh", "openpgp"]) else { continue }
                guard let nameNode = f["name"] else {
                    error(item, path, "missing required field \"name\" (the group the key signs for)")
                    continue
                }
                guard let name = string(nameNode, "\(path).name") else { continue }
                switch (f["ssh"], f["openpgp"]) {
                case (let ssh?, nil):
                    guard let line = string(ssh, "\(path).ssh") else { continue }
                    do {
                        keys.append(.init(name: name, material: .ssh(try SSHPublicKey(line: line))))
                    } catch {
                        self.error(ssh, "\(path).ssh", "\(error)")
                    }
                case (nil, let pgp?):
                    guard let file = string(pgp, "\(path).openpgp") else { continue }
                    let full = file.hasPrefix("/") ? file : directory + "/" + file
                    guard FileManager.default.isReadableFile(atPath: full) else {
                        error(pgp, "\(path).openpgp", "cannot read \(Text.quoted(full))")
                        continue
                    }
                    keys.append(.init(name: name, material: .openpgp(path: full)))
                case (nil, nil):
                    error(item, path, "needs \"ssh\" (a public key line) or \"openpgp\" (an .asc file)")
                case (_?, _?):
                    error(item, path, "has both \"ssh\" and \"openpgp\"; one key per entry")
                }
            }
        }
        if mode != .off && keys.isEmpty && fields["keys"].map({ (list($0, "keys") ?? []).isEmpty }) ?? true {
            error(fields["keys"] ?? root, "keys", "mode \(mode.rawValue) needs at least one trusted key")
        }
        let groups = Set(keys.map(\.name))
        var rules: [VerificationPolicy.Rule] = []
        if let node = fields["require"] {
            for (i, item) in (list(node, "require") ?? []).enumerated() {
                let path = "require[\(i)]"
                guard let f = mapping(item, path, allowed: ["kinds", "signers"]) else { continue }
                var kinds: [Kind] = [], signers: [String] = []
                if let kindsNode = f["kinds"] {
                    for (j, k) in (list(kindsNode, "\(path).kinds") ?? []).enumerated() {
                        guard let text = string(k, "\(path).kinds[\(j)]") else { continue }
                        guard let kind = Kind(rawValue: text) else {
                            error(k, "\(path).kinds[\(j)]", "\(Text.quoted(text, limit: 40)) is not a kind; the kinds are \(Kind.allCases.sorted().map(\.rawValue).joined(separator: ", "))")
                            continue
                        }
                        kinds.append(kind)
                    }
                } else {
                    error(item, path, "missing required field \"kinds\"")
                }
                if let signersNode = f["signers"] {
                    for (j, s) in (list(signersNode, "\(path).signers") ?? []).enumerated() {
                        guard let name = string(s, "\(path).signers[\(j)]") else { continue }
                        guard groups.contains(name) else {
                            error(s, "\(path).signers[\(j)]", "no key is named \(Text.quoted(name, limit: 40))"
                                  + (groups.isEmpty ? "" : "; the keys are named \(groups.sorted().joined(separator: ", "))"))
                            continue
                        }
                        signers.append(name)
                    }
                } else {
                    error(item, path, "missing required field \"signers\"")
                }
                rules.append(.init(kinds: kinds, signers: signers))
            }
        }
        var since: String?
        if let node = fields["since"], let text = string(node, "since") {
            if text.count == 40, text.allSatisfy(\.isHexDigit) {
                since = text.lowercased()
            } else {
                error(node, "since", "must be a full commit id (40 hex digits); got \(Text.quoted(text, limit: 60))")
            }
        }
        return VerificationPolicy(mode: mode, keys: keys, require: rules, since: since, file: file)
    }
}
