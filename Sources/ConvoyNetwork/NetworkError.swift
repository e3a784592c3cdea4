#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A failed system call in the network layer: which operation, and the `errno` it returned.
/// A plain value: any thread.
public struct NetworkError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The operation, e.g. `connect to 127.0.0.1:8080` or `readv`. Any thread.
    public let operation: String
    /// The system error number. Any thread.
    public let errno: Int32

    /// Creates an error. Any thread.
    public init(operation: String, errno: Int32) {
        self.operation = operation
        self.errno = errno
    }

    /// `operation failed: <strerror> (errno N)`. Any thread.
    public var description: String {
        "\(operation) failed: \(String(cString: strerror(errno))) (errno \(errno))"
    }
}

/// The outcome of one non-blocking read or write. A plain value: any thread.
public enum IOResult: Equatable, Sendable {
    /// This many bytes moved (more than zero).
    case transferred(Int)
    /// The socket has nothing to give or no room to take (`EAGAIN`).
    case wouldBlock
    /// The peer ended its side of the stream (a read returned 0).
    case endOfStream
    /// The call failed for another reason.
    case failed(NetworkError)
}
