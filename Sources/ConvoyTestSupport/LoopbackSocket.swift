import ConvoyNetwork

#if canImport(Glibc)
import Glibc
#endif

/// A raw TCP socket bound to 127.0.0.1 on a port the kernel picks, for tests that need a port
/// number (one nothing listens on, or one for a child process) or a hand-written peer. The
/// socket closes when the value is released. Use it from one thread.
public final class LoopbackSocket {
    /// The socket's descriptor. The calling thread.
    public let fd: Int32
    /// The bound address. The calling thread.
    public let address: SocketAddress

    /// Binds a new socket; with `listening`, also listens (backlog 8). The calling thread.
    public init(listening: Bool = false) {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        var raw = sockaddr_in()
        raw.sin_family = sa_family_t(AF_INET)
        raw.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let fd = fd
        withUnsafeMutablePointer(to: &raw) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                _ = bind(fd, pointer, length)
                if listening { _ = listen(fd, 8) }
                _ = getsockname(fd, pointer, &length)
            }
        }
        address = SocketAddress(ip: "127.0.0.1", port: UInt16(bigEndian: raw.sin_port))!
    }

    deinit { close(fd) }

    /// A loopback address that was free a moment ago and that nothing listens on. Any thread.
    public static func unusedAddress() -> SocketAddress {
        LoopbackSocket().address
    }
}
