import CYaml

/// Reads the plain block-style YAML most manifests are written in without
/// libyaml's scanner, as the events libyaml would report for it.
///
/// It takes a file only when every line is one of: blank, a comment, a
/// `---` between documents, or `key: value` / `key:` (a nested mapping on
/// the lines below, indented further), where a key is a plain word of
/// letters, digits and `_ . / -`, and a value is a plain scalar on one
/// line, a quoted scalar without escapes, or a flow list or mapping of
/// such scalars on one line. Anything else in the file — block lists,
/// block scalars, anchors, tags, aliases, multi-line scalars, tabs,
/// directives, an empty value, a key out of its indentation, a line
/// over 1,000 bytes — and the
/// whole file is left to libyaml, so every syntax error and every unusual
/// construct is libyaml's to read and report. For a file it takes, the
/// events are libyaml's (types, positions, values and styles): tested
/// against libyaml on generated and mutated files.
///
/// A scalar's value points into the file's bytes: the events are valid
/// while those bytes are, and are never passed to `yaml_event_delete`.
struct BlockScanner {
    private let bytes: UnsafeBufferPointer<UInt8>
    private var events: [yaml_event_t] = []
    /// Where the current line starts and ends (at its newline or the end).
    private var lineStart = 0, lineEnd = 0, line = 0
    /// Whether the current line is all ASCII, so a column is a byte offset.
    private var lineIsASCII = true
    /// The indentation of each open block mapping, outermost first.
    private var indents: [Int] = []

