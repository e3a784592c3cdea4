#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Thin wrappers over the socket system calls: `EINTR` is retried, `EAGAIN` becomes
/// ``IOResult/wouldBlock``, any other `errno` becomes a ``NetworkError`` naming the operation.
/// Any thread (they act on the descriptor they are given).
enum Syscalls {
    /// `socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC)`.
    static func streamSocket(family: Int32, for address: SocketAddress) throws(NetworkError) -> Int32 {
        #if canImport(Glibc)
        let type = Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
        #else
        let type = SOCK_STREAM
        #endif
        let fd = socket(family, type, 0)
        guard fd >= 0 else { throw NetworkError(operation: "socket for \(address)", errno: errno) }
        return fd
    }

    static func setOption(_ fd: Int32, level: Int32, name: Int32, value: Int32, what: String) throws(NetworkError) {
        var value = value
        guard setsockopt(fd, level, name, &value, socklen_t(MemoryLayout<Int32>.size)) == 0 else {
            throw NetworkError(operation: "setsockopt \(what)", errno: errno)
        }
    }

    static func bind(_ fd: Int32, to address: SocketAddress) throws(NetworkError) {
        let result = address.withSockaddr { Glibc.bind(fd, $0, $1) }
        guard result == 0 else { throw NetworkError(operation: "bind to \(address)", errno: errno) }
    }

    static func listen(_ fd: Int32, backlog: Int32, address: SocketAddress) throws(NetworkError) {
        guard Glibc.listen(fd, backlog) == 0 else { throw NetworkError(operation: "listen on \(address)", errno: errno) }
    }

    /// `accept`, then non-blocking and close-on-exec (`accept4` is a GNU extension the Glibc
    /// module does not expose); nil on `EAGAIN`.
    static func accept(_ fd: Int32) throws(NetworkError) -> (fd: Int32, peer: SocketAddress?)? {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        while true {
            let accepted = withUnsafeMutablePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    Glibc.accept(fd, $0, &length)
                }
            }
            if accepted >= 0 {
                _ = fcntl(accepted, F_SETFL, fcntl(accepted, F_GETFL) | O_NONBLOCK)
                _ = fcntl(accepted, F_SETFD, FD_CLOEXEC)
                return (accepted, SocketAddress(storage: storage))
            }
            switch errno {
            case EINTR: continue
            case EAGAIN, EWOULDBLOCK: return nil
            case ECONNABORTED: continue  // the peer gave up before we accepted: take the next one
            default: throw NetworkError(operation: "accept", errno: errno)
            }
        }
    }

    /// Starts a non-blocking connect: true when already connected, false when in progress.
    static func connect(_ fd: Int32, to address: SocketAddress) throws(NetworkError) -> Bool {
        while true {
            let result = address.withSockaddr { Glibc.connect(fd, $0, $1) }
            if result == 0 { return true }
            switch errno {
            case EINTR: continue
            case EINPROGRESS, EAGAIN: return false
            default: throw NetworkError(operation: "connect to \(address)", errno: errno)
            }
        }
    }

    /// The pending error of a socket (`SO_ERROR`), 0 when none.
    static func pendingError(_ fd: Int32) -> Int32 {
        var value: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        guard getsockopt(fd, SOL_SOCKET, SO_ERROR, &value, &length) == 0 else { return errno }
        return value
    }

    static func localAddress(_ fd: Int32) -> SocketAddress? {
        socketAddress { getsockname(fd, $0, $1) }
    }

    static func peerAddress(_ fd: Int32) -> SocketAddress? {
        socketAddress { getpeername(fd, $0, $1) }
    }

    /// The address `call` (getsockname or getpeername) fills in, or nil when it fails.
    private static func socketAddress(_ call: (UnsafeMutablePointer<sockaddr>, UnsafeMutablePointer<socklen_t>) -> Int32) -> SocketAddress? {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let result = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { call($0, &length) }
        }
        return result == 0 ? SocketAddress(storage: storage) : nil
    }

    /// Arms an abortive close: the next `close` sends RST instead of FIN.
    static func setLingerZero(_ fd: Int32) {
        var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Glibc.linger>.size))
    }

    /// Reads into the vectors: `recv` when there is one (the kernel's shortest path for a socket,
    /// without importing an iovec array; `read` for descriptors that are not sockets), `readv`
    /// otherwise.
    static func readv(_ fd: Int32, _ vectors: UnsafeMutablePointer<iovec>, count: Int32) -> IOResult {
        while true {
            var result: Int
            if count == 1 {
                result = recv(fd, vectors.pointee.iov_base, vectors.pointee.iov_len, 0)
                if result < 0, errno == ENOTSOCK { result = Glibc.read(fd, vectors.pointee.iov_base, vectors.pointee.iov_len) }
            } else {
                result = Glibc.readv(fd, vectors, count)
            }
            if result > 0 { return .transferred(result) }
            if result == 0 { return .endOfStream }
            switch errno {
            case EINTR: continue
            case EAGAIN, EWOULDBLOCK: return .wouldBlock
            default: return .failed(NetworkError(operation: "read", errno: errno))
            }
        }
    }

    /// Writes the vectors with `send(MSG_NOSIGNAL)` when there is one and `sendmsg(MSG_NOSIGNAL)`
    /// otherwise, so a peer that has gone away is an `EPIPE` error and never a SIGPIPE that kills
    /// the process, whatever the process's signal set-up; descriptors that are not sockets fall
    /// back to `writev`. (`send` skips the message header and iovec import `sendmsg` costs.)
    static func writev(_ fd: Int32, _ vectors: UnsafeMutablePointer<iovec>, count: Int32) -> IOResult {
        while true {
            let result: Int
            if count == 1 {
                result = send(fd, vectors.pointee.iov_base, vectors.pointee.iov_len, Int32(MSG_NOSIGNAL))
            } else {
                var message = msghdr()
                message.msg_iov = vectors
                message.msg_iovlen = Int(count)
                result = sendmsg(fd, &message, Int32(MSG_NOSIGNAL))
            }
            if result >= 0 { return .transferred(result) }
            switch errno {
            case EINTR: continue
            case EAGAIN, EWOULDBLOCK: return .wouldBlock
            case ENOTSOCK: return plainWritev(fd, vectors, count: count)
            default: return .failed(NetworkError(operation: "write", errno: errno))
            }
        }
    }

    private static func plainWritev(_ fd: Int32, _ vectors: UnsafeMutablePointer<iovec>, count: Int32) -> IOResult {
        while true {
            let result = Glibc.writev(fd, vectors, count)
            if result >= 0 { return .transferred(result) }
            switch errno {
            case EINTR: continue
            case EAGAIN, EWOULDBLOCK: return .wouldBlock
            default: return .failed(NetworkError(operation: "write", errno: errno))
            }
        }
    }
}
