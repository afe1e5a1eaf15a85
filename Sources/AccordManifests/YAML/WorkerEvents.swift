import AccordCore
import CYaml

/// Decodes a Worker document straight from libyaml's events, without its
/// tree: most objects of a repository are workers, and building their
/// trees cost more than reading them.
///
/// It takes only the usual, valid shape — a mapping of `apiVersion`,
/// `kind: Worker` (before `metadata` and `spec`), `metadata` and `spec`,
/// no anchors, aliases or tags — and the values are checked by the same
/// `Decoding` code as the tree's, on scalar nodes made from the events.
/// Anything else (another kind, a key out of that order, any problem at
/// all) falls back: the events read so far are handed back, the reader
/// builds the document's tree from them and `DocumentDecoder` decodes it,
/// so every diagnostic is the tree's. A document it decodes is the one
/// `DocumentDecoder` would decode, field positions included (tested
/// against it on generated documents, valid and not).
struct WorkerEvents {
    enum Outcome {
        case decoded(DecodedDocument)
        /// Not for this path: the events read are in `events`.
        case fallBack
        /// libyaml stopped at a syntax error after the events in `events`.
        case syntaxError
    }

    let file: String
    /// Every event read, held until `deleteEvents` (a fallback replays them first).
    private(set) var events: [yaml_event_t] = []
    /// Whether the events are libyaml's own, to be freed, or `BlockScanner`'s.
    private var owned = true

    init(file: String) {
        self.file = file
        events.reserveCapacity(48)
    }

    /// Frees the events read, keeping the room for the next document's.
    mutating func deleteEvents() {
        if owned { for i in events.indices { yaml_event_delete(&events[i]) } }
        events.removeAll(keepingCapacity: true)
    }

    /// A key of a mapping, with where its value starts.
    private struct Field {
        let key: String
        let line: Int
        let column: Int
    }

    /// Reads the document's root, the event after DOCUMENT-START. The
    /// events read stay in `events` until `deleteEvents`.
    mutating func decode<Source: EventSource>(_ parser: inout Source) -> Outcome {
        owned = Source.owned
        guard let root = next(&parser) else { return .syntaxError }
        guard root.type == YAML_MAPPING_START_EVENT, Self.plain(root) else { return .fallBack }
        // Each list sized for its mapping's fields, so none grows on the way.
        var top: [Field] = [], metadata: [Field] = [], specFields: [Field] = []
        top.reserveCapacity(4)
        metadata.reserveCapacity(Decoding.metadataFields.count)
        specFields.reserveCapacity(Decoding.workerFields.count)
        var apiVersion: YAMLNode?, kind: YAMLNode?
        var metadataAt: (line: Int, column: Int)?, metadataValues: [YAMLNode?] = Array(repeating: nil, count: Decoding.metadataFields.count)
        var specValues: [YAMLNode?] = Array(repeating: nil, count: Decoding.workerFields.count)
        while true {
            guard let event = next(&parser) else { return .syntaxError }
            if event.type == YAML_MAPPING_END_EVENT { break }
            guard let key = key(event) else { return .fallBack }
            guard !top.contains(where: { Decoding.same($0.key, key) }) else { return .fallBack }
            switch key {
            case "apiVersion", "kind":
                guard let value = next(&parser) else { return .syntaxError }
                guard let node = scalar(value) else { return .fallBack }
                if key == "kind" { kind = node } else { apiVersion = node }
                top.append(Field(key: key, line: node.line, column: node.column))
            case "metadata", "spec":
                // Which fields a mapping may have depends on the kind: known first, or not this path.
                guard case .string("Worker")? = kind?.scalar else { return .fallBack }
                guard let value = next(&parser) else { return .syntaxError }
                guard value.type == YAML_MAPPING_START_EVENT, Self.plain(value) else { return .fallBack }
                let at = Self.position(value)
                top.append(Field(key: key, line: at.line, column: at.column))
                let outcome = key == "metadata"
                    ? mapping(&parser, allowed: Decoding.metadataFields, into: &metadata, &metadataValues)
                    : mapping(&parser, allowed: Decoding.workerFields, into: &specFields, &specValues)
                if let outcome { return outcome }
                if key == "metadata" { metadataAt = at }
            default:
                return .fallBack
            }
        }
        guard let apiVersion, let kind, let metadataAt, top.count == 4,
              specValues[0] != nil, specValues[1] != nil, metadataValues[0] != nil else { return .fallBack }

        // Positions as `DocumentDecoder` records them: the document's fields,
        // metadata's (with labels' and annotations' entries), then spec's.
        var d = Decoding(file: file)
        for f in top { d.record("", key: f.key, line: f.line, column: f.column) }
        guard case .string(let version)? = apiVersion.scalar, version == DocumentDecoder.apiVersion,
              d.oneOf(kind, "kind", Kind.self) == .worker else { return .fallBack }
        for f in metadata { d.record("metadata", key: f.key, line: f.line, column: f.column) }
        let at = YAMLNode(.mapping([]), line: metadataAt.line, column: metadataAt.column, weight: 1, height: 1)
        guard let meta = d.metadata(at, kind: .worker, { metadataValues[Decoding.metadataFields.firstIndex(of: $0)!] }),
              d.diagnostics.isEmpty else { return .fallBack }
        for f in specFields { d.record("spec", key: f.key, line: f.line, column: f.column) }
        guard let spec = d.workerSpec({ specValues[Decoding.workerFields.firstIndex(of: $0)!] }), d.diagnostics.isEmpty else {
            return .fallBack
        }
        let manifest = Manifest(metadata: meta, spec: .worker(spec), source: SourcePosition(file: file, line: Self.position(root).line,
                                column: Self.position(root).column), positions: d.positions)
        return .decoded(DecodedDocument(identity: manifest.id, manifest: manifest, diagnostics: []))
    }

