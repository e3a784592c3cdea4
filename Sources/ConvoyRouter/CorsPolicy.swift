import ConvoyHTTP1

/// Istio's `CorsPolicy` for a route, applied as Envoy's CORS filter applies it:
/// - a preflight (`OPTIONS` with `Origin` and `Access-Control-Request-Method`) from an allowed
///   origin is answered by the proxy: 200 with the `Access-Control-Allow-*` and `-Max-Age`
///   fields; one from another origin goes upstream like any request, or, with
///   `unmatchedPreflights: IGNORE`, is answered 200 with no CORS field;
/// - any other request from an allowed origin gets `Access-Control-Allow-Origin` (the request's
///   origin, echoed), `-Allow-Credentials` and `-Expose-Headers` on its response;
/// - an `allowOrigins` entry that matches the string `*` allows every origin.
///
/// The echoed origin makes the response differ by origin, so `Vary: Origin` is added wherever an
/// origin is echoed (Envoy leaves that to the upstream; a cache in front of the proxy needs it).
/// Routes that redirect or answer directly skip the policy, as in Envoy. Immutable, and a class so
/// that a route without one costs a pointer check per request; any thread.
public final class CorsPolicy: Sendable {
    /// Origins allowed. Any thread.
    public let allowOrigins: [StringMatch]
    /// `Access-Control-Allow-Methods` on preflight answers (nil: not sent). Any thread.
    public let allowMethods: String?
    /// `Access-Control-Allow-Headers` on preflight answers (nil: not sent). Any thread.
    public let allowHeaders: String?
    /// `Access-Control-Expose-Headers` on responses (nil: not sent). Any thread.
    public let exposeHeaders: String?
    /// `Access-Control-Max-Age` in seconds on preflight answers (nil: not sent). Any thread.
    public let maxAgeSeconds: Int?
    /// Send `Access-Control-Allow-Credentials: true`. Any thread.
    public let allowCredentials: Bool
    /// Preflights from origins not allowed go upstream (Istio's default, `FORWARD`); false
    /// answers them here without CORS fields (`IGNORE`). Any thread.
    public let forwardsUnmatchedPreflights: Bool

    /// A policy; the lists are joined with ", ". Any thread.
    public init(
        allowOrigins: [StringMatch], allowMethods: [String] = [], allowHeaders: [String] = [], exposeHeaders: [String] = [],
        maxAgeSeconds: Int? = nil, allowCredentials: Bool = false, forwardsUnmatchedPreflights: Bool = true
    ) {
        self.allowOrigins = allowOrigins
        self.allowMethods = allowMethods.isEmpty ? nil : allowMethods.joined(separator: ", ")
        self.allowHeaders = allowHeaders.isEmpty ? nil : allowHeaders.joined(separator: ", ")
        self.exposeHeaders = exposeHeaders.isEmpty ? nil : exposeHeaders.joined(separator: ", ")
        self.maxAgeSeconds = maxAgeSeconds
        self.allowCredentials = allowCredentials
        self.forwardsUnmatchedPreflights = forwardsUnmatchedPreflights
    }

    /// True when `origin` may make cross-origin requests. Any thread.
    public func allows(origin: String) -> Bool {
        allowOrigins.contains { $0.matches(origin) || $0.matches("*") }
    }

    /// True when `head` is a CORS preflight request. Any thread.
    public static func isPreflight(_ head: HTTPRequestHead) -> Bool {
        head.method == .options && head.headers.contains("origin") && head.headers.contains("access-control-request-method")
    }

    /// The fields of the answer to an allowed preflight from `origin`. Any thread.
    public func preflightFields(origin: String) -> HTTPHeaders {
        var headers = HTTPHeaders()
        addOriginFields(origin: origin, to: &headers)
        if let allowMethods { headers.add(name: "Access-Control-Allow-Methods", value: allowMethods) }
        if let allowHeaders { headers.add(name: "Access-Control-Allow-Headers", value: allowHeaders) }
        if let maxAgeSeconds { headers.add(name: "Access-Control-Max-Age", value: String(maxAgeSeconds)) }
        return headers
    }

    /// Adds the fields of a response to an allowed request from `origin`. Any thread.
    public func addResponseFields(origin: String, to headers: inout HTTPHeaders) {
        addOriginFields(origin: origin, to: &headers)
        if let exposeHeaders { headers.set(name: "Access-Control-Expose-Headers", value: exposeHeaders) }
    }

    private func addOriginFields(origin: String, to headers: inout HTTPHeaders) {
        headers.set(name: "Access-Control-Allow-Origin", value: origin)
        if allowCredentials { headers.set(name: "Access-Control-Allow-Credentials", value: "true") }
        headers.add(name: "Vary", value: "Origin")
    }
}
