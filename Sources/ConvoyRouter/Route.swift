import ConvoyHTTP1

/// One Istio `http[]` rule: its match blocks (any may match; none means everything), what it does,
/// and its rewrite, timeout and header changes. Immutable, and a class so that the proxy holds it
/// per request for one retain rather than one per field; any thread.
public final class Route: Sendable {
    /// A name for logs (the rule's `name`, or `VIRTUALSERVICE.http[N]`). Any thread.
    public let name: String
    /// The match blocks, ORed; empty matches every request. Any thread.
    public let matchers: [RequestMatcher]
    /// What the route does. Any thread.
    public let action: RouteAction
    /// The rewrite applied before forwarding. Any thread.
    public let rewrite: Rewrite?
    /// The whole-request timeout (nil: none, Istio's default); it covers every retry. Any thread.
    public let timeout: Duration?
    /// When to retry a failed attempt (nil: never). Any thread.
    public let retryPolicy: RetryPolicy?
    /// Faults injected before forwarding (nil: none). Any thread.
    public let fault: FaultInjection?
    /// Traffic mirrors. Any thread.
    public let mirrors: [MirrorPolicy]
    /// Request header changes for every destination. Any thread.
    public let requestHeaders: HeaderMutation
    /// Response header changes for every destination. Any thread.
    public let responseHeaders: HeaderMutation
    /// Cross-origin requests (nil: no CORS handling). Any thread.
    public let cors: CorsPolicy?
    /// Some match block names a `statPrefix`. Any thread.
    public let hasStatPrefixes: Bool

    /// A route. Any thread.
    public init(
        name: String, matchers: [RequestMatcher] = [], action: RouteAction, rewrite: Rewrite? = nil,
        timeout: Duration? = nil, retryPolicy: RetryPolicy? = nil, fault: FaultInjection? = nil, mirrors: [MirrorPolicy] = [],
        requestHeaders: HeaderMutation = HeaderMutation(), responseHeaders: HeaderMutation = HeaderMutation(),
        cors: CorsPolicy? = nil
    ) {
        self.name = name
        self.matchers = matchers
        self.action = action
        self.rewrite = rewrite
        self.timeout = timeout
        self.retryPolicy = retryPolicy
        self.fault = fault
        self.mirrors = mirrors
        self.requestHeaders = requestHeaders
        self.responseHeaders = responseHeaders
        self.cors = cors
        hasStatPrefixes = matchers.contains { $0.statPrefix != nil }
    }

    /// The `statPrefix` of the first match block that takes `request` (nil: none, or it names
    /// none). Matches again, so callers ask only when ``hasStatPrefixes``. The request's thread.
    public func statPrefix(for request: RouteRequest) -> String? {
        matchers.first { $0.matches(request) }?.statPrefix
    }

    /// Whether the route takes `request`, and if so how many path bytes a prefix `uri` matcher
    /// matched (for rewrites): `.some(nil)` for a match without a prefix. The request's thread.
    public func match(_ request: RouteRequest) -> Int?? {
        if matchers.isEmpty { return .some(nil) }
        for matcher in matchers where matcher.matches(request) {
            return .some(matcher.uri?.prefixLength)
        }
        return nil
    }
}
