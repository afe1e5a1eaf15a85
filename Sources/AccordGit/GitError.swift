import CLibGit2

/// A libgit2 failure: what Accord was doing, libgit2's code and message.
/// Messages never carry credentials: URLs are shown without their user info.
public struct GitError: Error, CustomStringConvertible, Sendable {
    public enum Reason: Sendable {
        case notFound
        case unreachable
        case authentication
        case invalid
        case other
    }

    public let operation: String
    public let code: Int32
    public let message: String
    /// libgit2's error class (`GIT_ERROR_NET`, `GIT_ERROR_ODB`, …); 0 when unknown.
    public let errorClass: Int32

    public var reason: Reason {
        switch code {
        case GIT_ENOTFOUND.rawValue: .notFound
        case GIT_EAUTH.rawValue: .authentication
        case GIT_EINVALIDSPEC.rawValue, GIT_EAMBIGUOUS.rawValue: .invalid
        case GIT_ECERTIFICATE.rawValue: .unreachable
        default: message.lowercased().contains("failed to resolve") || message.lowercased().contains("failed to connect") ? .unreachable : .other
        }
    }

    public init(operation: String, code: Int32, message: String, errorClass: Int32 = 0) {
        self.operation = operation
        self.code = code
        self.message = message
        self.errorClass = errorClass
    }

    /// A failure of the network or the remote (transport, TLS, HTTP, SSH,
    /// a credentials callback), as opposed to one of the local repository.
    public var isTransport: Bool {
        [GIT_ERROR_NET, GIT_ERROR_SSL, GIT_ERROR_SSH, GIT_ERROR_HTTP, GIT_ERROR_CALLBACK]
            .contains { Int32($0.rawValue) == errorClass } || code == GIT_EAUTH.rawValue || code == GIT_ECERTIFICATE.rawValue
    }

    public var description: String { "\(operation): \(message)" }

    /// Reads libgit2's last error right after a failed call.
    static func last(_ operation: String, code: Int32) -> GitError {
        let last = git_error_last()?.pointee
        let message = last?.message.map { String(cString: $0) } ?? "libgit2 error \(code)"
        return GitError(operation: operation, code: code, message: RemoteURL.redactingUserInfo(in: message),
                        errorClass: last?.klass ?? 0)
    }
}

/// Runs a libgit2 call and turns a negative return code into a `GitError`.
@discardableResult
func check(_ operation: @autoclosure () -> String, _ code: Int32) throws -> Int32 {
    guard code >= 0 else { throw GitError.last(operation(), code: code) }
    return code
}