    /// The rest of a mapping whose MAPPING-START was read: each key one of
    /// `allowed`, once; values scalars, a list of scalars or a mapping of
    /// scalars to scalars. nil when read whole.
    private mutating func mapping<Source: EventSource>(_ parser: inout Source, allowed: [String], into fields: inout [Field],
                                  _ values: inout [YAMLNode?]) -> Outcome? {
        while true {
            guard let event = next(&parser) else { return .syntaxError }
            if event.type == YAML_MAPPING_END_EVENT { return nil }
            guard let key = key(event), let slot = allowed.firstIndex(where: { Decoding.same($0, key) }), values[slot] == nil else {
                return .fallBack
            }
            guard let value = next(&parser) else { return .syntaxError }
            let node: YAMLNode
            switch value.type {
            case YAML_SCALAR_EVENT:
                guard let scalar = scalar(value) else { return .fallBack }
                node = scalar
            case YAML_SEQUENCE_START_EVENT, YAML_MAPPING_START_EVENT:
                guard Self.plain(value) else { return .fallBack }
                switch collection(&parser, value) {
                case .success(let collection): node = collection
                case .failure(let stop): return stop.outcome
                }
            default:
                return .fallBack
            }
            fields.append(Field(key: key, line: node.line, column: node.column))
            values[slot] = node
        }
    }

    private struct Stop: Error { let outcome: Outcome }

    /// A list of scalars or a mapping of scalars to scalars, whose start was read.
    private mutating func collection<Source: EventSource>(_ parser: inout Source, _ start: yaml_event_t) -> Result<YAMLNode, Stop> {
        let isMapping = start.type == YAML_MAPPING_START_EVENT
        let at = Self.position(start)
        var items: [YAMLNode] = []
        while true {
            guard let event = next(&parser) else { return .failure(Stop(outcome: .syntaxError)) }
            if event.type == (isMapping ? YAML_MAPPING_END_EVENT : YAML_SEQUENCE_END_EVENT) { break }
            guard let item = scalar(event) else { return .failure(Stop(outcome: .fallBack)) }
            items.append(item)
        }
        let content: YAMLNode.Content
        if isMapping {
            var pairs: [YAMLNode.Pair] = []
            pairs.reserveCapacity(items.count / 2)
            for i in stride(from: 0, to: items.count, by: 2) { pairs.append(YAMLNode.Pair(key: items[i], value: items[i + 1])) }
            content = .mapping(pairs)
        } else {
            content = .sequence(items)
        }
        // Weight, height and text bytes count aliases' expansion, which this path never meets.
        return .success(YAMLNode(content, line: at.line, column: at.column, weight: 1 + items.count, height: 1))
    }

    /// The next event, kept in `events`; nil at a syntax error.
    private mutating func next<Source: EventSource>(_ parser: inout Source) -> yaml_event_t? {
        guard let event = parser.next() else { return nil }
        events.append(event)
        return event
    }

    /// A scalar without anchor, tag or NUL, as the tree's node of it.
    private func scalar(_ event: yaml_event_t) -> YAMLNode? {
        guard event.type == YAML_SCALAR_EVENT else { return nil }
        let s = event.data.scalar
        guard s.anchor == nil, s.tag == nil else { return nil }
        let bytes = UnsafeBufferPointer(start: s.value, count: s.length)
        guard bytes.firstIndex(of: 0) == nil else { return nil }
        let at = Self.position(event)
        let quoted = s.style != YAML_PLAIN_SCALAR_STYLE && s.style != YAML_ANY_SCALAR_STYLE
        return YAMLNode(.scalar(String(decoding: bytes, as: UTF8.self), quoted: quoted, tag: nil), line: at.line, column: at.column,
                        weight: 1, height: 0, textBytes: s.length)
    }

    /// A mapping key that is a string under the core schema.
    private func key(_ event: yaml_event_t) -> String? {
        guard let node = scalar(event), case .string(let key)? = node.scalar else { return nil }
        return key
    }

    /// A collection without anchor or tag.
    private static func plain(_ event: yaml_event_t) -> Bool {
        event.type == YAML_MAPPING_START_EVENT
            ? event.data.mapping_start.anchor == nil && event.data.mapping_start.tag == nil
            : event.data.sequence_start.anchor == nil && event.data.sequence_start.tag == nil
    }

    private static func position(_ event: yaml_event_t) -> (line: Int, column: Int) {
        (Int(event.start_mark.line) + 1, Int(event.start_mark.column) + 1)
    }
}
