#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Two connected, non-blocking Unix stream sockets for event-layer tests, closed on release.
/// Confined to the thread that uses it (it is a test fixture, not a shared object).
public final class SocketPair {
    /// One end. The owning thread.
    public private(set) var first: Int32
    /// The other end. The owning thread.
    public private(set) var second: Int32

    /// Creates the pair (`socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC)`), both ends non-blocking.
    /// Close-on-exec matters: a child process spawned meanwhile (an exit test) must not keep a
    /// copy open, or closing one end would never look like end of stream to the other. The owning thread.
    public init() throws {
        var fds: [Int32] = [-1, -1]
        #if canImport(Glibc)
        let type = Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
        #else
        let type = SOCK_STREAM
        #endif
        guard socketpair(AF_UNIX, type, 0, &fds) == 0 else { throw TestSupportError.systemCall("socketpair", errno) }
        first = fds[0]
        second = fds[1]
        for fd in fds {
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        }
    }

    deinit {
        closeFirst()
        closeSecond()
    }

    /// Closes the first end now (a no-op if already closed): the other end sees the hang-up at
    /// once. The owning thread.
    public func closeFirst() {
        if first >= 0 { Self.hangUpAndClose(first); first = -1 }
    }

    /// Closes the second end now (a no-op if already closed): the other end sees the hang-up at
    /// once. The owning thread.
    public func closeSecond() {
        if second >= 0 { Self.hangUpAndClose(second); second = -1 }
    }

    /// `shutdown` before `close`: a child process being spawned meanwhile (an exit test, a
    /// process test) holds a copy of every descriptor between its fork and its exec, close-on-exec
    /// or not, and while it does, `close` alone is no hang-up. `shutdown` acts on the socket itself.
    private static func hangUpAndClose(_ fd: Int32) {
        _ = shutdown(fd, Int32(SHUT_RDWR))
        close(fd)
    }

    /// Writes all of `bytes` to `fd`; returns how many were accepted before `EAGAIN`. Any thread.
    @discardableResult
    public static func write(_ bytes: [UInt8], to fd: Int32) -> Int {
        bytes.withUnsafeBytes { raw in
            let written = Glibc.write(fd, raw.baseAddress, raw.count)
            return written < 0 ? 0 : written
        }
    }

    /// Reads whatever is available on `fd` without blocking (empty on `EAGAIN` or end of stream). Any thread.
    public static func readAvailable(from fd: Int32, max: Int = 65536) -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: max)
        let count = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, max) }
        return count > 0 ? Array(buffer.prefix(count)) : []
    }
}

/// A system call in a test fixture failed. Any thread.
public enum TestSupportError: Error, CustomStringConvertible {
    /// `call` failed with `errno`.
    case systemCall(String, Int32)

    /// A one-line explanation. Any thread.
    public var description: String {
        switch self {
        case .systemCall(let call, let errno): return "\(call) failed (errno \(errno))"
        }
    }
}
