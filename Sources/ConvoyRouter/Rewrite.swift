/// Istio's `HTTPRewrite`: a new path (replacing only the matched prefix when the route matched by
/// prefix), or the path with regex matches substituted (`uriRegexRewrite`), and a new `Host`.
/// Immutable; any thread.
public struct Rewrite: Sendable {
    /// The new path, or the replacement of the matched prefix. Any thread.
    public var uri: String?
    /// Substitutions in the path (the query is kept as it is). Any thread.
    public var uriRegex: RegexSubstitution?
    /// The new `Host` header. Any thread.
    public var authority: String?

    /// A rewrite. Any thread.
    public init(uri: String? = nil, uriRegex: RegexSubstitution? = nil, authority: String? = nil) {
        self.uri = uri
        self.uriRegex = uriRegex
        self.authority = authority
    }

    /// The target after rewriting `request`'s, given how many path bytes a prefix matcher matched
    /// (nil: the route did not match by prefix). The request's thread.
    public func rewrittenTarget(_ request: RouteRequest, matchedPrefixLength: Int?) -> String? {
        if let uriRegex {
            return request.head.withTargetBytes { target in
                let pathLength = min(request.pathLength, target.count)
                let path = String(decoding: UnsafeRawBufferPointer(rebasing: target[..<pathLength]), as: UTF8.self)
                var result = uriRegex.apply(to: path[...])
                result += String(decoding: UnsafeRawBufferPointer(rebasing: target[pathLength...]), as: UTF8.self)
                if result.isEmpty || result.first == "?" { result = "/" + result }
                return result
            }
        }
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
