/// Istio's `HTTPRedirect`: answer with a 3xx and a `Location` built from the request with the
/// given parts replaced. Immutable; any thread.
public struct Redirect: Sendable {
    /// Where the port of the `Location` comes from when no fixed `port` is given (`derivePort`).
    public enum DerivedPort: Sendable {
        /// The scheme's default (80 or 443), so the `Location` names no port.
        case protocolDefault
        /// The port the request was addressed to: its `Host`'s, else the listener's.
        case requestPort
    }

    /// The new path (the query is kept unless this has one). Any thread.
    public var uri: String?
    /// The replacement of the prefix the route matched (the whole path when it matched otherwise);
    /// the rest of the target, query included, is kept. Any thread.
    public var prefixRewrite: String?
    /// The new host. Any thread.
    public var authority: String?
    /// The new port. Any thread.
    public var port: UInt16?
    /// The port's source when `port` is nil (nil: the request's `Host` as it is). Any thread.
    public var derivedPort: DerivedPort?
    /// The new scheme. Any thread.
    public var scheme: String?
    /// The status (Istio's default 301). Any thread.
    public var code: Int

    /// A redirect. Any thread.
    public init(
        uri: String? = nil, prefixRewrite: String? = nil, authority: String? = nil, port: UInt16? = nil,
        derivedPort: DerivedPort? = nil, scheme: String? = nil, code: Int = 301
    ) {
        self.uri = uri
        self.prefixRewrite = prefixRewrite
        self.authority = authority
        self.port = port
        self.derivedPort = derivedPort
        self.scheme = scheme
        self.code = code
    }

    /// The `Location` for `request`, given how many path bytes a prefix matcher matched (nil: the
    /// route did not match by prefix). The request's thread.
    public func location(for request: RouteRequest, matchedPrefixLength: Int? = nil) -> String {
        let scheme = self.scheme ?? request.scheme
        let requestHost = request.authority ?? ""
        var host = authority ?? requestHost
        let newPort: UInt16?
        switch (port, derivedPort) {
        case (let port?, _): newPort = port
        case (nil, .protocolDefault?): newPort = scheme == "https" ? 443 : 80
        case (nil, .requestPort?): newPort = Self.port(of: requestHost) ?? request.listenerPort
        case (nil, nil): newPort = nil
        }
        if let newPort {
            host = Self.stripPort(host)
            let isDefault = (scheme == "http" && newPort == 80) || (scheme == "https" && newPort == 443)
            if !isDefault && newPort != 0 { host += ":\(newPort)" }
        }
        let path: String
        let query: String = request.withQuery { $0.isEmpty ? "" : "?" + String(decoding: $0, as: UTF8.self) }
        if let uri {
            path = uri.contains("?") ? uri : uri + query
        } else if let prefixRewrite {
            // The same replacement as a rewrite's `uri`: the matched prefix, the rest kept.
            path = Rewrite(uri: prefixRewrite).rewrittenTarget(request, matchedPrefixLength: matchedPrefixLength) ?? request.head.target
        } else {
            path = request.head.target
        }
        return "\(scheme)://\(host)\(path)"
    }

    /// `host` without a `:port` suffix (an IPv6 literal's brackets kept).
    private static func stripPort(_ host: String) -> String {
        guard let colon = host.lastIndex(of: ":"), !host.hasSuffix("]") else { return host }
        if host.hasPrefix("["), let close = host.lastIndex(of: "]"), close > colon { return host }
        return String(host[..<colon])
    }

    /// The port a `Host` value names, if any.
    private static func port(of host: String) -> UInt16? {
        guard let colon = host.lastIndex(of: ":"), !host.hasSuffix("]") else { return nil }
        return UInt16(host[host.index(after: colon)...])
    }
}
