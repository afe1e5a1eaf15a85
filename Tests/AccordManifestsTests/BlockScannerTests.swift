@testable import AccordManifests
import CYaml
import Foundation
import Testing

/// `BlockScanner` reads a file only when its events are libyaml's: every
/// file it takes, libyaml reads without error into the same events (types,
/// positions, values, styles), and every file it leaves is read by libyaml
/// as before. Checked on generated manifests and on mutations of them.
@Suite struct BlockScannerTests {
    /// An event as the readers use it.
    struct Seen: Equatable, CustomStringConvertible {
        var type: UInt32
        var line: Int, column: Int
        var value: String?
        var style: UInt32
        var description: String { "\(type)@\(line):\(column)" + (value.map { " \($0.debugDescription) style \(style)" } ?? "") }
    }

    static func seen(_ event: yaml_event_t) -> Seen {
        var seen = Seen(type: event.type.rawValue, line: Int(event.start_mark.line), column: Int(event.start_mark.column), value: nil, style: 0)
        switch event.type {
        case YAML_SCALAR_EVENT:
            let s = event.data.scalar
            seen.value = String(decoding: UnsafeBufferPointer(start: s.value, count: s.length), as: UTF8.self)
            seen.style = s.style.rawValue
        case YAML_MAPPING_START_EVENT, YAML_SEQUENCE_START_EVENT:
            break
        default:
            // Where ends and document markers are reported is not read by anyone.
            seen.line = 0
            seen.column = 0
        }
        return seen
    }

    /// libyaml's events of `text`; nil at a syntax error, or at an anchor, alias or tag.
    static func libyaml(_ bytes: [UInt8]) -> [Seen]? {
        bytes.withUnsafeBufferPointer { buffer in
            var parser = yaml_parser_t()
            guard yaml_parser_initialize(&parser) == 1 else { return nil }
            defer { yaml_parser_delete(&parser) }
            yaml_parser_set_encoding(&parser, YAML_UTF8_ENCODING)
            yaml_parser_set_input_string(&parser, buffer.baseAddress, buffer.count)
            var out: [Seen] = []
            while true {
                var event = yaml_event_t()
                guard yaml_parser_parse(&parser, &event) == 1 else { return nil }
                defer { yaml_event_delete(&event) }
                switch event.type {
                case YAML_ALIAS_EVENT: return nil
                case YAML_SCALAR_EVENT where event.data.scalar.anchor != nil || event.data.scalar.tag != nil: return nil
                case YAML_MAPPING_START_EVENT where event.data.mapping_start.anchor != nil || event.data.mapping_start.tag != nil: return nil
                case YAML_SEQUENCE_START_EVENT where event.data.sequence_start.anchor != nil || event.data.sequence_start.tag != nil: return nil
                default: break
                }
                out.append(seen(event))
                if event.type == YAML_STREAM_END_EVENT { return out }
            }
        }
    }

    static func scanned(_ bytes: [UInt8]) -> [Seen]? {
        bytes.withUnsafeBufferPointer { buffer in BlockScanner.scan(buffer)?.map(seen) }
    }

    /// Checks one file; true when the scanner took it.
    @discardableResult
    static func check(_ text: String, _ context: @autoclosure () -> String) -> Bool {
        let bytes = Array(text.utf8)
        guard let scanned = scanned(bytes) else { return false }
        let expected = libyaml(bytes)
        #expect(expected != nil, "the scanner took a file libyaml refuses or reads with anchors or tags: \(context())\n\(text)")
        if let expected, expected != scanned {
            let at = (0..<min(expected.count, scanned.count)).first { expected[$0] != scanned[$0] } ?? min(expected.count, scanned.count)
            Issue.record("events differ at \(at): libyaml \(at < expected.count ? expected[at].description : "end"), scanner \(at < scanned.count ? scanned[at].description : "end"): \(context())\n\(text)")
        }
        return true
    }

