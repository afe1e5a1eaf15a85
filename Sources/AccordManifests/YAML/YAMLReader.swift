import AccordCore
// libyaml as bundled by Yams. Accord reads its event stream itself so that it
// can bound nesting depth and alias expansion before any tree exists; Yams'
// recursive composer would overflow the stack on hostile nesting.
import CYaml

/// Reads the documents of one YAML file into `YAMLNode` trees, never
/// recursing and never expanding aliases beyond `ManifestLimits`.
public enum YAMLReader {
    public struct Result: Sendable {
        /// Non-empty documents, in file order, read before any error.
        public var documents: [YAMLNode] = []
        /// At most one: reading stops at the first syntax or limit error.
        public var diagnostics: [Diagnostic] = []
        /// With `decodingWorkers`: the documents decoded from their events
        /// (`WorkerEvents`), each with how many of `documents` come before it.
        var decoded: [(before: Int, document: DecodedDocument)] = []
    }

    public static func read(_ bytes: [UInt8], file: String) -> Result {
        read(bytes, file: file, decodingWorkers: false)
    }

    /// `decodingWorkers`: Worker documents of the usual shape are decoded
    /// as they are read, into `decoded`, instead of becoming trees.
    static func read(_ bytes: [UInt8], file: String, decodingWorkers: Bool) -> Result {
        // A UTF-8 byte order mark is not content (editors on Windows write one);
        // positions are counted after it, as editors show them.
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { return read(Array(bytes.dropFirst(3)), file: file, decodingWorkers: decodingWorkers) }
        if let bad = UTF8Check.firstInvalidByte(in: bytes) {
            let (line, column) = UTF8Check.lineAndColumn(of: bad, in: bytes)
            return Result(diagnostics: [Diagnostic(
                SourcePosition(file: file, line: line, column: column),
                "not valid UTF-8 (byte 0x\(String(bytes[bad], radix: 16, uppercase: true)) at offset \(bad))")])
        }
        if let (bad, scalar) = PrintableCheck.firstNonPrintable(in: bytes) {
            let (line, column) = UTF8Check.lineAndColumn(of: bad, in: bytes)
            let hex = String(scalar, radix: 16, uppercase: true)
            let code = String(repeating: "0", count: max(0, 4 - hex.count)) + hex
            return Result(diagnostics: [Diagnostic(
                SourcePosition(file: file, line: line, column: column),
                "non-printable character U+\(code) is not allowed in YAML; write it escaped in a double-quoted string (\"\\u\(code)\")")])
        }
        return bytes.withUnsafeBufferPointer { buffer in
            var reader = EventReader(file: file)
            // The usual plain block style without libyaml's scanner; anything else through libyaml.
            if let events = BlockScanner.scan(buffer) {
                var scanned = ScannedEvents(events: events)
                return reader.run(&scanned, decodingWorkers: decodingWorkers)
            }
            var parser = yaml_parser_t()
            guard yaml_parser_initialize(&parser) == 1 else {
                return Result(diagnostics: [Diagnostic(SourcePosition(file: file, line: 1, column: 1),
                                                       "YAML parser could not be initialised (out of memory)")])
            }
            defer { yaml_parser_delete(&parser) }
            yaml_parser_set_encoding(&parser, YAML_UTF8_ENCODING)
            yaml_parser_set_input_string(&parser, buffer.baseAddress, buffer.count)
            return withUnsafeMutablePointer(to: &parser) { pointer in
                var events = LibYAMLEvents(parser: pointer)
                return reader.run(&events, decodingWorkers: decodingWorkers)
            }
        }
    }
}

/// Where the events of a file come from: libyaml's parser, or `BlockScanner`.
protocol EventSource {
    /// The next event; nil at a syntax error.
    mutating func next() -> yaml_event_t?
    /// Whether the events own their strings (freed by `yaml_event_delete`).
    static var owned: Bool { get }
    /// Where and what the syntax error is, after `next` returned nil.
    func syntaxError() -> (line: Int, column: Int, message: String)
}

/// libyaml's events, each owned by its reader.
private struct LibYAMLEvents: EventSource {
    let parser: UnsafeMutablePointer<yaml_parser_t>
    static var owned: Bool { true }

    mutating func next() -> yaml_event_t? {
        var event = yaml_event_t()
        return yaml_parser_parse(parser, &event) == 1 ? event : nil
    }

