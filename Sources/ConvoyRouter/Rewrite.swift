/// Istio's `HTTPRewrite`: a new path (replacing only the matched prefix when the route matched by
/// prefix) and a new `Host`. Immutable; any thread.
public struct Rewrite: Sendable {
    /// The new path, or the replacement of the matched prefix. Any thread.
    public var uri: String?
    /// The new `Host` header. Any thread.
    public var authority: String?

    /// A rewrite. Any thread.
    public init(uri: String? = nil, authority: String? = nil) {
        self.uri = uri
        self.authority = authority
    }

    /// The target after rewriting `request`'s, given how many path bytes a prefix matcher matched
    /// (nil: the route did not match by prefix). The request's thread.
    public func rewrittenTarget(_ request: RouteRequest, matchedPrefixLength: Int?) -> String? {
        guard let uri else { return nil }
        return request.head.withTargetBytes { target in
            let keepFrom = matchedPrefixLength ?? request.pathLength
            var result = uri
            result += String(decoding: UnsafeRawBufferPointer(rebasing: target[min(keepFrom, target.count)...]), as: UTF8.self)
            if result.isEmpty || result.first == "?" { result = "/" + result }
            return result
        }
    }
}
