import AccordCore
import AccordEngine
import Testing

@Suite struct JSONValueTests {
    @Test func canonicalSortsKeysAndPrintsIntegersWithoutFraction() {
        let value: JSONValue = .object(["b": .number(2), "a": .array([.number(0.5), .string("x\n\"y\""), .null, .bool(true)])])
        #expect(value.canonical == #"{"a":[0.5,"x\n\"y\"",null,true],"b":2}"#)
    }

    /// Keys sort by their UTF-8 bytes: "Z" before "a", a prefix first,
    /// "é" (C3 A9) after every ASCII key.
    @Test func canonicalKeysSortByTheirBytes() {
        let value: JSONValue = .object(["a": .null, "Z": .null, "ab": .null, "\u{E9}": .null, "f": .null, "": .null, "abcdefghijklmnopqrstu": .null])
        #expect(value.canonical == "{\"\":null,\"Z\":null,\"a\":null,\"ab\":null,\"abcdefghijklmnopqrstu\":null,\"f\":null,\"\u{E9}\":null}")
    }

    /// Small objects (ordered on the stack) and large ones (sorted) write
    /// their members in the order of their keys' bytes, as written out here
    /// independently.
    @Test func objectsOfEverySizeWriteTheirKeysInByteOrder() {
        var rng = SystemRandomNumberGenerator()
        let pieces = ["a", "b", "Z", "-", "é", "e\u{301}", "😀", "ab", "abcdefghijklmnopq", "0"]
        for _ in 0..<300 {
            var members: [String: JSONValue] = [:]
            for _ in 0..<Int.random(in: 0...(JSONValue.smallObject * 2 + 4), using: &rng) {
                let key = (0..<Int.random(in: 0...3, using: &rng)).map { _ in pieces.randomElement(using: &rng)! }.joined()
                members[key] = .number(Double(members.count))
            }
            let keys = members.keys.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
            var expected: [UInt8] = [UInt8(ascii: "{")]
            for (i, key) in keys.enumerated() {
                if i > 0 { expected.append(UInt8(ascii: ",")) }
                JSONValue.writeString(key, to: &expected)
                expected.append(UInt8(ascii: ":"))
                members[key]!.write(to: &expected)
            }
            expected.append(UInt8(ascii: "}"))
            #expect(JSONValue.object(members).canonical == String(decoding: expected, as: UTF8.self), "\(members.count) members")
        }
    }

    /// The memcmp comparison agrees with comparing the UTF-8 bytes one by
    /// one, on short (stored inline) and long strings, ASCII and not — also
    /// where String's own `<` does not: a decomposed "é" (e + U+0301).
    @Test func utf8OrderAgreesWithTheBytes() {
        var rng = SystemRandomNumberGenerator()
        let alphabet: [String] = ["a", "b", "Z", "-", "é", "e\u{301}", "😀", "\u{0}", "ab", "abcdefghijklmnopq"]
        for _ in 0..<2_000 {
            let a = (0..<Int.random(in: 0...4, using: &rng)).map { _ in alphabet.randomElement(using: &rng)! }.joined()
            let b = Bool.random(using: &rng) ? a + (alphabet.randomElement(using: &rng)!) : (0..<Int.random(in: 0...4, using: &rng)).map { _ in alphabet.randomElement(using: &rng)! }.joined()
            #expect(a.utf8Precedes(b) == Array(a.utf8).lexicographicallyPrecedes(Array(b.utf8)), "\(a.debugDescription) vs \(b.debugDescription)")
            #expect(b.utf8Precedes(a) == Array(b.utf8).lexicographicallyPrecedes(Array(a.utf8)), "\(b.debugDescription) vs \(a.debugDescription)")
        }
    }

    @Test func parsesWhatItWrites() throws {
        let value: JSONValue = .object(["é": .string("\u{1}tab\t"), "n": .number(-12.25), "o": .object([:]), "l": .array([])])
        #expect(try JSONParser.parse(value.canonical) == value)
        #expect(try JSONParser.parse(#" {"a" : [1, 2.5e1, "\u00e9\ud83d\ude00"]} "#)
            == .object(["a": .array([.number(1), .number(25), .string("é😀")])]))
    }

    @Test func refusesMalformedJSON() {
        for bad in ["", "{", "[1,]", "{\"a\" 1}", "tru", "\"open", "1 2"] {
            #expect(throws: JSONParser.Failure.self, "\(bad)") { try JSONParser.parse(bad) }
        }
    }

    /// Hex of a counted collection (written in place), of a sequence that
    /// does not know its length, and of one that knows only part of it;
    /// digests of texts hashed one after the other equal the digest of
    /// their concatenation, and the standard test vector.
    @Test func hexAndDigests() {
        let bytes: [UInt8] = [0x00, 0x0F, 0xA0, 0xFF, 0x7B]
        #expect(Hex.encode(bytes) == "000fa0ff7b")
        #expect(Hex.encode(bytes.lazy.filter { _ in true }) == "000fa0ff7b")
        #expect(Hex.encode([UInt8]()) == "")
        struct PartlyCounted: Sequence {
            let bytes: [UInt8]
            var underestimatedCount: Int { 2 }
            func makeIterator() -> IndexingIterator<[UInt8]> { bytes.makeIterator() }
        }
        #expect(Hex.encode(PartlyCounted(bytes: bytes)) == "000fa0ff7b")
        #expect(sha256Hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(sha256Hex(joining: "a", "", "bc") == sha256Hex("abc"))
        #expect(sha256Hex(joining: "prev-é", "\n", "{\"body\":1}") == sha256Hex(bytes: Array("prev-é\n{\"body\":1}".utf8)))
    }

    @Test func formatsTimestampsAndBase64() {
        #expect(Timestamp.rfc3339(epochSeconds: 0) == "1970-01-01T00:00:00Z")
        #expect(Timestamp.rfc3339(epochSeconds: 1_795_424_400) == "2026-11-23T09:00:00Z")
        #expect(Timestamp.rfc3339(epochSeconds: 951_782_400) == "2000-02-29T00:00:00Z")
        #expect(Base64.encode(Array("any carnal pleas".utf8)) == "YW55IGNhcm5hbCBwbGVhcw==")
        #expect(Base64.encode(Array("any carnal pleasu".utf8)) == "YW55IGNhcm5hbCBwbGVhc3U=")
        #expect(Base64.encode([]) == "")
    }
}

@Suite struct ManifestPathTests {
    @Test func manifestPathsUnderADirectory() {
        #expect(ManifestPaths.isManifestPath("tenants/a.yaml", under: ""))
        #expect(ManifestPaths.isManifestPath("platform/tenants/a.yml", under: "platform"))
        #expect(!ManifestPaths.isManifestPath("platformx/a.yaml", under: "platform"))
        #expect(!ManifestPaths.isManifestPath("platform/.hidden/a.yaml", under: "platform"))
        #expect(!ManifestPaths.isManifestPath("README.md", under: ""))
        #expect(!ManifestPaths.isManifestPath(".github/ci.yaml", under: ""))
    }
}
