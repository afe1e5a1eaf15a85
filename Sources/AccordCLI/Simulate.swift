import AccordCore
import AccordEngine
import AccordManifests
import ArgumentParser
import Foundation

struct Simulate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Dry-run a workflow against a context, without touching live state.",
        subcommands: [SimulateWorkflow.self]
    )
}

struct SimulateWorkflow: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "workflow",
        abstract: "Show a workflow's execution order in parallel groups, which steps run or are skipped and why, its approval gates and the SLA of its critical path.",
        discussion: """
            The workflow is read from git like every command reads manifests (--repo, --ref, --path), \
            and the whole repository must be valid. --context names a JSON or YAML file holding the \
            mapping that `context.` in `when` rules refers to (default: an empty mapping). \
            Rules comparing values of different types are errors, not guesses. \
            Exit status: 0, or 2 on error (invalid manifests, no such workflow, an unreadable context, \
            a type error in a rule).
            """
    )

    @Argument(help: "TENANT/NAME of the workflow.")
    var workflow: String

    @Option(help: "JSON or YAML file: the context the rules read.")
    var context: String?

    @OptionGroup var source: SourceOptions
    @OptionGroup var output: OutputOptions

    func validate() throws {
        let parts = workflow.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
            throw ValidationError("\(Text.quoted(workflow)) is not TENANT/NAME")
        }
    }

    func run() async throws {
        let parts = workflow.split(separator: "/").map(String.init)
        let id = ObjectID(kind: .workflow, tenant: parts[0], name: parts[1])
        let contextValue = try readContext()
        let loaded = try await DesiredSource.loadManifests(source, opened: try await DesiredSource.open(source), format: output.format)
        guard let manifest = loaded.set.manifests.first(where: { $0.id == id }), case .workflow(let spec) = manifest.spec else {
            Console.error(CLIError("\(id) is not in the manifests\(loaded.revision.map { " at \($0.prefix(12))" } ?? "")"))
            throw ExitCode(2)
        }
        let simulation: WorkflowSimulation
        do {
            simulation = try WorkflowSimulation.run(spec, context: contextValue)
        } catch let failure as WorkflowSimulation.Failure {
            for problem in failure.problems { Console.error(CLIError("\(manifest.source.file): \(id): \(problem)")) }
            throw ExitCode(2)
        }
        switch output.format {
        case .json: Console.write(Self.json(simulation, id: id, revision: loaded.revision))
        case .markdown: Console.write(Self.markdown(simulation, id: id, revision: loaded.revision))
        case .text: Console.write(Self.text(simulation, id: id))
        }
    }

    func readContext() throws -> JSONValue {
        guard let path = context else { return .object([:]) }
        guard let data = FileManager.default.contents(atPath: path) else {
            Console.error(CLIError("cannot read the context file \(path)"))
            throw ExitCode(2)
        }
        let bytes = [UInt8](data)
        if let json = try? JSONParser.parse(String(decoding: bytes, as: UTF8.self)) {
            return try Self.requireMapping(json, path)
        }
        let read = YAMLReader.read(bytes, file: path)
        if let problem = read.diagnostics.first {
            Console.error(CLIError("the context file is neither JSON nor valid YAML: \(problem)"))
            throw ExitCode(2)
        }
        return try Self.requireMapping(read.documents.first.map(Self.value) ?? .object([:]), path)
    }

    static func requireMapping(_ value: JSONValue, _ path: String) throws -> JSONValue {
        guard case .object = value else {
            Console.error(CLIError("the context file \(path) must hold a mapping (the object `context.` refers to)"))
            throw ExitCode(2)
        }
        return value
    }

    /// A YAML node as the JSON value it denotes (YAML 1.2 core types).
    static func value(_ node: YAMLNode) -> JSONValue {
        switch node.content {
        case .mapping(let pairs):
            return .object(Dictionary(pairs.map { ($0.key.scalarText ?? "", value($0.value)) }, uniquingKeysWith: { _, b in b }))
        case .sequence(let items): return .array(items.map(value))
        case .scalar:
            switch node.scalar {
            case .string(let s)?: return .string(s)
            case .integer(let i)?: return .number(Double(i))
            case .number(let d)?: return .number(d)
            case .bool(let b)?: return .bool(b)
            case .null?: return .null
            // A tag outside the core schema: its text, as written.
            case nil: return node.scalarText.map { .string($0) } ?? .null
            }
        }
    }

    static func text(_ s: WorkflowSimulation, id: ObjectID) -> String {
        var out = "\(id): \(s.groups.count) parallel group(s)\n"
        var group = 0
        // The steps come in group order.
        for r in s.steps {
            if r.group != group {
                group = r.group
                out += "group \(group): \(s.groups[group - 1].joined(separator: ", "))\n"
            }
            var line = "  \(r.runs ? "✓ runs" : "✗ skipped") \(r.step.name) (worker \(r.step.worker)"
            if let sla = r.step.sla { line += ", SLA \(sla.text)" }
            line += ")"
            if let reason = r.skipReason { line += ": \(reason)" }
            out += line + "\n"
            for rule in r.rules {
                out += "      when \(rule.rule.field) \(rule.rule.op.rawValue)\(WorkflowSimulation.operandText(rule.rule.operand)): "
                    + "\(rule.holds ? "true" : "false") (\(WorkflowSimulation.seenText(rule.seen)))\n"
            }
            if let below = r.step.approvalBelow {
                out += "      approval gate: output with confidence below \(JSONValue.number(below).display) goes to a human\n"
            }
        }
        let path = s.criticalPath.isEmpty ? "no step runs" : s.criticalPath.joined(separator: " → ")
        out += "critical path: \(path), SLA \(WorkflowSimulation.durationText(s.criticalPathSeconds))\n"
        let ran = s.steps.filter(\.runs).count
        return out + "\(ran) of \(s.steps.count) steps run\n"
    }

    static func json(_ s: WorkflowSimulation, id: ObjectID, revision: String?) -> String {
        JSONOutput.render(.object([
            "formatVersion": .number(1),
            "workflow": .string(id.description),
            "revision": JSONValue(revision),
            "groups": .array(s.groups.map { JSONValue(strings: $0) }),
            "steps": .array(s.steps.map { r in
                .object([
                    "name": .string(r.step.name), "worker": .string(r.step.worker), "group": JSONValue(r.group),
                    "runs": .bool(r.runs), "skipReason": JSONValue(r.skipReason),
                    "dependsOn": JSONValue(strings: r.step.dependsOn),
                    "sla": JSONValue(r.step.sla?.text),
                    "approval": r.step.approvalBelow.map { .object(["confidenceBelow": .number($0)]) } ?? .null,
                    "when": .array(r.rules.map { rule in
                        var entry: [String: JSONValue] = [
                            "field": .string(rule.rule.field), "operator": .string(rule.rule.op.rawValue),
                            "seen": rule.seen ?? .null, "missing": .bool(rule.seen == nil), "holds": .bool(rule.holds),
                        ]
                        entry["value"] = operandJSON(rule.rule.operand)
                        return .object(entry)
                    }),
                ])
            }),
            "criticalPath": .object([
                "steps": JSONValue(strings: s.criticalPath),
                "slaSeconds": JSONValue(s.criticalPathSeconds),
                "sla": .string(WorkflowSimulation.durationText(s.criticalPathSeconds)),
            ]),
        ]))
    }

    /// What a rule compares with; nil for `exists`, which takes no value.
    static func operandJSON(_ operand: Rule.Operand) -> JSONValue? {
        switch operand {
        case .none: nil
        case .scalar(let s): JSONValue(s)
        case .list(let items): .array(items.map(JSONValue.init))
        }
    }

    /// A pull-request comment: a table of the steps in group order, whole
    /// rows only and under `limit` characters (the steps that do not fit are
    /// counted, not cut).
    static func markdown(_ s: WorkflowSimulation, id: ObjectID, revision: String?, limit: Int = 60_000) -> String {
        let ran = s.steps.filter(\.runs).count
        let steps = s.criticalPath
        let path = steps.isEmpty ? "no step runs"
            : steps.count <= 12 ? steps.joined(separator: " → ")
            : (steps.prefix(3) + ["… \(steps.count - 6) more …"] + steps.suffix(3)).joined(separator: " → ")
        var head = "### Simulation of \(id)\n\n"
        if let revision { head += "Revision `\(revision.prefix(12))`. " }
        head += "\(ran) of \(s.steps.count) steps run, in \(s.groups.count) parallel group(s). "
        head += "Critical path: \(ValidationReport.escapeCell(path)), SLA \(WorkflowSimulation.durationText(s.criticalPathSeconds)).\n\n"
        head += "| group | step | worker | SLA | outcome | rules and gates |\n|---|---|---|---|---|---|\n"
        var out = head
        for (i, r) in s.steps.enumerated() {
            var notes = r.rules.map { rule in
                "\(rule.rule.field) \(rule.rule.op.rawValue)\(WorkflowSimulation.operandText(rule.rule.operand)): "
                    + "\(rule.holds ? "true" : "false") (\(WorkflowSimulation.seenText(rule.seen)))"
            }
            if let below = r.step.approvalBelow {
                notes.append("approval gate: confidence below \(JSONValue.number(below).display) goes to a human")
            }
            let outcome = r.runs ? "✓ runs" : "✗ skipped: \(r.skipReason ?? "")"
            let cells = [String(r.group), r.step.name, r.step.worker, r.step.sla?.text ?? "-", outcome,
                         notes.isEmpty ? "-" : notes.joined(separator: "<br>")]
            let row = "| " + cells.map { ValidationReport.escapeCell(Text.escapingControls($0)) }.joined(separator: " | ") + " |\n"
            let rest = s.steps.count - i
            let footer = "\n…and \(rest) more step(s) not shown; run `accordctl simulate workflow \(id.tenant ?? "")/\(id.name)` for all of them.\n"
            if out.utf8.count + row.utf8.count + footer.utf8.count > limit - 200 {
                return out + footer
            }
            out += row
        }
        return out
    }
}
