import AccordCore
import PostgresNIO

/// Rows in PostgreSQL's COPY text format: tab-separated, `\N` for NULL,
/// backslash escapes for backslash, tab, newline and carriage return.
struct CopyRows {
    private(set) var bytes: [UInt8] = []
    private var first = true

    init(capacity: Int = 0) { bytes.reserveCapacity(capacity) }

    mutating func field(_ value: JSONValue, _ type: ColumnType) {
        separate()
        switch (value, type) {
        case (.null, _): bytes += [UInt8(ascii: "\\"), UInt8(ascii: "N")]
        case (.string(let s), .text), (.string(let s), .timestamp): escape(s)
        case (.bool(let b), .boolean): bytes.append(b ? UInt8(ascii: "t") : UInt8(ascii: "f"))
        case (.number(let d), .integer), (.number(let d), .double): bytes += JSONValue.format(d).utf8
        default: escape(value.canonical)
        }
    }

    mutating func text(_ s: String?) {
        separate()
        if let s { escape(s) } else { bytes += [UInt8(ascii: "\\"), UInt8(ascii: "N")] }
    }

    mutating func endRow() {
        bytes.append(0x0A)
        first = true
    }

    private mutating func separate() {
        if !first { bytes.append(0x09) }
        first = false
    }

    private mutating func escape(_ s: String) {
        // Most text needs no escape: copied whole.
        var s = s
        let copied = s.withUTF8 { buffer in
            guard !Self.mayNeedEscape(buffer) else { return false }
            bytes.append(contentsOf: buffer)
            return true
        }
        if copied { return }
        for byte in s.utf8 {
            switch byte {
            case UInt8(ascii: "\\"): bytes += [UInt8(ascii: "\\"), UInt8(ascii: "\\")]
            case 0x09: bytes += [UInt8(ascii: "\\"), UInt8(ascii: "t")]
            case 0x0A: bytes += [UInt8(ascii: "\\"), UInt8(ascii: "n")]
            case 0x0D: bytes += [UInt8(ascii: "\\"), UInt8(ascii: "r")]
            default: bytes.append(byte)
            }
        }
    }
}

extension CopyRows {
    /// Whether `text` may hold a byte COPY escapes (backslash, tab, newline,
    /// carriage return), eight bytes at a time: true also for the other
    /// bytes below 0x0E (then the byte-by-byte path decides), never false
    /// for text that needs an escape.
    static func mayNeedEscape(_ text: UnsafeBufferPointer<UInt8>) -> Bool {
        let ones: UInt64 = 0x0101_0101_0101_0101, highs: UInt64 = 0x8080_8080_8080_8080
        let raw = UnsafeRawBufferPointer(text)
        var i = 0
        while i + 8 <= text.count {
            let word = raw.loadUnaligned(fromByteOffset: i, as: UInt64.self)
            // A byte below 0x0E, or a byte equal to a backslash (0x5C).
            let below = (word &- ones &* 0x0E) & ~word & highs
            let flipped = word ^ (ones &* 0x5C)
            let backslash = (flipped &- ones) & ~flipped & highs
            if below | backslash != 0 { return true }
            i += 8
        }
        while i < text.count {
            let byte = text[i]
            if byte == UInt8(ascii: "\\") || byte < 0x0E { return true }
            i += 1
        }
        return false
    }
}

extension Session {
    /// `COPY schema.table (columns) FROM STDIN` inside the caller's
    /// transaction. PostgresNIO wraps the table name in double quotes as
    /// given, so the schema-qualified name is passed as `schema"."table`
    /// (both are Accord's own plain names, never input): no round trips to
    /// set and reset a transaction-local search_path around each COPY.
    func copy(into schema: String, _ table: String, columns: [String], _ rows: CopyRows) async throws {
        guard !rows.bytes.isEmpty else { return }
        precondition(([schema, table] + columns).allSatisfy(Self.isPlainName), "COPY target names must be plain identifiers")
        let connection = self.connection, logger = self.logger, bytes = rows.bytes
        try await failing {
            try watch.checkOpen()
            // PostgresNIO's COPY is async only: it runs as the promise's task
            // so that the close of the connection can end the wait for it.
            let done = connection.eventLoop.makePromise(of: Void.self)
            done.completeWithTask {
                try await connection.copyFrom(table: schema + "\".\"" + table, columns: columns, logger: logger) { writer in
                    var buffer = ByteBuffer()
                    buffer.writeBytes(bytes)
                    try await writer.write(buffer)
                }
            }
            try await watch.race(done.futureResult)
        }
    }

    /// Lower-case letters, digits and underscores, not starting with a digit.
    static func isPlainName(_ name: String) -> Bool {
        guard let first = name.utf8.first, !(UInt8(ascii: "0")...UInt8(ascii: "9")).contains(first) else { return false }
        return name.utf8.allSatisfy { (UInt8(ascii: "a")...UInt8(ascii: "z")).contains($0) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) || $0 == UInt8(ascii: "_") }
    }
}
