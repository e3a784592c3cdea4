import ConvoyHTTP1

/// A condition on one header or query parameter: its name and the matcher its value must satisfy.
/// Immutable; any thread.
public struct FieldCondition: Sendable {
    /// The header name (case-insensitive) or query parameter name (exact). Any thread.
    public let name: String
    /// What the value must satisfy. Any thread.
    public let match: StringMatch
    let nameBytes: [UInt8]

    /// A condition. Any thread.
    public init(name: String, match: StringMatch) {
        self.name = name
        self.match = match
        nameBytes = Array(name.utf8)
    }
}

/// One `match` block of an Istio HTTP route (`HTTPMatchRequest`): every condition set must hold.
/// Immutable; any thread.
public struct RequestMatcher: Sendable {
    /// The match's name (for logs). Any thread.
    public var name: String?
    /// The path (target before `?`). Any thread.
    public var uri: StringMatch?
    /// `http` or `https`. Any thread.
    public var scheme: StringMatch?
    /// The method. Any thread.
    public var method: StringMatch?
    /// The `Host` header. Any thread.
    public var authority: StringMatch?
    /// Headers that must be present and match. Any thread.
    public var headers: [FieldCondition] = []
    /// Headers that must not match (a match here fails the block). Any thread.
    public var withoutHeaders: [FieldCondition] = []
    /// Query parameters that must be present and match. Any thread.
    public var queryParameters: [FieldCondition] = []
    /// The listener port the request must have arrived on. Any thread.
    public var port: UInt16?
    /// Requests this block matches are counted under this name (Istio's `statPrefix`). Any thread.
    public var statPrefix: String?

    /// A block that matches every request until conditions are set. Any thread.
    public init(name: String? = nil) {
        self.name = name
    }

    /// True when every condition holds for `request`. The request's thread.
    public func matches(_ request: RouteRequest) -> Bool {
        if let port, port != request.listenerPort { return false }
        if let uri, !request.withPath({ uri.matches($0) }) { return false }
        if let method, !method.matches(request.head.method.rawValue) { return false }
        if let scheme, !scheme.matches(request.scheme) { return false }
        if let authority {
            let headers = request.head.headers
            guard let index = headers.firstIndex(of: "host"), headers.withValue(at: index, { authority.matches($0) }) else {
                return false
            }
        }
        for condition in headers where !Self.header(condition, in: request.head.headers) { return false }
        for condition in withoutHeaders where Self.header(condition, in: request.head.headers) { return false }
        for condition in queryParameters {
            let holds = request.withQueryParameter(condition.nameBytes) { value in
                value.map { condition.match.matches($0) } ?? false
            }
            if !holds { return false }
        }
        return true
    }

    private static func header(_ condition: FieldCondition, in headers: HTTPHeaders) -> Bool {
        var start = 0
        while let index = headers.firstIndex(of: condition.name, from: start) {
            if headers.withValue(at: index, { condition.match.matches($0) }) { return true }
            start = index + 1
        }
        return false
    }
}