    func syntaxError() -> (line: Int, column: Int, message: String) {
        let parser = parser.pointee
        let problem = EventReader.string(parser.problem) ?? "malformed YAML"
        let line = Int(parser.problem_mark.line) + 1, column = Int(parser.problem_mark.column) + 1
        // libyaml's scanner has its own, larger nesting bound; say the same as ours.
        if problem.hasPrefix("Maximum nesting level") { return (line, column, "nesting deeper than \(ManifestLimits.maxDepth) levels") }
        var message = "invalid YAML: \(problem)"
        if let context = EventReader.string(parser.context) {
            message += " (\(context) at line \(parser.context_mark.line + 1), column \(parser.context_mark.column + 1))"
        }
        // libyaml reads a key only within 1024 characters; say so, or a long
        // key reads as a missing ':' or ','.
        if problem == "could not find expected ':'"
            || (problem.hasPrefix("did not find expected ',' or") && parser.problem_mark.index - parser.context_mark.index > 1024)
            || (problem == "mapping values are not allowed in this context" && parser.problem_mark.column > 1024) {
            message += "; a key must end with ':' within 1024 characters on its line"
        }
        return (line, column, message)
    }
}

/// `BlockScanner`'s events of a whole file, pointing into its bytes.
private struct ScannedEvents: EventSource {
    let events: [yaml_event_t]
    var index = 0
    static var owned: Bool { false }

    mutating func next() -> yaml_event_t? {
        // The scanner's events end with STREAM-END, after which nothing is read.
        defer { index += 1 }
        return events[index]
    }

    func syntaxError() -> (line: Int, column: Int, message: String) {
        (1, 1, "invalid YAML")  // never asked: a scanned file has no syntax error
    }
}

private struct EventReader {
    let file: String
    var result = YAMLReader.Result()

    private struct Frame {
        let isMapping: Bool
        let anchor: String?
        let line: Int
        let column: Int
        /// Where the collection's children start in `items` or `pairs`.
        let start: Int
        var pendingKey: YAMLNode?
        var weight = 1
        var childHeight = 0
        var textBytes = 0
    }

    private var stack: [Frame] = []
    /// The children of the open collections, innermost last: one stack for
    /// sequences' items and one for mappings' pairs, so that a collection
    /// is copied once into an array of its exact size when it ends, rather
    /// than growing an array of its own child by child.
    private var items: [YAMLNode] = []
    private var pairs: [YAMLNode.Pair] = []
    private var anchors: [String: YAMLNode] = [:]
    /// Reads Worker documents from their events (`decodingWorkers`); one per file, its room reused.
    private lazy var worker = WorkerEvents(file: file)
    private var aliasExpansion = 0
    private var aliasExpansionBytes = 0

    init(file: String) { self.file = file }

    mutating func run<Source: EventSource>(_ source: inout Source, decodingWorkers: Bool) -> YAMLReader.Result {
        while true {
            guard var event = source.next() else {
                syntaxError(source)
                return result
            }
            let done = event.type == YAML_STREAM_END_EVENT
            let startsDocument = event.type == YAML_DOCUMENT_START_EVENT
            let ok = handle(&event)
            if Source.owned { yaml_event_delete(&event) }
            if done || !ok { return result }
            if startsDocument && decodingWorkers && !readWorker(&source) { return result }
        }
    }

    /// A document's root read by `WorkerEvents`: decoded, or its events
    /// handed to `handle` as if read here. False when reading must stop.
    private mutating func readWorker<Source: EventSource>(_ source: inout Source) -> Bool {
        defer { worker.deleteEvents() }
        let outcome = worker.decode(&source)
        if case .decoded(let document) = outcome {
            result.decoded.append((result.documents.count, document))
            return true
        }
        for var event in worker.events {
            guard event.type != YAML_STREAM_END_EVENT, handle(&event) else { return false }
        }
        if case .syntaxError = outcome {
            syntaxError(source)
            return false
        }
        return true
    }

