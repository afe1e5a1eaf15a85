/// A JSON object's canonical bytes written member by member, without a
/// `JSONValue` tree or a dictionary: the caller names the members in the
/// byte order of their keys (checked in debug builds), so the bytes are
/// exactly those `JSONValue.canonical` writes for the same members. For
/// the hashes of the kinds most objects are; each such writer is tested
/// against its tree.
public struct CanonicalObject {
    public private(set) var bytes: [UInt8]
    private var members = 0
    #if DEBUG
    private var lastKey: [UInt8] = []
    #endif

    public init(capacity: Int = 256) {
        bytes = []
        bytes.reserveCapacity(capacity)
        bytes.append(UInt8(ascii: "{"))
    }

    /// A nested object's writer: it takes over the outer buffer (`object`).
    private init(nested: Void) { bytes = [] }

    /// The object closed: its canonical bytes.
    public consuming func finished() -> [UInt8] {
        bytes.append(UInt8(ascii: "}"))
        return bytes
    }

    private mutating func key(_ key: StaticString) {
        #if DEBUG
        let k = Array(UnsafeBufferPointer(start: key.utf8Start, count: key.utf8CodeUnitCount))
        precondition(members == 0 || lastKey.lexicographicallyPrecedes(k), "canonical members out of key order at \(key)")
        lastKey = k
        #endif
        if members > 0 { bytes.append(UInt8(ascii: ",")) }
        members += 1
        bytes.append(UInt8(ascii: "\""))
        bytes.append(contentsOf: UnsafeBufferPointer(start: key.utf8Start, count: key.utf8CodeUnitCount))
        bytes.append(UInt8(ascii: "\""))
        bytes.append(UInt8(ascii: ":"))
    }

    public mutating func string(_ key: StaticString, _ value: String) {
        self.key(key)
        JSONValue.writeString(value, to: &bytes)
    }

    /// `null` for nil, as `JSONValue(_: String?)`.
    public mutating func string(_ key: StaticString, _ value: String?) {
        guard let value else { return null(key) }
        string(key, value)
    }

    /// `null` for nil, as `JSONValue(_: Double?)`.
    public mutating func number(_ key: StaticString, _ value: Double?) {
        self.key(key)
        if let value { bytes += JSONValue.format(value).utf8 } else { bytes += JSONValue.nullBytes }
    }

    public mutating func number(_ key: StaticString, _ value: Int) {
        number(key, Double(value))
    }

    public mutating func bool(_ key: StaticString, _ value: Bool) {
        self.key(key)
        bytes += value ? JSONValue.trueBytes : JSONValue.falseBytes
    }

    public mutating func null(_ key: StaticString) {
        self.key(key)
        bytes += JSONValue.nullBytes
    }

    /// An array of strings, as `JSONValue(strings:)`.
    public mutating func strings(_ key: StaticString, _ values: [String]) {
        self.key(key)
        bytes.append(UInt8(ascii: "["))
        for (i, value) in values.enumerated() {
            if i > 0 { bytes.append(UInt8(ascii: ",")) }
            JSONValue.writeString(value, to: &bytes)
        }
        bytes.append(UInt8(ascii: "]"))
    }

    /// Any value, through its tree.
    public mutating func value(_ key: StaticString, _ value: JSONValue) {
        self.key(key)
        value.write(to: &bytes)
    }

    /// A nested object, written by `body` in key order.
    public mutating func object(_ key: StaticString, _ body: (inout CanonicalObject) -> Void) {
        self.key(key)
        var inner = CanonicalObject(nested: ())
        swap(&inner.bytes, &bytes)
        inner.bytes.append(UInt8(ascii: "{"))
        body(&inner)
        inner.bytes.append(UInt8(ascii: "}"))
        swap(&inner.bytes, &bytes)
    }
}
