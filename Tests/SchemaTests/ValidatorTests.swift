import Foundation
import Testing

/// (d) The validator and the YAML loader on tiny inputs, so that they can be
/// seen to fail when they should.

private func validator(_ schemaJSON: String) throws -> JSONSchemaValidator {
    JSONSchemaValidator(schema: try JSONValue.parse(Data(schemaJSON.utf8)))
}

private func yaml(_ text: String) throws -> JSONValue {
    try #require(try YAMLDocuments.load(text).first)
}

@Suite struct ValidatorTests {
    @Test func required() throws {
        let v = try validator(#"{"type": "object", "required": ["a"]}"#)
        #expect(v.validate(try yaml("a: 1")).isEmpty)
        #expect(v.validate(try yaml("b: 1")) == [SchemaError(path: "", message: #"missing required property "a""#)])
    }

    @Test func enumAndConst() throws {
        let v = try validator(#"{"enum": ["eu", "us", 3]}"#)
        #expect(v.validate(.string("eu")).isEmpty)
        #expect(v.validate(.double(3.0)).isEmpty)
        #expect(!v.validate(.string("EU")).isEmpty)
        #expect(!v.validate(.string("3")).isEmpty)
        let c = try validator(#"{"const": true}"#)
        #expect(c.validate(.bool(true)).isEmpty)
        #expect(!c.validate(.bool(false)).isEmpty)
    }

    @Test func additionalProperties() throws {
        let closed = try validator(#"{"type": "object", "properties": {"a": {}}, "additionalProperties": false}"#)
        #expect(closed.validate(try yaml("a: 1")).isEmpty)
        #expect(closed.validate(try yaml("{a: 1, b: 2}")).map(\.path) == ["/b"])
        let typed = try validator(#"{"type": "object", "additionalProperties": {"type": "string"}}"#)
        #expect(typed.validate(try yaml("{x: one, y: \"2\"}")).isEmpty)
        #expect(typed.validate(try yaml("{x: one, y: 2}")).map(\.path) == ["/y"])
    }

    @Test func pattern() throws {
        let v = try validator(#"{"type": "string", "pattern": "^sha256:[0-9a-f]{4}$"}"#)
        #expect(v.validate(.string("sha256:00ff")).isEmpty)
        #expect(!v.validate(.string("sha256:00FF")).isEmpty)
        #expect(!v.validate(.string("sha256:00ff0")).isEmpty)
        // ECMA-262 `$` does not match before a trailing newline (ICU's does).
        #expect(!v.validate(.string("sha256:00ff\n")).isEmpty)
        let unanchored = try validator(#"{"pattern": "b"}"#)
        #expect(unanchored.validate(.string("abc")).isEmpty)
        #expect(unanchored.validate(.int(5)).isEmpty, "pattern only constrains strings")
    }

    @Test func integerVersusNumber() throws {
        let integer = try validator(#"{"type": "integer", "minimum": 0, "maximum": 100}"#)
        #expect(integer.validate(try yaml("2")).isEmpty)
        #expect(integer.validate(try yaml("2.0")).isEmpty, "2.0 has no fractional part")
        #expect(!integer.validate(try yaml("2.5")).isEmpty)
        #expect(!integer.validate(try yaml("\"2\"")).isEmpty)
        #expect(!integer.validate(try yaml("101")).isEmpty)
        #expect(!integer.validate(try yaml("-1")).isEmpty)
        let number = try validator(#"{"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1}"#)
        #expect(number.validate(try yaml("0.5")).isEmpty)
        #expect(!number.validate(try yaml("1")).isEmpty)
        #expect(!number.validate(try yaml("0")).isEmpty)
        #expect(!number.validate(try yaml(".nan")).isEmpty)
        #expect(!number.validate(try yaml("true")).isEmpty)
    }

    @Test func lengthsCountUnicodeScalars() throws {
        let v = try validator(#"{"type": "string", "minLength": 2, "maxLength": 3}"#)
        #expect(v.validate(.string("äöü")).isEmpty)
        #expect(!v.validate(.string("ä")).isEmpty)
        #expect(!v.validate(.string("äöüß")).isEmpty)
    }

    @Test func arrays() throws {
        let v = try validator(#"""
            {"type": "array", "minItems": 1, "uniqueItems": true,
             "items": {"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}}}}
            """#)
        #expect(v.validate(try yaml("[{name: a}, {name: b}]")).isEmpty)
        #expect(!v.validate(try yaml("[]")).isEmpty)
        #expect(v.validate(try yaml("[{name: a}, {name: 1}]")).map(\.path) == ["/1/name"])
        #expect(v.validate(try yaml("[{name: a}, {name: a}]")).map(\.path) == [""])
    }

    @Test func propertyNamesAndPropertyCounts() throws {
        let v = try validator(#"{"type": "object", "propertyNames": {"maxLength": 2}, "minProperties": 1, "maxProperties": 2}"#)
        #expect(v.validate(try yaml("{ab: 1}")).isEmpty)
        #expect(v.validate(try yaml("{abc: 1}")).map(\.path) == ["/abc"])
        #expect(!v.validate(try yaml("{}")).isEmpty)
        #expect(!v.validate(try yaml("{a: 1, b: 2, c: 3}")).isEmpty)
    }

    @Test func conditionalsAndCombinators() throws {
        let v = try validator(#"""
            {"type": "object",
             "if": {"required": ["sso"], "properties": {"sso": {"const": "oidc"}}},
             "then": {"required": ["issuer"]},
             "else": {"properties": {"issuer": false}}}
            """#)
        #expect(v.validate(try yaml("{sso: oidc, issuer: x}")).isEmpty)
        #expect(!v.validate(try yaml("{sso: oidc}")).isEmpty)
        #expect(v.validate(try yaml("{sso: none, issuer: x}")).map(\.path) == ["/issuer"])
        #expect(v.validate(try yaml("{}")).isEmpty)

        let one = try validator(#"{"oneOf": [{"type": "integer"}, {"minimum": 0}]}"#)
        #expect(one.validate(.int(-1)).isEmpty)
        #expect(one.validate(.double(0.5)).isEmpty)
        #expect(!one.validate(.int(1)).isEmpty, "matches both")
        let any = try validator(#"{"anyOf": [{"type": "string"}, {"type": "null"}]}"#)
        #expect(any.validate(.null).isEmpty)
        #expect(!any.validate(.int(1)).isEmpty)
        let not = try validator(#"{"allOf": [{"type": "string"}, {"not": {"pattern": "^(0+[dhms])+$"}}]}"#)
        #expect(not.validate(.string("1h")).isEmpty)
        #expect(!not.validate(.string("0h0m")).isEmpty)
    }

    @Test func localReferences() throws {
        let v = try validator(#"""
            {"$defs": {"label": {"type": "string", "maxLength": 3}},
             "type": "object", "properties": {"a": {"$ref": "#/$defs/label"}, "b": {"$ref": "#/$defs/missing"}}}
            """#)
        #expect(v.validate(try yaml("a: abc")).isEmpty)
        #expect(v.validate(try yaml("a: abcd")).map(\.path) == ["/a"])
        #expect(v.validate(try yaml("b: x")).map(\.message) == [##"cannot resolve $ref "#/$defs/missing""##])
    }

    @Test func unsupportedKeywordsAreReported() throws {
        let v = try validator(#"{"patternProperties": {"^x": {"type": "string"}}}"#)
        #expect(!v.validate(.object([:])).isEmpty)
    }
}

@Suite struct YAMLDocumentsTests {
    @Test func scalarsFollowYAML12Core() throws {
        let value = try yaml("""
            quoted: "3"
            single: '3'
            integer: 3
            negative: -7
            hex: 0x1F
            octal: 0o17
            float: 0.7
            exponent: 1e3
            infinity: -.inf
            yes: yes
            on: off
            true: true
            null: null
            tilde: ~
            empty:
            timestamp: 2026-11-18T09:00:00Z
            date: 2026-11-18
            tagged: !!str 3
            version: 1.2.3
            """)
        let expected: [String: JSONValue] = [
            "quoted": .string("3"), "single": .string("3"), "integer": .int(3), "negative": .int(-7),
            "hex": .int(31), "octal": .int(15), "float": .double(0.7), "exponent": .double(1000),
            "infinity": .double(-.infinity), "yes": .string("yes"), "on": .string("off"),
            "true": .bool(true), "null": .null, "tilde": .null, "empty": .null,
            "timestamp": .string("2026-11-18T09:00:00Z"), "date": .string("2026-11-18"),
            "tagged": .string("3"), "version": .string("1.2.3"),
        ]
        #expect(value == .object(expected))
        #expect(value["integer"].map { JSONSchemaValidator.typeName(of: $0) } == "integer")
        #expect(value["float"].map { JSONSchemaValidator.typeName(of: $0) } == "number")
    }

    @Test func documentsAliasesAndEmptyDocuments() throws {
        let documents = try YAMLDocuments.load("""
            ---
            base: &b {x: 1}
            copy: *b
            ---
            ---
            # only a comment
            ---
            - a
            """)
        #expect(documents == [
            .object(["base": .object(["x": .int(1)]), "copy": .object(["x": .int(1)])]),
            .array([.string("a")]),
        ])
        #expect(try YAMLDocuments.load("# nothing\n").isEmpty)
    }

    @Test func malformedAndHostileInputFailsToLoad() {
        #expect(throws: (any Error).self) { try YAMLDocuments.load("a: [1, 2\n") }
        #expect(throws: (any Error).self) { try YAMLDocuments.load("a: 1\na: 2\n") }
        #expect(throws: (any Error).self) { try YAMLDocuments.load("a: !!int abc\n") }
        let deep = String(repeating: "[", count: 65) + String(repeating: "]", count: 65)
        #expect(throws: YAMLLoadError.self) { try YAMLDocuments.load(deep) }
        var bomb = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n"
        for level in 1...7 {
            bomb += "a\(level): &a\(level) [" + Array(repeating: "*a\(level - 1)", count: 10).joined(separator: ", ") + "]\n"
        }
        #expect(throws: YAMLLoadError.self) { try YAMLDocuments.load(bomb) }
    }
}
