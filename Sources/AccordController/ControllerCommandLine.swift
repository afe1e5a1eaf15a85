import AccordCore
import Foundation

/// `accord-controller`'s command line, read from the settings table
/// (`ControllerSettings.all`): `--flag VALUE` or `--flag=VALUE` for each
/// setting, `--prune` and `--no-prune` for a switch, `--help`, `--version`.
public enum ControllerCommandLine {
    public enum Parsed: Equatable, Sendable {
        /// Run with these flags (flag name without dashes → value).
        case run([String: String])
        case help
        case version
    }

    /// What the command line refuses; exit status 2, like every bad setting.
    public struct UsageError: Error, CustomStringConvertible, Equatable {
        public let description: String
    }

    public static func parse(_ arguments: [String]) throws(UsageError) -> Parsed {
        var flags: [String: String] = [:]
        var settings: [String: ControllerSetting] = [:]
        for s in ControllerSettings.all { settings[s.flag] = s }
        var i = 0
        while i < arguments.count {
            let argument = arguments[i]
            i += 1
            if argument == "-h" || argument == "--help" { return .help }
            if argument == "--version" { return .version }
            guard argument.hasPrefix("--"), argument.count > 2 else {
                throw UsageError(description: "unexpected argument \(Text.quoted(argument)): every setting is an option (--repo PATH|URL, …)")
            }
            var name = String(argument.dropFirst(2))
            var inline: String?
            if let equals = name.firstIndex(of: "=") {
                inline = String(name[name.index(after: equals)...])
                name = String(name[..<equals])
            }
            if name.hasPrefix("no-"), let s = settings[String(name.dropFirst(3))], s.isSwitch, inline == nil {
                flags[s.flag] = "false"
                continue
            }
            guard let setting = settings[name] else {
                let hint = suggestion(for: name).map { " (did you mean --\($0)?)" } ?? ""
                throw UsageError(description: "unknown option \(Text.quoted("--" + name))\(hint)")
            }
            if setting.isSwitch {
                guard inline == nil else { throw UsageError(description: "--\(name) takes no value (use --no-\(name) to turn it off)") }
                flags[name] = "true"
                continue
            }
            if let inline {
                flags[name] = inline
            } else {
                guard i < arguments.count, !arguments[i].hasPrefix("--") else {
                    throw UsageError(description: "--\(name) needs a value (\(setting.value ?? "VALUE"))")
                }
                flags[name] = arguments[i]
                i += 1
            }
        }
        return .run(flags)
    }

    /// The closest setting to a mistyped flag, when it is close.
    static func suggestion(for name: String) -> String? {
        let scored = ControllerSettings.all.map { ($0.flag, distance(name, $0.flag)) }.min { $0.1 < $1.1 }
        guard let (flag, d) = scored, d <= max(1, flag.count / 4) else { return nil }
        return flag
    }

    /// Levenshtein distance.
    static func distance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        guard !a.isEmpty else { return b.count }
        guard !b.isEmpty else { return a.count }
        var row = Array(0...b.count)
        for i in 1...a.count {
            var previous = row[0]
            row[0] = i
            for j in 1...b.count {
                let current = row[j]
                row[j] = min(row[j] + 1, row[j - 1] + 1, previous + (a[i - 1] == b[j - 1] ? 0 : 1))
                previous = current
            }
        }
        return row[b.count]
    }

    public static let overview = "Accord's daemon: watch a manifests repository and reconcile it into PostgreSQL continuously."

    public static let discussion = """
        Every option can also be set by the environment variable in brackets; an option given on the \
        command line wins. The controller keeps a bare mirror of a remote repository (or reads a local \
        one), reconciles once at start, on every new commit of --branch, on a signed webhook \
        (POST /hooks/git) and every --resync with a full pass that reverts drift. Objects the database \
        refuses are retried with per-object exponential backoff (--retry-min to --retry-max) while the \
        others apply; failed fetches back off the same way (condition SourceUnavailable), and a damaged \
        mirror is cloned anew. Replicas sharing a database elect one leader through a PostgreSQL advisory lock; \
        the others stand by. HTTP: /healthz, /readyz, /metrics, /hooks/git, /api/v1/objects. SIGTERM or \
        SIGINT lets the transaction in hand commit, stops the pass there (every object whole; \
        the rest waits for the next pass), releases the lock and exits 0 within 10 s. See docs/controller.md. \
        Exit status: 0 after a clean shutdown, 1 when the HTTP server or the service group fails, \
        2 for a bad setting (nothing is started). Durations are 250ms, 30s, 5m, 1h or a number of seconds.
        """

    /// `accord-controller --help`, made from the settings table.
    public static var help: String {
        var out = "OVERVIEW: \(overview)\n\n\(wrap(discussion, indent: 0))\n\nUSAGE: accord-controller [OPTIONS]\n\nOPTIONS:\n"
        var rows: [(String, String)] = ControllerSettings.all.map { s in
            let name = s.isSwitch ? "--\(s.flag), --no-\(s.flag)" : "--\(s.flag) \(s.value ?? "")"
            let fallback = s.required ? "required" : "default \(plain(s.defaultText))"
            return (name, "\(plain(s.help)) [\(s.env); \(fallback)]")
        }
        rows += [("--version", "Print the version and exit."), ("-h, --help", "Show this help and exit.")]
        let width = rows.map(\.0.count).max() ?? 0
        for (name, text) in rows {
            let padded = name.padding(toLength: width, withPad: " ", startingAt: 0)
            out += "  \(padded)  " + wrap(text, indent: width + 4).dropFirst(width + 4) + "\n"
        }
        return out
    }

    /// Markdown code spans read as plain text on a terminal.
    static func plain(_ text: String) -> String { text.replacingOccurrences(of: "`", with: "") }

    /// Words wrapped at 100 columns, every line indented by `indent`.
    static func wrap(_ text: String, indent: Int, width: Int = 100) -> String {
        let pad = String(repeating: " ", count: indent)
        var lines: [String] = []
        var line = pad
        for word in text.split(separator: " ") {
            if line.count > indent, line.count + 1 + word.count > width {
                lines.append(line)
                line = pad
            }
            line += (line.count > indent ? " " : "") + word
        }
        lines.append(line)
        return lines.joined(separator: "\n")
    }
}