    @Test func theUsualManifestsAreReadAsLibYAMLReadsThem() {
        let tenant = """
            # a tenant and its workers
            apiVersion: accord.dev/v1
            kind: Tenant
            metadata:
              name: t-00608
            spec:
              displayName: Tenant 00608 — Zürich   # trailing comment
              plan: starter
              region: "apac"
              auth:
                sso: saml
                issuer: https://login.t-00608.example
                mfa: 'optional'

              gdpr:
                retentionPolicy: policy-0802
                consent: [support-transcripts, "two words", 'x', é]
              encryption: {keyRotationDays: 365, note: ""}
              suspended: false
              deletionPolicy: Retain
            ---
            apiVersion: accord.dev/v1
            kind: Worker
            metadata: {name: w-01, tenant: t-00608}
            spec:
              role: crm-updater
              capabilities: []
              labels: {}
              costPerTask: -0.02
              replicas: 1
            --- # next
            apiVersion: accord.dev/v1
            kind: Worker
            metadata:
              name: w-02
              tenant: t-00608
            spec:
                role: a#b
                model: ~
            """
        #expect(Self.check(tenant, "tenant"))
        #expect(Self.check(tenant + "\n", "tenant, newline at the end"))
        #expect(Self.check("---\n" + tenant + "\n", "tenant after ---"))
    }

    @Test func anythingElseIsLeftToLibYAML() {
        for text in [
            "", "# only a comment\n", "a: b\n---\n", "---\n---\na: b\n", "a:\n", "a:\nb: c\n", "a: b\n  c\n", "a: b\n c: d\n",
            "a:\n  - x\n", "a: |\n  x\n", "a: &x b\n", "a: *x\n", "a: !!str b\n", "a: \"x\\ny\"\n", "a: 'it''s'\n",
            "a: b: c\n", "a: b:\n", "a: [b, c\n", "a: [b,]\n", "a: [[b]]\n", "a: {b}\n", "a: {b: }\n", "a: [b] c\n", "a: b\r\n",
            "a:\tb\n", "%YAML 1.2\n---\na: b\n", "a: b\n...\n", "\"a\": b\n", "? a\n: b\n", "a : b\n", "- a\n", "hello\n",
            "  a: b\n", "a:  # c\nb: d\n", "a: [b #c]\n", "a: -\n", "a: - b\n", "a: @x\n", "a: `x\n", "a: {b: c}#x\n",
        ] {
            #expect(!Self.check(text, "left to libyaml"), "taken: \(text.debugDescription)")
        }
        // libyaml looks for a key's ':' only within 1024 characters.
        let long = String(repeating: "k", count: 1_100)
        #expect(!Self.check("a: {\(long): b}\n", "a long key in a flow mapping"))
        #expect(!Self.check("\(long): b\n", "a long key"))
    }