    /// Returns false when reading must stop.
    private mutating func handle(_ event: inout yaml_event_t) -> Bool {
        let line = Int(event.start_mark.line) + 1
        let column = Int(event.start_mark.column) + 1
        switch event.type {
        case YAML_DOCUMENT_START_EVENT:
            anchors.removeAll(keepingCapacity: true)
        case YAML_SCALAR_EVENT:
            let s = event.data.scalar
            let text = String(decoding: UnsafeBufferPointer(start: s.value, count: s.length), as: UTF8.self)
            let quoted = s.style != YAML_PLAIN_SCALAR_STYLE && s.style != YAML_ANY_SCALAR_STYLE
            let tag = Self.string(s.tag)
            // PostgreSQL cannot store NUL in text or jsonb; YAML can write it as "\0".
            guard UnsafeBufferPointer(start: s.value, count: s.length).firstIndex(of: 0) == nil else {
                fail(line, column, "a value holds a NUL character (\\0), which manifests cannot hold")
                return false
            }
            let node = YAMLNode(.scalar(text, quoted: quoted, tag: tag), line: line, column: column, weight: 1, height: 0,
                                textBytes: s.length)
            complete(node, anchor: Self.string(s.anchor))
        case YAML_SEQUENCE_START_EVENT, YAML_MAPPING_START_EVENT:
            guard stack.count < ManifestLimits.maxDepth else {
                fail(line, column, "nesting deeper than \(ManifestLimits.maxDepth) levels")
                return false
            }
            let isMapping = event.type == YAML_MAPPING_START_EVENT
            let anchor = isMapping ? Self.string(event.data.mapping_start.anchor) : Self.string(event.data.sequence_start.anchor)
            let tag = isMapping ? Self.string(event.data.mapping_start.tag) : Self.string(event.data.sequence_start.tag)
            if let tag, tag != "!", tag != (isMapping ? "tag:yaml.org,2002:map" : "tag:yaml.org,2002:seq") {
                fail(line, column, "unsupported tag \(Text.quoted(tag, limit: 60)) on \(isMapping ? "a mapping" : "a list"); manifests are plain YAML 1.2 without application tags")
                return false
            }
            stack.append(Frame(isMapping: isMapping, anchor: anchor, line: line, column: column,
                               start: isMapping ? pairs.count : items.count))
        case YAML_SEQUENCE_END_EVENT, YAML_MAPPING_END_EVENT:
            let frame = stack.removeLast()
            let content: YAMLNode.Content
            if frame.isMapping {
                content = .mapping(Array(pairs[frame.start...]))
                pairs.removeLast(pairs.count - frame.start)
            } else {
                content = .sequence(Array(items[frame.start...]))
                items.removeLast(items.count - frame.start)
            }
            let node = YAMLNode(content, line: frame.line, column: frame.column, weight: frame.weight, height: frame.childHeight + 1,
                                textBytes: frame.textBytes)
            complete(node, anchor: frame.anchor)
        case YAML_ALIAS_EVENT:
            let name = Self.string(event.data.alias.anchor) ?? ""
            guard let target = anchors[name] else {
                fail(line, column, "unknown alias *\(Text.quoted(name, limit: 40))")
                return false
            }
            guard stack.count + target.height <= ManifestLimits.maxDepth else {
                fail(line, column, "nesting deeper than \(ManifestLimits.maxDepth) levels (through alias *\(Text.quoted(name, limit: 40)))")
                return false
            }
            aliasExpansion += target.weight
            guard aliasExpansion <= ManifestLimits.maxAliasExpansion else {
                fail(line, column, "YAML aliases expand to more than \(ManifestLimits.maxAliasExpansion) nodes")
                return false
            }
            aliasExpansionBytes += target.textBytes
            guard aliasExpansionBytes <= ManifestLimits.maxAliasExpansionBytes else {
                fail(line, column, "YAML aliases expand to more than \(ManifestLimits.maxAliasExpansionBytes) bytes of text (4 MiB)")
                return false
            }
            // The alias stands where it is written, with the target's content.
            complete(YAMLNode(target.content, line: line, column: column, weight: target.weight, height: target.height,
                              textBytes: target.textBytes), anchor: nil)
        default:
            break
        }
        return true
    }

    private mutating func complete(_ node: YAMLNode, anchor: String?) {
        if let anchor { anchors[anchor] = node }
        guard !stack.isEmpty else {
            if !node.isNull { result.documents.append(node) }
            return
        }
        stack[stack.count - 1].weight += node.weight
        stack[stack.count - 1].textBytes += node.textBytes
        stack[stack.count - 1].childHeight = max(stack[stack.count - 1].childHeight, node.height)
        if stack[stack.count - 1].isMapping {
            if let key = stack[stack.count - 1].pendingKey {
                pairs.append(YAMLNode.Pair(key: key, value: node))
                stack[stack.count - 1].pendingKey = nil
            } else {
                stack[stack.count - 1].pendingKey = node
            }
        } else {
            items.append(node)
        }
    }

    private mutating func fail(_ line: Int, _ column: Int, _ message: String) {
        result.diagnostics.append(Diagnostic(SourcePosition(file: file, line: line, column: column), message))
    }

    private mutating func syntaxError<Source: EventSource>(_ source: Source) {
        let (line, column, message) = source.syntaxError()
        fail(line, column, message)
    }

    static func string(_ pointer: UnsafeMutablePointer<yaml_char_t>?) -> String? {
        pointer.map { String(cString: UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self)) }
    }

    static func string(_ pointer: UnsafePointer<CChar>?) -> String? {
        pointer.map { String(cString: $0) }
    }
}