    private init(_ bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

    /// The events of `bytes` (UTF-8, no byte order mark), or nil when the
    /// file holds anything beyond what this reads.
    static func scan(_ bytes: UnsafeBufferPointer<UInt8>) -> [yaml_event_t]? {
        var scanner = BlockScanner(bytes)
        return scanner.run() ? scanner.events : nil
    }

    private static let space = UInt8(ascii: " "), newline = UInt8(ascii: "\n"), hash = UInt8(ascii: "#"), colon = UInt8(ascii: ":")

    private mutating func run() -> Bool {
        guard bytes.count > 0, bytes.count < Int(Int32.max) else { return false }
        emit(YAML_STREAM_START_EVENT, at: 0)
        var inDocument = false, sawContent = false
        /// A key whose value is the mapping on the lines below.
        var pending = false
        while lineStart < bytes.count {
            guard startLine() else { return false }
            var at = lineStart
            while at < lineEnd && bytes[at] == Self.space { at += 1 }
            let indent = at - lineStart
            if at == lineEnd || bytes[at] == Self.hash {
                // Blank, or a comment.
            } else if indent == 0 && isMarker(at, UInt8(ascii: "-")) {
                // `---`: the document before it ends; nothing may follow on the line but a comment.
                guard restIsBlank(at + 3) else { return false }
                if inDocument {
                    guard !pending else { return false }
                    closeMappings(to: -1, at: at)
                    emit(YAML_DOCUMENT_END_EVENT, at: at)
                    inDocument = false
                } else if sawContent {
                    return false  // an empty document
                }
                sawContent = true
            } else {
                guard bytes[at] != UInt8(ascii: "%"), !(indent == 0 && isMarker(at, UInt8(ascii: "."))) else { return false }
                if !inDocument {
                    guard indent == 0 else { return false }
                    emit(YAML_DOCUMENT_START_EVENT, at: at)
                    mappingStart(at: at, indent: indent)
                    inDocument = true
                    sawContent = true
                } else if pending {
                    guard indent > indents[indents.count - 1] else { return false }
                    mappingStart(at: at, indent: indent)
                } else {
                    closeMappings(to: indent, at: at)
                    guard indents.last == indent else { return false }
                }
                guard let value = pair(at) else { return false }
                pending = value
            }
            lineStart = lineEnd + 1
            line += 1
        }
        guard sawContent, !pending else { return false }
        if inDocument {
            closeMappings(to: -1, at: bytes.count)
            emit(YAML_DOCUMENT_END_EVENT, at: bytes.count)
        } else {
            return false  // a `---` with nothing after it: an empty document
        }
        emit(YAML_STREAM_END_EVENT, at: bytes.count)
        return true
    }

    /// Finds the current line's end; false on a tab or carriage return, or a line over 1,000 bytes.
    private mutating func startLine() -> Bool {
        var at = lineStart
        var high: UInt8 = 0
        while at < bytes.count {
            let b = bytes[at]
            if b == Self.newline { break }
            if b == UInt8(ascii: "\t") || b == UInt8(ascii: "\r") { return false }
            high |= b
            at += 1
        }
        lineEnd = at
        lineIsASCII = high < 0x80
        // libyaml looks for a key's ':' only within 1024 characters; long lines are its to read.
        return lineEnd - lineStart <= 1000
    }

    /// `---` or `...` at `at`, followed by a space or the line's end.
    private func isMarker(_ at: Int, _ c: UInt8) -> Bool {
        at + 3 <= lineEnd && bytes[at] == c && bytes[at + 1] == c && bytes[at + 2] == c
            && (at + 3 == lineEnd || bytes[at + 3] == Self.space)
    }

    /// Only spaces from `at` to the line's end, or spaces and then a comment.
    private func restIsBlank(_ from: Int) -> Bool {
        var at = from
        while at < lineEnd && bytes[at] == Self.space { at += 1 }
        return at == lineEnd || (bytes[at] == Self.hash && at > from)
    }

    /// `key: value` or `key:` at `at`; true for the latter (a mapping
    /// follows), nil when the line is beyond this reader.
    private mutating func pair(_ at: Int) -> Bool? {
        var end = at
        while end < lineEnd && Self.isKeyByte(bytes[end]) { end += 1 }
        guard end > at, bytes[at] != UInt8(ascii: "-"), end < lineEnd ? bytes[end] == Self.colon : false else { return nil }
        scalar(at, end - at, style: YAML_PLAIN_SCALAR_STYLE, at: at)
        var value = end + 1
        if value == lineEnd { return true }
        guard bytes[value] == Self.space else { return nil }
        while value < lineEnd && bytes[value] == Self.space { value += 1 }
        if value == lineEnd || bytes[value] == Self.hash { return true }
        let after: Int
        switch bytes[value] {
        case UInt8(ascii: "["), UInt8(ascii: "{"):
            guard let end = flow(value) else { return nil }
            after = end
        case UInt8(ascii: "\""), UInt8(ascii: "'"):
            guard let end = quoted(value) else { return nil }
            after = end
        default:
            guard plain(value, closedBy: nil) != nil else { return nil }
            return false
        }
        return restIsBlank(after) ? false : nil
    }

    /// A flow list or mapping of scalars on this line, from its bracket;
    /// where it ends.
    private mutating func flow(_ start: Int) -> Int? {
        let isMapping = bytes[start] == UInt8(ascii: "{")
        let close = isMapping ? UInt8(ascii: "}") : UInt8(ascii: "]")
        if isMapping {
            var e = event(YAML_MAPPING_START_EVENT, at: start)
            e.data.mapping_start.implicit = 1
            e.data.mapping_start.style = YAML_FLOW_MAPPING_STYLE
            events.append(e)
        } else {
            var e = event(YAML_SEQUENCE_START_EVENT, at: start)
            e.data.sequence_start.implicit = 1
            e.data.sequence_start.style = YAML_FLOW_SEQUENCE_STYLE
            events.append(e)
        }
        var at = skipSpaces(start + 1)
        if at < lineEnd && bytes[at] == close {
            emit(isMapping ? YAML_MAPPING_END_EVENT : YAML_SEQUENCE_END_EVENT, at: at)
            return at + 1
        }
        while true {
            if isMapping {
                var end = at
                while end < lineEnd && Self.isKeyByte(bytes[end]) { end += 1 }
                guard end > at, bytes[at] != UInt8(ascii: "-"), end + 1 < lineEnd, bytes[end] == Self.colon, bytes[end + 1] == Self.space
                else { return nil }
                scalar(at, end - at, style: YAML_PLAIN_SCALAR_STYLE, at: at)
                at = skipSpaces(end + 1)
            }
            guard at < lineEnd else { return nil }
            switch bytes[at] {
            case UInt8(ascii: "\""), UInt8(ascii: "'"):
                guard let end = quoted(at) else { return nil }
                at = end
            default:
                guard let end = plain(at, closedBy: close) else { return nil }
                at = end
            }
            at = skipSpaces(at)
            guard at < lineEnd else { return nil }
            if bytes[at] == close {
                emit(isMapping ? YAML_MAPPING_END_EVENT : YAML_SEQUENCE_END_EVENT, at: at)
                return at + 1
            }
            guard bytes[at] == UInt8(ascii: ",") else { return nil }
            at = skipSpaces(at + 1)
            guard at < lineEnd, bytes[at] != close else { return nil }
        }
    }

    /// A plain scalar from `start` to a comment or the line's end — in a
    /// flow collection (`closedBy` its bracket), to a `,` or that bracket;
    /// where it stops. nil where libyaml would read more or other than a
    /// one-line plain scalar (`: ` in block context, `:` or a bracket in a
    /// flow). Trailing spaces are not its text.
    private mutating func plain(_ start: Int, closedBy close: UInt8?) -> Int? {
        guard Self.canStartPlain(start, bytes, lineEnd) else { return nil }
        var end = start, last = start
        while end < lineEnd {
            let b = bytes[end]
            // A comment; inside a flow collection it leaves the collection open, which its reader refuses.
            if b == Self.hash && bytes[end - 1] == Self.space { break }
            if let close {
                if b == UInt8(ascii: ",") || b == close { break }
                if b == Self.colon || b == UInt8(ascii: "[") || b == UInt8(ascii: "]") || b == UInt8(ascii: "{") || b == UInt8(ascii: "}") {
                    return nil
                }
            } else if b == Self.colon && (end + 1 == lineEnd || bytes[end + 1] == Self.space) {
                return nil
            }
            if b != Self.space { last = end + 1 }
            end += 1
        }
        scalar(start, last - start, style: YAML_PLAIN_SCALAR_STYLE, at: start)
        return end
    }

    /// A quoted scalar without escapes or line breaks, from its quote; where it ends.
    private mutating func quoted(_ start: Int) -> Int? {
        let quote = bytes[start]
        var end = start + 1
        while end < lineEnd && bytes[end] != quote {
            if bytes[end] == UInt8(ascii: "\\") && quote == UInt8(ascii: "\"") { return nil }
            end += 1
        }
        guard end < lineEnd else { return nil }
        // '' inside single quotes is an escaped quote.
        if quote == UInt8(ascii: "'") && end + 1 < lineEnd && bytes[end + 1] == quote { return nil }
        let style = quote == UInt8(ascii: "'") ? YAML_SINGLE_QUOTED_SCALAR_STYLE : YAML_DOUBLE_QUOTED_SCALAR_STYLE
        scalar(start + 1, end - start - 1, style: style, at: start)
        return end + 1
    }

    private func skipSpaces(_ from: Int) -> Int {
        var at = from
        while at < lineEnd && bytes[at] == Self.space { at += 1 }
        return at
    }

    /// A key's bytes: letters, digits, `_`, `.`, `/` and `-`.
    private static func isKeyByte(_ b: UInt8) -> Bool {
        (b >= UInt8(ascii: "a") && b <= UInt8(ascii: "z")) || (b >= UInt8(ascii: "A") && b <= UInt8(ascii: "Z"))
            || (b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9")) || b == UInt8(ascii: "_") || b == UInt8(ascii: ".")
            || b == UInt8(ascii: "/") || b == UInt8(ascii: "-")
    }

    /// Whether a plain scalar may start at `at`: a letter, digit or one of
    /// `_ . / ~ + ( $ = ^ \ ;`, any non-ASCII character, or `-` before a
    /// letter or digit. Indicators (`- ? : , [ ] { } # & * ! | > ' " % @ ``) are libyaml's.
    private static func canStartPlain(_ at: Int, _ bytes: UnsafeBufferPointer<UInt8>, _ lineEnd: Int) -> Bool {
        let b = bytes[at]
        if b >= 0x80 { return true }
        if b == UInt8(ascii: "-") {
            guard at + 1 < lineEnd else { return false }
            let n = bytes[at + 1]
            return (n >= UInt8(ascii: "0") && n <= UInt8(ascii: "9")) || (n | 0x20 >= UInt8(ascii: "a") && n | 0x20 <= UInt8(ascii: "z"))
        }
        if isKeyByte(b) { return true }
        switch b {
        case UInt8(ascii: "~"), UInt8(ascii: "+"), UInt8(ascii: "("), UInt8(ascii: "$"), UInt8(ascii: "="), UInt8(ascii: "^"),
             UInt8(ascii: "\\"), UInt8(ascii: ";"):
            return true
        default:
            return false
        }
    }

    private mutating func mappingStart(at: Int, indent: Int) {
        var e = event(YAML_MAPPING_START_EVENT, at: at)
        e.data.mapping_start.implicit = 1
        e.data.mapping_start.style = YAML_BLOCK_MAPPING_STYLE
        events.append(e)
        indents.append(indent)
    }

    /// Ends the open mappings indented more than `indent`.
    private mutating func closeMappings(to indent: Int, at: Int) {
        while let last = indents.last, last > indent {
            emit(YAML_MAPPING_END_EVENT, at: at)
            indents.removeLast()
        }
    }

    private mutating func scalar(_ start: Int, _ count: Int, style: yaml_scalar_style_t, at: Int) {
        var e = event(YAML_SCALAR_EVENT, at: at)
        e.data.scalar.value = UnsafeMutablePointer(mutating: bytes.baseAddress! + start)
        e.data.scalar.length = count
        e.data.scalar.style = style
        e.data.scalar.plain_implicit = style == YAML_PLAIN_SCALAR_STYLE ? 1 : 0
        e.data.scalar.quoted_implicit = style == YAML_PLAIN_SCALAR_STYLE ? 0 : 1
        events.append(e)
    }

    private mutating func emit(_ type: yaml_event_type_t, at: Int) {
        events.append(event(type, at: at))
    }

    private func event(_ type: yaml_event_type_t, at: Int) -> yaml_event_t {
        var e = yaml_event_t()
        e.type = type
        let offset = min(at, lineEnd) - lineStart
        var column = offset
        if !lineIsASCII && offset > 0 {
            column = 0
            for i in lineStart..<(lineStart + offset) where bytes[i] & 0xC0 != 0x80 { column += 1 }
        }
        e.start_mark = yaml_mark_t(index: at, line: line, column: max(0, column))
        e.end_mark = e.start_mark
        return e
    }
}
