/// A listener's routing: virtual hosts chosen by the `Host` header (exact name, then the longest
/// `*.suffix`, then `*`; a port in the header is ignored unless a domain names it), then the first
/// matching route of that host. Immutable; any thread.
public struct RouteTable: Sendable {
    /// The virtual hosts. Any thread.
    public let virtualHosts: [VirtualHost]
    private let exact: [String: Int]
    private let suffixes: [(suffix: String, host: Int)]
    private let fallback: Int?

    /// Indexes `virtualHosts` by domain; the first host to claim a domain keeps it. Any thread.
    public init(virtualHosts: [VirtualHost]) {
        self.virtualHosts = virtualHosts
        var exact: [String: Int] = [:]
        var suffixes: [(suffix: String, host: Int)] = []
        var fallback: Int?
        for (index, host) in virtualHosts.enumerated() {
            for domain in host.domains {
                let domain = domain.lowercased()
                if domain == "*" {
                    if fallback == nil { fallback = index }
                } else if domain.hasPrefix("*") {
                    if !suffixes.contains(where: { $0.suffix == domain.dropFirst() }) {
                        suffixes.append((String(domain.dropFirst()), index))
                    }
                } else if exact[domain] == nil {
                    exact[domain] = index
                }
            }
        }
        self.exact = exact
        self.suffixes = suffixes.sorted { $0.suffix.count > $1.suffix.count }
        self.fallback = fallback
    }

    /// The virtual host for a `Host` header value. Any thread.
    public func virtualHost(forAuthority authority: String?) -> Int? {
        guard let authority, !authority.isEmpty, !(exact.isEmpty && suffixes.isEmpty) else { return fallback }
        let lowered = Self.lowercasedASCII(authority)
        if let found = exact[lowered] { return found }
        var host = Substring(lowered)
        let utf8 = lowered.utf8
        if utf8.last != UInt8(ascii: "]"), let colon = utf8.lastIndex(of: UInt8(ascii: ":")) {
            host = lowered[..<colon]
            if let found = exact[String(host)] { return found }
        }
        for entry in suffixes where host.utf8.count > entry.suffix.utf8.count
            && host.utf8.reversed().starts(with: entry.suffix.utf8.reversed()) {
            return entry.host
        }
        return fallback
    }

    /// The route for `request`, or nil (the proxy answers 404). The request's thread.
    public func route(for request: RouteRequest) -> RouteSelection? {
        let onlyFallback = exact.isEmpty && suffixes.isEmpty
        guard let hostIndex = onlyFallback ? fallback : virtualHost(forAuthority: request.authority) else { return nil }
        let routes = virtualHosts[hostIndex].routes
        for index in routes.indices {
            if let prefix = routes[index].match(request) {
                return RouteSelection(virtualHost: hostIndex, route: index, matchedPrefixLength: prefix)
            }
        }
        return nil
    }

    /// `text` with ASCII upper-case letters lowered, other bytes unchanged.
    private static func lowercasedASCII(_ text: String) -> String {
        let utf8 = text.utf8
        guard utf8.contains(where: { $0 >= 0x41 && $0 <= 0x5A }) else { return text }
        return String(unsafeUninitializedCapacity: utf8.count) { buffer in
            for (index, byte) in utf8.enumerated() {
                buffer[index] = byte >= 0x41 && byte <= 0x5A ? byte | 0x20 : byte
            }
            return utf8.count
        }
    }

    /// The route a selection names. Any thread.
    public subscript(selection: RouteSelection) -> Route {
        virtualHosts[selection.virtualHost].routes[selection.route]
    }
}

/// Which route matched a request, and how many path bytes a prefix matcher took. Any thread.
public struct RouteSelection: Sendable, Equatable {
    /// Index into ``RouteTable/virtualHosts``. Any thread.
    public let virtualHost: Int
    /// Index into that host's routes. Any thread.
    public let route: Int
    /// Path bytes matched by a prefix `uri` matcher (nil when the match was not by prefix). Any thread.
    public let matchedPrefixLength: Int?
}
