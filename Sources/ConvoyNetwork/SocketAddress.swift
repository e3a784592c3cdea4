#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An IPv4, IPv6 or Unix-domain socket address. A plain value: any thread.
public enum SocketAddress: Hashable, Sendable, CustomStringConvertible {
    /// An IPv4 address and port, host byte order, e.g. `(127.0.0.1 as [127,0,0,1], 8080)`.
    case ipv4(address: UInt32, port: UInt16)
    /// An IPv6 address (16 bytes) and port.
    case ipv6(address: [UInt8], port: UInt16)
    /// A Unix-domain socket path.
    case unix(path: String)

    /// Parses `"127.0.0.1:8080"`, `"[::1]:8080"`, `"::1"` with `port`, or `"unix:/path"`. Returns nil
    /// for anything else. Any thread.
    public init?(_ text: String) {
        if text.hasPrefix("unix:") {
            let path = String(text.dropFirst(5))
            guard !path.isEmpty, path.utf8.count < 108 else { return nil }
            self = .unix(path: path)
            return
        }
        let host: Substring
        let portText: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { return nil }
            host = text[text.index(after: text.startIndex)..<close]
            let rest = text[text.index(after: close)...]
            guard rest.hasPrefix(":") else { return nil }
            portText = rest.dropFirst()
        } else {
            guard let colon = text.lastIndex(of: ":") else { return nil }
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
        }
        guard let port = UInt16(portText) else { return nil }
        self.init(ip: String(host), port: port)
    }

    /// Parses a numeric IPv4 or IPv6 address (no brackets) with a port; nil if it is neither.
    /// Any thread.
    public init?(ip: String, port: UInt16) {
        var v4 = in_addr()
        if inet_pton(AF_INET, ip, &v4) == 1 {
            self = .ipv4(address: UInt32(bigEndian: v4.s_addr), port: port)
            return
        }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, ip, &v6) == 1 {
            self = .ipv6(address: withUnsafeBytes(of: &v6) { Array($0) }, port: port)
            return
        }
        return nil
    }

    /// `127.0.0.1` with `port` (0: let the kernel choose). Any thread.
    public static func loopback(port: UInt16 = 0) -> SocketAddress {
        .ipv4(address: 0x7F00_0001, port: port)
    }

    /// The port, or nil for a Unix-domain address. Any thread.
    public var port: UInt16? {
        switch self {
        case .ipv4(_, let port), .ipv6(_, let port): return port
        case .unix: return nil
        }
    }

    /// `127.0.0.1:8080`, `[::1]:8080` or `unix:/path`. Any thread.
    public var description: String {
        switch self {
        case .ipv4(_, let port): return "\(host):\(port)"
        case .ipv6(_, let port): return "[\(host)]:\(port)"
        case .unix: return "unix:\(host)"
        }
    }

    /// The address without its port or brackets, as `x-forwarded-for` holds it: `127.0.0.1`,
    /// `::1`, or the socket's path. Any thread.
    public var host: String {
        switch self {
        case .ipv4(let address, _):
            return "\(address >> 24).\((address >> 16) & 0xFF).\((address >> 8) & 0xFF).\(address & 0xFF)"
        case .ipv6(let address, _):
            var raw = in6_addr()
            withUnsafeMutableBytes(of: &raw) { $0.copyBytes(from: address) }
            var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
            inet_ntop(AF_INET6, &raw, &text, socklen_t(text.count))
            return String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        case .unix(let path):
            return path
        }
    }

    /// The address family (`AF_INET`, `AF_INET6`, `AF_UNIX`).
    package var family: Int32 {
        switch self {
        case .ipv4: return AF_INET
        case .ipv6: return AF_INET6
        case .unix: return AF_UNIX
        }
    }

    /// Calls `body` with this address as a `sockaddr` and its length.
    package func withSockaddr<Result>(_ body: (UnsafePointer<sockaddr>, socklen_t) -> Result) -> Result {
        var storage = sockaddr_storage()
        let length: socklen_t
        switch self {
        case .ipv4(let address, let port):
            length = withUnsafeMutableBytes(of: &storage) { raw in
                let sin = raw.baseAddress!.assumingMemoryBound(to: sockaddr_in.self)
                sin.pointee.sin_family = sa_family_t(AF_INET)
                sin.pointee.sin_port = port.bigEndian
                sin.pointee.sin_addr = in_addr(s_addr: address.bigEndian)
                return socklen_t(MemoryLayout<sockaddr_in>.size)
            }
        case .ipv6(let address, let port):
            length = withUnsafeMutableBytes(of: &storage) { raw in
                let sin6 = raw.baseAddress!.assumingMemoryBound(to: sockaddr_in6.self)
                sin6.pointee.sin6_family = sa_family_t(AF_INET6)
                sin6.pointee.sin6_port = port.bigEndian
                withUnsafeMutableBytes(of: &sin6.pointee.sin6_addr) { $0.copyBytes(from: address) }
                return socklen_t(MemoryLayout<sockaddr_in6>.size)
            }
        case .unix(let path):
            length = withUnsafeMutableBytes(of: &storage) { raw in
                let sun = raw.baseAddress!.assumingMemoryBound(to: sockaddr_un.self)
                sun.pointee.sun_family = sa_family_t(AF_UNIX)
                withUnsafeMutableBytes(of: &sun.pointee.sun_path) { pathBytes in
                    let utf8 = Array(path.utf8.prefix(pathBytes.count - 1))
                    pathBytes.copyBytes(from: utf8)
                    pathBytes[utf8.count] = 0
                }
                return socklen_t(MemoryLayout<sa_family_t>.size + path.utf8.count + 1)
            }
        }
        return withUnsafePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, length) }
        }
    }

    /// Decodes a `sockaddr_storage` filled in by the kernel; nil for an unknown family.
    init?(storage: sockaddr_storage) {
        var storage = storage
        switch Int32(storage.ss_family) {
        case AF_INET:
            let sin = withUnsafeBytes(of: &storage) { $0.load(as: sockaddr_in.self) }
            self = .ipv4(address: UInt32(bigEndian: sin.sin_addr.s_addr), port: UInt16(bigEndian: sin.sin_port))
        case AF_INET6:
            let sin6 = withUnsafeBytes(of: &storage) { $0.load(as: sockaddr_in6.self) }
            var address = sin6.sin6_addr
            self = .ipv6(address: withUnsafeBytes(of: &address) { Array($0) }, port: UInt16(bigEndian: sin6.sin6_port))
        case AF_UNIX:
            let path = withUnsafeBytes(of: &storage) { raw -> String in
                let offset = MemoryLayout<sa_family_t>.size
                let bytes = raw[offset...].prefix { $0 != 0 }
                return String(decoding: bytes, as: UTF8.self)
            }
            self = .unix(path: path)
        default:
            return nil
        }
    }
}
