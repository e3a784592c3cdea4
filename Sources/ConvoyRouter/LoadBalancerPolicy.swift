/// How a cluster picks an endpoint (Istio's `loadBalancer`). Immutable; any thread.
public enum LoadBalancerPolicy: Sendable, Equatable, CustomStringConvertible {
    /// Weighted round robin (smooth: weights spread evenly over the cycle).
    case roundRobin
    /// Power of two choices: two weighted-random endpoints, the one with fewer active requests
    /// per unit of weight wins (Istio's default).
    case leastRequest
    /// Weighted random.
    case random
    /// Consistent hashing on a ring (ketama style) over `key`; requests without the key fall back
    /// to random.
    case ringHash(key: HashKey, minimumRingSize: Int)

    /// Istio's name for the policy. Any thread.
    public var description: String {
        switch self {
        case .roundRobin: "ROUND_ROBIN"
        case .leastRequest: "LEAST_REQUEST"
        case .random: "RANDOM"
        case .ringHash(let key, let size): "consistentHash(\(key), ring \(size))"
        }
    }
}

/// What a consistent hash is computed over. Immutable; any thread.
public enum HashKey: Sendable, Equatable, CustomStringConvertible {
    /// A request header's value.
    case header(String)
    /// A cookie's value.
    case cookie(String)
    /// The downstream peer's IP address.
    case sourceIP
    /// A query parameter's value.
    case queryParameter(String)

    /// The Istio field it came from. Any thread.
    public var description: String {
        switch self {
        case .header(let name): "httpHeaderName \(name)"
        case .cookie(let name): "httpCookie \(name)"
        case .sourceIP: "useSourceIp"
        case .queryParameter(let name): "httpQueryParameterName \(name)"
        }
    }

    /// The key's hash for `request`, or nil when the request lacks it. The request's thread.
    public func hash(for request: RouteRequest) -> UInt64? {
        switch self {
        case .header(let name):
            let headers = request.head.headers
            guard let index = headers.firstIndex(of: name) else { return nil }
            return headers.withValue(at: index) { StableHash.hash($0) }
        case .cookie(let name):
            let headers = request.head.headers
            var start = 0
            while let index = headers.firstIndex(of: "cookie", from: start) {
                if let found = headers.withValue(at: index, { Self.cookieHash(named: name, in: $0) }) { return found }
                start = index + 1
            }
            return nil
        case .sourceIP:
            guard let address = request.sourceAddress else { return nil }
            var text = address.description
            if let colon = text.lastIndex(of: ":") { text = String(text[..<colon]) }
            return StableHash.hash(text)
        case .queryParameter(let name):
            return request.withQueryParameter(Array(name.utf8)) { value in value.map { StableHash.hash($0) } }
        }
    }

    private static func cookieHash(named name: String, in header: UnsafeRawBufferPointer) -> UInt64? {
        let name = Array(name.utf8)
        var start = 0
        while start < header.count {
            while start < header.count && (header[start] == 0x20 || header[start] == 0x3B) { start += 1 }
            var end = start
            while end < header.count && header[end] != 0x3B { end += 1 }
            if end - start > name.count, header[start + name.count] == UInt8(ascii: "="),
                name.indices.allSatisfy({ header[start + $0] == name[$0] })
            {
                return StableHash.hash(UnsafeRawBufferPointer(rebasing: header[(start + name.count + 1)..<end]))
            }
            start = end + 1
        }
        return nil
    }
}
