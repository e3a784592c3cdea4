import ConvoyNetwork
import ConvoyRouter
import Logging

#if canImport(Glibc)
import Glibc
#endif

/// Turns cluster endpoints into addresses: IP literals as they are, names through the system
/// resolver (`getaddrinfo`, which blocks: call it on the main thread or a resolver thread, never a
/// worker). Any thread.
public enum HostResolver {
    /// A name lookup: the addresses of a name, with the given port. ``lookup(_:port:)`` is the
    /// system's; tests pass their own.
    public typealias Lookup = @Sendable (String, UInt16) -> [SocketAddress]

    /// The hosts of `cluster`: one per IP endpoint, one per address a name resolves to through
    /// `lookup` (each with the endpoint's weight). Names that fail to resolve contribute nothing
    /// and are logged. Any thread (blocks).
    public static func resolve(_ cluster: ClusterConfig, lookup: Lookup = HostResolver.lookup, logger: Logger? = nil) -> [ResolvedHost] {
        var hosts: [ResolvedHost] = []
        for endpoint in cluster.endpoints {
            if let address = SocketAddress(ip: endpoint.address, port: endpoint.port) {
                hosts.append(ResolvedHost(address: address, weight: endpoint.weight))
                continue
            }
            let addresses = lookup(endpoint.address, endpoint.port)
            if addresses.isEmpty {
                logger?.warning("DNS: '\(endpoint.address)' of \(cluster.name) did not resolve; the endpoint is left out")
            }
            for address in addresses where !hosts.contains(where: { $0.address == address }) {
                hosts.append(ResolvedHost(address: address, weight: endpoint.weight))
            }
        }
        return hosts
    }

    /// The IPv4 and IPv6 addresses of `name` (IPv4 first), sorted so results compare equal across
    /// lookups. Any thread (blocks).
    @Sendable public static func lookup(_ name: String, port: UInt16) -> [SocketAddress] {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var result: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(name, nil, &hints, &result) == 0, let first = result else { return [] }
        defer { freeaddrinfo(first) }
        var v4: [String] = [], v6: [String] = []
        var cursor: UnsafeMutablePointer<addrinfo>? = first
        while let entry = cursor {
            var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
            if entry.pointee.ai_family == AF_INET {
                entry.pointee.ai_addr.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { address in
                    var raw = address.pointee.sin_addr
                    _ = inet_ntop(AF_INET, &raw, &text, socklen_t(text.count))
                }
                v4.append(String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
            } else if entry.pointee.ai_family == AF_INET6 {
                entry.pointee.ai_addr.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { address in
                    var raw = address.pointee.sin6_addr
                    _ = inet_ntop(AF_INET6, &raw, &text, socklen_t(text.count))
                }
                v6.append(String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
            }
            cursor = entry.pointee.ai_next
        }
        let unique = Array(Set(v4)).sorted() + Array(Set(v6)).sorted()
        return unique.compactMap { SocketAddress(ip: $0, port: port) }
    }
}
