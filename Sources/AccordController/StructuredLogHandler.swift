import AccordCore
import Foundation
import Logging

/// Where log lines go: standard error, or a buffer in tests.
public protocol LogSink: Sendable {
    func write(_ line: String)
}

public struct StandardErrorSink: LogSink {
    public init() {}
    public func write(_ line: String) { FileHandle.standardError.write(Data((line + "\n").utf8)) }
}

/// Removes known secret texts from a line, whatever put them there: the
/// last guard behind the rule that secrets are never logged.
public struct LogRedactor: Sendable {
    let secrets: [String]

    /// Shorter texts are not scrubbed (they would mangle ordinary words);
    /// the rule that secrets are never logged does not rest on this guard.
    public static let minimumLength = 8

    public init(secrets: [String]) {
        // Longest first, so a secret that contains another is removed whole.
        self.secrets = secrets.filter { $0.count >= Self.minimumLength }.sorted { $0.count > $1.count }
    }

    public func redact(_ text: String) -> String {
        var out = text
        for s in secrets where out.contains(s) { out = out.replacingOccurrences(of: s, with: "***") }
        return out
    }
}

/// swift-log lines as JSON objects or logfmt `key=value` pairs: time,
/// level, logger, message, then the metadata sorted by key.
public struct StructuredLogHandler: LogHandler {
    public var logLevel: Logger.Level
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    let label: String
    let format: ControllerConfig.LogFormat
    let sink: any LogSink
    let redactor: LogRedactor

    public init(label: String, level: Logger.Level, format: ControllerConfig.LogFormat, sink: any LogSink, redactor: LogRedactor) {
        self.label = label
        self.logLevel = level
        self.format = format
        self.sink = sink
        self.redactor = redactor
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var fields = metadata
        if let provided = metadataProvider?.get() { fields.merge(provided) { $1 } }
        if let extra = event.metadata { fields.merge(extra) { $1 } }
        let pairs: [(String, Field)] = [
            ("time", .text(Self.timestamp())), ("level", .text(event.level.rawValue)), ("logger", .text(label)),
            ("msg", .text(event.message.description)),
        ] + fields.keys.sorted().map { ($0, Self.field(fields[$0]!)) }
        let line = format == .json ? Self.json(pairs) : Self.logfmt(pairs)
        sink.write(redactor.redact(line))
    }

    /// A metadata value as the line shows it: integers, finite doubles and
    /// booleans given as values (`.stringConvertible(3)`, `.seconds(d)`)
    /// are JSON numbers and booleans; everything else is text.
    enum Field: Equatable {
        case text(String)
        /// Already in JSON's number syntax.
        case number(String)
        case bool(Bool)

        var text: String {
            switch self {
            case .text(let s), .number(let s): s
            case .bool(let b): b ? "true" : "false"
            }
        }
    }

    static func field(_ value: Logger.Metadata.Value) -> Field {
        if case .stringConvertible(let c) = value {
            if let i = c as? any BinaryInteger { return .number("\(i)") }
            if let d = c as? Double, d.isFinite { return .number(JSONValue.number(d).canonical) }
            if let b = c as? Bool { return .bool(b) }
        }
        return .text(flatten(value))
    }

    static func flatten(_ value: Logger.Metadata.Value) -> String {
        switch value {
        case .string(let s): s
        case .stringConvertible(let c): c.description
        case .array(let items): "[" + items.map(flatten).joined(separator: ", ") + "]"
        case .dictionary(let d): "{" + d.keys.sorted().map { "\($0): \(flatten(d[$0]!))" }.joined(separator: ", ") + "}"
        }
    }

    static func json(_ pairs: [(String, Field)]) -> String {
        "{" + pairs.map { key, value in
            let rendered = switch value {
            case .text(let s): jsonString(s)
            case .number(let n): n
            case .bool(let b): b ? "true" : "false"
            }
            return "\(jsonString(key)):\(rendered)"
        }.joined(separator: ",") + "}"
    }

    static func jsonString(_ s: String) -> String {
        var out: [UInt8] = []
        JSONValue.writeString(s, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    static func logfmt(_ pairs: [(String, Field)]) -> String {
        pairs.map { key, field in
            let value = field.text
            let needsQuotes = value.isEmpty || value.contains { $0 == " " || $0 == "=" || $0 == "\"" || $0.isNewline }
            return needsQuotes ? "\(key)=\(jsonString(value))" : "\(key)=\(value)"
        }.joined(separator: " ")
    }

    static func timestamp() -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: Date())
    }
}

extension Logger.MetadataValue {
    /// A count, shown as a JSON number.
    public static func number(_ n: Int) -> Self { .stringConvertible(n) }

    /// A duration in seconds (to the millisecond), shown as a JSON number.
    public static func seconds(_ d: Duration) -> Self {
        .stringConvertible(((Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18) * 1000).rounded() / 1000)
    }

    /// A duration until a time, in seconds, shown as a JSON number.
    public static func seconds(until date: Date) -> Self { .stringConvertible((max(0, date.timeIntervalSinceNow) * 1000).rounded() / 1000) }
}