    /// A file of documents in the block style this reads: nested
    /// mappings, scalars plain and quoted, flow lists and mappings,
    /// comments, blank lines, non-ASCII text.
    static func plainFile(_ rng: inout SplitMix) -> String {
        let words = ["w-01", "t-00608", "Tenant 00608", "https://login.example/x?a=b", "0.02", "-3", "true", "~", "null", "Zürich",
                     "日本", "a#b", "x-y_z.v/1", "1e-2", "0x1F", ".inf", "(a)", "$x", "=", "^y", "\\", "a;b", "+1", "a - b", "it's"]
        let keys = ["apiVersion", "kind", "metadata", "name", "tenant", "spec", "role", "model", "a.b/c", "x_1", "-"].dropLast()
        let indent = Bool.random(using: &rng) ? 2 : 4
        func scalar(_ flow: Bool) -> String {
            let word = WorkerEventsTests.pick(words, &rng)
            switch Int.random(in: 0..<6, using: &rng) {
            case 0 where !word.contains("\""): return "\"\(word)\""
            case 1 where !word.contains("'"): return "'\(word)'"
            default: return flow && (word.contains(" #") || word.contains(":")) ? "x" : word
            }
        }
        func mapping(_ depth: Int, into lines: inout [String]) {
            let pad = String(repeating: " ", count: depth * indent)
            for _ in 0..<Int.random(in: 1...5, using: &rng) {
                let key = WorkerEventsTests.pick(Array(keys), &rng)
                if Int.random(in: 0..<8, using: &rng) == 0 { lines.append(pad + "# note") }
                if Int.random(in: 0..<10, using: &rng) == 0 { lines.append("") }
                switch Int.random(in: 0..<8, using: &rng) {
                case 0 where depth < 4:
                    lines.append(pad + key + ":" + (Bool.random(using: &rng) ? "" : "   # below"))
                    mapping(depth + 1, into: &lines)
                case 1:
                    let items = (0..<Int.random(in: 0...3, using: &rng)).map { _ in scalar(true) }
                    lines.append(pad + key + ": [" + items.joined(separator: WorkerEventsTests.pick([", ", ",", " , "], &rng)) + "]")
                case 2:
                    let items = (0..<Int.random(in: 0...3, using: &rng)).map { _ in WorkerEventsTests.pick(Array(keys), &rng) + ": " + scalar(true) }
                    lines.append(pad + key + ": {" + items.joined(separator: ", ") + "}")
                default:
                    lines.append(pad + key + ": " + scalar(false) + (Int.random(in: 0..<6, using: &rng) == 0 ? "  # why" : ""))
                }
            }
        }
        var docs: [String] = []
        for _ in 0..<Int.random(in: 1...4, using: &rng) {
            var lines: [String] = []
            mapping(0, into: &lines)
            docs.append(lines.joined(separator: "\n"))
        }
        return (Bool.random(using: &rng) ? "---\n" : "") + docs.joined(separator: WorkerEventsTests.pick(["\n---\n", "\n--- # next\n", "\n---   \n"], &rng))
            + (Bool.random(using: &rng) ? "\n" : "")
    }

    /// Generated manifests (`WorkerEventsTests.file`) and mutations of
    /// them: whatever the scanner takes, libyaml reads the same way.
    @Test func generatedAndMutatedFilesAreReadAsLibYAMLReadsThem() {
        let seed = UInt64.random(in: 0...UInt64.max)
        var rng = SplitMix(seed: seed)
        var taken = 0, mutatedTaken = 0, mutatedLeft = 0
        let inserts: [String] = [" ", "  ", ":", ": ", "-", "- ", "#", " #", "[", "]", "{", "}", ",", "'", "\"", "\n", "\n  ", "&", "*", "!",
                                 "|", ">", "%", "@", "?", "~", "\\", "é", "---\n", "\n---", "...", "x", "0", "\t", "\r"]
        for round in 0..<4_000 {
            let text = round % 2 == 0 ? WorkerEventsTests.file(&rng) : Self.plainFile(&rng)
            if Self.check(text, "seed \(seed), round \(round)") { taken += 1 }
            var scalars = Array(text.unicodeScalars)
            for _ in 0..<Int.random(in: 1...3, using: &rng) {
                let at = Int.random(in: 0...scalars.count, using: &rng)
                switch Int.random(in: 0..<3, using: &rng) {
                case 0: scalars.insert(contentsOf: WorkerEventsTests.pick(inserts, &rng).unicodeScalars, at: at)
                case 1: if at < scalars.count { scalars.remove(at: at) }
                default:
                    // A line indented by one more or one less.
                    if let start = scalars[..<min(at, scalars.count)].lastIndex(of: "\n") {
                        if Bool.random(using: &rng) { scalars.insert(" ", at: start + 1) } else if start + 1 < scalars.count, scalars[start + 1] == " " {
                            scalars.remove(at: start + 1)
                        }
                    }
                }
            }
            var mutated = ""
            mutated.unicodeScalars.append(contentsOf: scalars)
            if Self.check(mutated, "seed \(seed), round \(round), mutated") { mutatedTaken += 1 } else { mutatedLeft += 1 }
        }
        // Both ways were taken often enough for the comparison to mean something.
        #expect(taken > 1_500, "\(taken) of 4,000 generated files taken (seed \(seed))")
        #expect(mutatedTaken > 300 && mutatedLeft > 300, "\(mutatedTaken) mutated files taken, \(mutatedLeft) left (seed \(seed))")
    }
}
