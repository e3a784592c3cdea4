/// The routes for a set of domains (one Istio VirtualService's `hosts` on one gateway port,
/// possibly merged from several VirtualServices). Immutable; any thread.
public struct VirtualHost: Sendable {
    /// A name for logs. Any thread.
    public var name: String
    /// `example.com`, `*.example.com` or `*` (lowercase, no port). Any thread.
    public var domains: [String]
    /// The rules, first match wins. Any thread.
    public var routes: [Route]

    /// A virtual host. Any thread.
    public init(name: String, domains: [String], routes: [Route]) {
        self.name = name
        self.domains = domains
        self.routes = routes
    }
}
