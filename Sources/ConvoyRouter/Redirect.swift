/// Istio's `HTTPRedirect`: answer with a 3xx and a `Location` built from the request with the
/// given parts replaced. Immutable; any thread.
public struct Redirect: Sendable {
    /// The new path (the query is kept unless this has one). Any thread.
    public var uri: String?
    /// The new host. Any thread.
    public var authority: String?
    /// The new port. Any thread.
    public var port: UInt16?
    /// The new scheme. Any thread.
    public var scheme: String?
    /// The status (Istio's default 301). Any thread.
    public var code: Int

    /// A redirect. Any thread.
    public init(uri: String? = nil, authority: String? = nil, port: UInt16? = nil, scheme: String? = nil, code: Int = 301) {
        self.uri = uri
        self.authority = authority
        self.port = port
        self.scheme = scheme
        self.code = code
    }

    /// The `Location` for `request`. The request's thread.
    public func location(for request: RouteRequest) -> String {
        let scheme = self.scheme ?? request.scheme
        var host = authority ?? request.authority ?? ""
        if let port {
            if let colon = host.lastIndex(of: ":"), !host.hasSuffix("]") { host = String(host[..<colon]) }
            let isDefault = (scheme == "http" && port == 80) || (scheme == "https" && port == 443)
            if !isDefault { host += ":\(port)" }
        }
        let path: String
        let query: String = request.withQuery { $0.isEmpty ? "" : "?" + String(decoding: $0, as: UTF8.self) }
        if let uri {
            path = uri.contains("?") ? uri : uri + query
        } else {
            path = request.head.target
        }
        return "\(scheme)://\(host)\(path)"
    }
}
