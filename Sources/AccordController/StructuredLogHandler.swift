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
        let pairs: [(String, String)] = [
            ("time", Self.timestamp()), ("level", event.level.rawValue), ("logger", label), ("msg", event.message.description),
        ] + fields.keys.sorted().map { ($0, Self.flatten(fields[$0]!)) }
        let line = format == .json ? Self.json(pairs) : Self.logfmt(pairs)
        sink.write(redactor.redact(line))
    }

    static func flatten(_ value: Logger.Metadata.Value) -> String {
        switch value {
        case .string(let s): s
        case .stringConvertible(let c): c.description
        case .array(let items): "[" + items.map(flatten).joined(separator: ", ") + "]"
        case .dictionary(let d): "{" + d.keys.sorted().map { "\($0): \(flatten(d[$0]!))" }.joined(separator: ", ") + "}"
        }
    }

    static func json(_ pairs: [(String, String)]) -> String {
        "{" + pairs.map { "\(jsonString($0.0)):\(jsonString($0.1))" }.joined(separator: ",") + "}"
    }

    static func jsonString(_ s: String) -> String {
        var out: [UInt8] = []
        JSONValue.writeString(s, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    static func logfmt(_ pairs: [(String, String)]) -> String {
        pairs.map { key, value in
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
