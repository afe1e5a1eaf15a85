import Foundation
import Testing

/// Checks the JSON Schemas in `manifests/schemas/` against themselves and
/// against the manifests in `examples/platform/` (all valid) and
/// `examples/invalid/` (each says whether a schema can reject it).

/// The package root: `Tests/SchemaTests/<this file>` is three levels below it.
let packageRoot = URL(filePath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

enum Fixtures {
    static let schemaDirectory = packageRoot.appending(path: "manifests/schemas")
    static let kinds = ["Tenant", "Worker", "Workflow", "RetentionPolicy", "Model", "Erasure", "Store", "Notification"]
    static let combinedFile = "accord.schema.json"
    static let schemaFiles = kinds.map(schemaFile(for:)) + [combinedFile]
    static let draft = "https://json-schema.org/draft/2020-12/schema"

    static func schemaFile(for kind: String) -> String { kind.lowercased() + ".schema.json" }

    static func loadSchema(_ file: String) throws -> JSONValue {
        try JSONValue.parse(Data(contentsOf: schemaDirectory.appending(path: file)))
    }

    /// `*.yaml` / `*.yml` files under `examples/<directory>`, relative to the
    /// package root, sorted; hidden files and directories are skipped, as
    /// Accord skips them.
    static func manifests(in directory: String) -> [String] {
        let base = "examples/\(directory)"
        let walker = FileManager.default.enumerator(atPath: packageRoot.appending(path: base).path)
        return (walker?.allObjects ?? []).compactMap { $0 as? String }
            .filter { $0.hasSuffix(".yaml") || $0.hasSuffix(".yml") }
            .filter { !$0.split(separator: "/").contains { $0.hasPrefix(".") } }
            .map { "\(base)/\($0)" }
            .sorted()
    }

    static func isSymbolicLink(_ relativePath: String) -> Bool {
        let values = try? packageRoot.appending(path: relativePath).resourceValues(forKeys: [.isSymbolicLinkKey])
        return values?.isSymbolicLink == true
    }
}

/// Validators for one test: the schema of each kind, and the dispatcher.
struct Validators {
    let byKind: [String: JSONSchemaValidator]
    let combined: JSONSchemaValidator

    init() throws {
        var byKind: [String: JSONSchemaValidator] = [:]
        for kind in Fixtures.kinds {
            byKind[kind] = JSONSchemaValidator(schema: try Fixtures.loadSchema(Fixtures.schemaFile(for: kind)))
        }
        self.byKind = byKind
        combined = JSONSchemaValidator(schema: try Fixtures.loadSchema(Fixtures.combinedFile))
    }

    /// Errors of a document under the schema of its kind (the dispatcher
    /// when the kind is unknown or missing).
    func errors(of document: JSONValue) -> [SchemaError] {
        let validator = document["kind"]?.string.flatMap { byKind[$0] } ?? combined
        return validator.validate(document)
    }
}

/// Loads a manifest file, or says why it cannot be read as YAML.
func loadManifest(_ relativePath: String) -> Result<[JSONValue], YAMLLoadError> {
    guard let data = try? Data(contentsOf: packageRoot.appending(path: relativePath)) else {
        return .failure(YAMLLoadError(description: "cannot read the file"))
    }
    guard let text = String(validating: data, as: UTF8.self) else {
        return .failure(YAMLLoadError(description: "not UTF-8"))
    }
    do {
        return .success(try YAMLDocuments.load(text))
    } catch let error as YAMLLoadError {
        return .failure(error)
    } catch {
        return .failure(YAMLLoadError(description: "YAML: \(error)"))
    }
}

// MARK: - (a) The schema files

@Suite struct SchemaFileTests {
    @Test(arguments: Fixtures.schemaFiles)
    func schemaFileIsWellFormed(_ file: String) throws {
        let schema = try Fixtures.loadSchema(file)
        #expect(schema["$schema"] == .string(Fixtures.draft))
        let name = file.replacingOccurrences(of: ".schema.json", with: "")
        #expect(schema["$id"] == .string("https://accord.dev/schemas/v1/\(name).json"))
        #expect(schema["type"] == .string("object"))
        #expect(schema["title"]?.string != nil && schema["description"]?.string != nil)
        #expect(SchemaLint.problems(in: schema).isEmpty, "\(file): \(SchemaLint.problems(in: schema))")
    }

    @Test(arguments: Fixtures.kinds)
    func kindSchemaPinsTheEnvelope(_ kind: String) throws {
        let schema = try Fixtures.loadSchema(Fixtures.schemaFile(for: kind))
        let properties = try #require(schema["properties"])
        #expect(properties["apiVersion"]?["const"] == .string("accord.dev/v1"))
        #expect(properties["kind"]?["const"] == .string(kind))
        #expect(schema["required"] == .array(["apiVersion", "kind", "metadata", "spec"].map(JSONValue.string)))
        let validator = JSONSchemaValidator(schema: schema)
        let metadata = try #require(properties["metadata"])
        let tenantScoped = ["Worker", "Workflow", "Erasure"].contains(kind)
        let named: JSONValue = .object(["name": .string("acme")])
        let withTenant: JSONValue = .object(["name": .string("acme"), "tenant": .string("acme")])
        #expect(validator.isValid(named, metadata) == !tenantScoped)
        #expect(validator.isValid(withTenant, metadata) == tenantScoped)
        let tooLong = String(repeating: "a", count: 64)
        #expect(!validator.isValid(.object(["name": .string(tooLong)]), metadata))
        #expect(!validator.isValid(.object(["name": .string("Acme")]), metadata))
    }

    /// `accord.schema.json` embeds the kind schemas so that editors need not
    /// resolve references across files; it must not drift from them.
    @Test func combinedSchemaEmbedsEveryKindSchema() throws {
        let combined = try Fixtures.loadSchema(Fixtures.combinedFile)
        let definitions = try #require(combined["$defs"]?.object)
        #expect(combined["properties"]?["kind"]?["enum"] == .array(Fixtures.kinds.map(JSONValue.string)))
        for kind in Fixtures.kinds {
            var schema = try #require(try Fixtures.loadSchema(Fixtures.schemaFile(for: kind)).object)
            for (name, definition) in schema["$defs"]?.object ?? [:] {
                #expect(definitions[name] == definition, "$defs/\(name) of \(kind) differs in \(Fixtures.combinedFile)")
            }
            for key in ["$schema", "$id", "$defs"] { schema[key] = nil }
            #expect(definitions[kind] == .object(schema), "\(kind) differs in \(Fixtures.combinedFile)")
            let dispatch = combined["allOf"]?.array?.first { $0["if"]?["properties"]?["kind"]?["const"] == .string(kind) }
            #expect(dispatch?["then"]?["$ref"] == .string("#/$defs/\(kind)"))
        }
    }

    @Test func dispatcherRejectsUnknownAndMissingKinds() throws {
        let combined = JSONSchemaValidator(schema: try Fixtures.loadSchema(Fixtures.combinedFile))
        let unknown: JSONValue = .object(["apiVersion": .string("accord.dev/v1"), "kind": .string("Gadget")])
        #expect(combined.validate(unknown).contains { $0.path == "/kind" })
        #expect(!combined.validate(.object(["apiVersion": .string("accord.dev/v1")])).isEmpty)
    }
}

/// Static checks on a schema document: every `$ref` resolves, every pattern
/// compiles, only keywords the validator knows are used, every object schema
/// says what it does with unknown properties, and every property is described.
enum SchemaLint {
    static func problems(in root: JSONValue) -> [String] {
        var problems: [String] = []
        func visit(_ node: JSONValue, _ path: String, described: Bool) {
            guard let s = node.object else { return }
            for key in s.keys where !JSONSchemaValidator.supportedKeywords.contains(key)
                && !JSONSchemaValidator.annotationKeywords.contains(key) {
                problems.append("\(path): unknown keyword \(key)")
            }
            if let ref = s["$ref"]?.string, ref.hasPrefix("#/") {
                if resolve(ref, in: root) == nil { problems.append("\(path): $ref \(ref) does not resolve") }
            } else if s["$ref"] != nil {
                problems.append("\(path): only local $refs are used")
            }
            if let pattern = s["pattern"]?.string, (try? NSRegularExpression(pattern: pattern)) == nil {
                problems.append("\(path): pattern does not compile")
            }
            // The dispatcher (an object schema whose allOf branches hold the
            // whole definition) is the one object schema that may leave it out.
            if s["type"] == .string("object"), s["additionalProperties"] == nil, s["allOf"] == nil {
                problems.append("\(path): object without additionalProperties")
            }
            for (name, property) in s["properties"]?.object ?? [:] {
                if described, property.object != nil, property["description"] == nil {
                    problems.append("\(path)/properties/\(name): no description")
                }
                visit(property, "\(path)/properties/\(name)", described: described)
            }
            for key in ["items", "additionalProperties", "propertyNames"] {
                if let sub = s[key] { visit(sub, "\(path)/\(key)", described: false) }
            }
            for (name, definition) in s["$defs"]?.object ?? [:] {
                visit(definition, "\(path)/$defs/\(name)", described: true)
            }
            for key in ["allOf", "anyOf", "oneOf"] {
                for (i, sub) in (s[key]?.array ?? []).enumerated() { visit(sub, "\(path)/\(key)/\(i)", described: false) }
            }
            for key in ["not", "if", "then", "else"] {
                if let sub = s[key] { visit(sub, "\(path)/\(key)", described: false) }
            }
        }
        visit(root, "#", described: true)
        return problems
    }

    static func resolve(_ ref: String, in root: JSONValue) -> JSONValue? {
        var node: JSONValue? = root
        for token in ref.dropFirst(2).split(separator: "/") { node = node?[String(token)] }
        return node
    }
}

// MARK: - (b) examples/platform: every document is valid

@Suite struct PlatformExampleTests {
    static let files = Fixtures.manifests(in: "platform") + Fixtures.manifests(in: "notifications")

    @Test func platformExamplesExist() {
        #expect(!Self.files.isEmpty, "examples/platform is missing or holds no *.yaml / *.yml file")
    }

    @Test(arguments: files)
    func everyDocumentIsValid(_ file: String) throws {
        let validators = try Validators()
        let documents = try loadManifest(file).get()
        #expect(!documents.isEmpty, "\(file) holds no document")
        for (index, document) in documents.enumerated() {
            let kind = document["kind"]?.string ?? "?"
            #expect(Fixtures.kinds.contains(kind), "\(file) document \(index + 1): unknown kind \(kind)")
            let errors = validators.errors(of: document)
            #expect(errors.isEmpty, "\(file) document \(index + 1) (\(kind)): \(errors)")
            let dispatched = validators.combined.validate(document)
            #expect(dispatched == errors, "\(file) document \(index + 1): \(Fixtures.combinedFile) disagrees: \(dispatched)")
        }
    }
}

// MARK: - (c) examples/invalid: each file says whether a schema can reject it

/// The comment lines every invalid example starts with:
///
///     # error: <what is wrong>                    (one or more)
///     # at: LINE:COL                              (one or more), or
///     # expect: LINE:COL: <Accord's message>      (one or more)
///     # schema: rejects | accepts
struct InvalidExampleHeader {
    enum Verdict: String { case rejects, accepts }

    var errors: [String] = []
    var places: [String] = []
    /// Field paths named by `expect:` lines (`spec.steps[0].name`), dotted: `spec.steps.0.name`.
    var fields: [String] = []
    var verdict: Verdict?

    init(_ data: Data) {
        for line in data.split(separator: UInt8(ascii: "\n")) {
            let text = String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            guard text.hasPrefix("#") else { break }
            let body = text.dropFirst().trimmingCharacters(in: .whitespaces)
            guard let colon = body.firstIndex(of: ":") else { continue }
            let value = body[body.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            switch body[..<colon] {
            case "error": errors.append(value)
            case "at": places.append(value)
            case "expect":
                let parts = value.split(separator: ":", maxSplits: 3).map { $0.trimmingCharacters(in: .whitespaces) }
                places.append(parts.prefix(2).joined(separator: ":"))
                if parts.count == 4 {
                    fields.append(parts[2].replacingOccurrences(of: "[", with: ".").replacingOccurrences(of: "]", with: ""))
                }
            case "schema": verdict = Verdict(rawValue: value)
            default: continue
            }
        }
    }

    /// Whether a schema error is about the field an `expect:` line names:
    /// the same node, one inside it, or one containing it.
    func concerns(_ error: SchemaError) -> Bool {
        let path = error.path.split(separator: "/").map {
            $0.replacingOccurrences(of: "~1", with: "/").replacingOccurrences(of: "~0", with: "~")
        }.joined(separator: ".")
        return fields.contains { path == $0 || path.hasPrefix($0 + ".") || $0.hasPrefix(path + ".") }
    }

    var isComplete: Bool {
        !errors.isEmpty && !places.isEmpty && verdict != nil
            && places.allSatisfy { $0.wholeMatch(of: /[1-9][0-9]*:[1-9][0-9]*/) != nil }
    }
}

@Suite struct InvalidExampleTests {
    static let files = Fixtures.manifests(in: "invalid")

    @Test func invalidExamplesExist() {
        #expect(!Self.files.isEmpty, "examples/invalid is missing or holds no *.yaml / *.yml file")
    }

    @Test(arguments: files)
    func schemaVerdictMatchesHeader(_ file: String) throws {
        // A symbolic link is refused by Accord before anything reads it, and
        // this test does not follow it either.
        if Fixtures.isSymbolicLink(file) { return }
        let header = InvalidExampleHeader(try Data(contentsOf: packageRoot.appending(path: file)))
        try #require(header.isComplete, "\(file) must start with '# error:', '# at: LINE:COL' (or '# expect: LINE:COL: …') and '# schema: rejects|accepts' lines")

        let validators = try Validators()
        switch loadManifest(file) {
        case .failure(let error):
            #expect(header.verdict == .rejects, "\(file) is marked 'accepts' but cannot be loaded: \(error)")
        case .success(let documents):
            #expect(!documents.isEmpty, "\(file) holds no document")
            var failures: [String] = []
            var onTheExpectedField = false
            for (index, document) in documents.enumerated() {
                let errors = validators.errors(of: document)
                if !errors.isEmpty { failures.append("document \(index + 1): \(errors)") }
                if errors.contains(where: header.concerns) { onTheExpectedField = true }
                let dispatched = validators.combined.validate(document)
                #expect(dispatched.isEmpty == errors.isEmpty,
                        "\(file) document \(index + 1): \(Fixtures.combinedFile) disagrees: \(dispatched)")
            }
            switch header.verdict {
            case .rejects:
                #expect(!failures.isEmpty, "\(file) is marked 'schema: rejects' but every document passes the schema")
                if !header.fields.isEmpty && !failures.isEmpty {
                    #expect(onTheExpectedField, "\(file): the schema rejects it, but not at \(header.fields): \(failures)")
                }
            case .accepts:
                #expect(failures.isEmpty, "\(file) is marked 'schema: accepts' but: \(failures)")
            case nil:
                break
            }
        }
    }
}
