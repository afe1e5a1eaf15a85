/// How a reconcile pass read its input (docs/engine.md).
public enum PassKind: String, Sendable, Codable, CaseIterable {
    /// The no-op proved without reading the manifests or the rows.
    case fast
    /// Only the changed files read and only their objects planned.
    case incremental
    /// Every manifest read and every live row compared.
    case full
    /// Only the objects written outside Accord (heard as they happened)
    /// planned, at the revision already applied: a drift revert.
    case targeted
}

/// How a pass of the daemon ended.
public enum PassResult: String, Sendable, Codable, CaseIterable {
    /// The plan ran (some objects may have failed: they have their own conditions).
    case ok
    /// Stopped between two transactions at shutdown; every object whole.
    case interrupted
    /// The deletion guard refused the plan; nothing was written.
    case refused
    /// The revision's manifests are invalid; nothing was planned.
    case invalid
    /// The pass could not run (the database or the repository failed); retried with backoff.
    case error
}

extension PassKind: CustomStringConvertible { public var description: String { rawValue } }
extension PassResult: CustomStringConvertible { public var description: String { rawValue } }
