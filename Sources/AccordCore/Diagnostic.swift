/// A place in a manifests repository: a file relative to the repository root,
/// with a 1-based line and column (columns count Unicode scalars).
public struct SourcePosition: Hashable, Sendable, Comparable, Codable, CustomStringConvertible {
    public let file: String
    public let line: Int
    public let column: Int

    public init(file: String, line: Int, column: Int) {
        self.file = file
        self.line = line
        self.column = column
    }

    /// The start of a file, for problems that concern the file as a whole.
    public static func start(of file: String) -> SourcePosition {
        SourcePosition(file: file, line: 1, column: 1)
    }

    /// `file:line:col`, with control characters in the path escaped.
    public var description: String { "\(Text.escapingControls(file)):\(line):\(column)" }

    public static func < (lhs: SourcePosition, rhs: SourcePosition) -> Bool {
        (lhs.file, lhs.line, lhs.column) < (rhs.file, rhs.line, rhs.column)
    }
}

/// One problem found in a manifests repository, at the place that causes it.
public struct Diagnostic: Hashable, Sendable, Comparable, Codable, CustomStringConvertible, Error {
    public let position: SourcePosition
    public let message: String

    public init(_ position: SourcePosition, _ message: String) {
        self.position = position
        self.message = message
    }

    /// `file:line:col: message`, the form every tool prints.
    public var description: String { "\(position): \(message)" }

    public static func < (lhs: Diagnostic, rhs: Diagnostic) -> Bool {
        (lhs.position, lhs.message) < (rhs.position, rhs.message)
    }
}

/// A settings file with problems: every one of them, each at its place.
public struct SettingsFileError: Error, CustomStringConvertible, Sendable {
    /// What the file is ("verification policy", "regions file").
    public let what: String
    public let diagnostics: [Diagnostic]

    public init(what: String, diagnostics: [Diagnostic]) {
        self.what = what
        self.diagnostics = diagnostics
    }

    public var description: String {
        "the \(what) is invalid: " + diagnostics.map(\.description).joined(separator: "; ")
    }
}
