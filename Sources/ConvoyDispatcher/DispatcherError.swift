/// A failure of the event layer that a caller can handle: libevent refused an operation (out of
/// memory, an invalid descriptor) or a resource is owned elsewhere. Misuse — calling a
/// thread-confined API from the wrong thread — is not an error but a trap whose message names the
/// call. A plain value: any thread.
public enum DispatcherError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A libevent call failed. `operation` names the call and what it was for; `errno` is the
    /// system error seen right after it (0 when libevent set none).
    case libeventCallFailed(operation: String, errno: Int32)
    /// Only one dispatcher per process may handle signals (libevent's signal handling is
    /// process-wide); `owner` is the name of the dispatcher that already does.
    case signalsHandledByAnotherDispatcher(owner: String)

    /// A one-line explanation. Any thread.
    public var description: String {
        switch self {
        case .libeventCallFailed(let operation, let errno):
            return errno == 0 ? "libevent: \(operation) failed" : "libevent: \(operation) failed (errno \(errno))"
        case .signalsHandledByAnotherDispatcher(let owner):
            return "signals are already handled by dispatcher '\(owner)'; only one dispatcher per process may handle them"
        }
    }
}
