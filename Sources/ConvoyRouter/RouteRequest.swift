import ConvoyHTTP1
import ConvoyNetwork

/// What the router looks at in a request: the head, the scheme it arrived on, the listener port
/// and the peer's address. Built per request on the stream's thread and used only there.
public struct RouteRequest {
    /// The request head (target, method, headers). The owning thread.
    public let head: HTTPRequestHead
    /// `http` or `https`, as the request arrived. The owning thread.
    public let scheme: String
    /// The port of the listener the request arrived on. The owning thread.
    public let listenerPort: UInt16
    /// The downstream peer (for source-IP hashing). The owning thread.
    public let sourceAddress: SocketAddress?
    /// Bytes of the target before `?` (the path). The owning thread.
    public let pathLength: Int

    /// A view of `head` for routing. The owning thread.
    public init(head: consuming HTTPRequestHead, scheme: String = "http", listenerPort: UInt16 = 0, sourceAddress: SocketAddress? = nil) {
        self.head = head
        self.scheme = scheme
        self.listenerPort = listenerPort
        self.sourceAddress = sourceAddress
        pathLength = self.head.withTargetBytes { target in
            target.firstIndex(of: UInt8(ascii: "?")) ?? target.count
        }
    }

    /// Calls `body` with the path bytes (the target before `?`). The owning thread.
    public func withPath<Result>(_ body: (UnsafeRawBufferPointer) throws -> Result) rethrows -> Result {
        try head.withTargetBytes { try body(UnsafeRawBufferPointer(rebasing: $0[0..<pathLength])) }
    }

    /// Calls `body` with the query bytes (after `?`; empty when there is none). The owning thread.
    public func withQuery<Result>(_ body: (UnsafeRawBufferPointer) throws -> Result) rethrows -> Result {
        try head.withTargetBytes { target in
            let start = min(pathLength + 1, target.count)
            return try body(UnsafeRawBufferPointer(rebasing: target[start...]))
        }
    }

    /// The `Host` header (the authority), or nil. The owning thread.
    public var authority: String? { head.headers["host"] }

    /// Calls `body` with the value of query parameter `name` (undecoded; empty for `?name` with no
    /// `=`), or nil when the query has no such parameter. The owning thread.
    public func withQueryParameter<Result>(_ name: [UInt8], _ body: (UnsafeRawBufferPointer?) throws -> Result) rethrows -> Result {
        try withQuery { query in
            var start = 0
            while start < query.count {
                var end = start
                while end < query.count && query[end] != UInt8(ascii: "&") { end += 1 }
                var equals = start
                while equals < end && query[equals] != UInt8(ascii: "=") { equals += 1 }
                if equals - start == name.count && name.indices.allSatisfy({ query[start + $0] == name[$0] }) {
                    let valueStart = min(equals + 1, end)
                    return try body(UnsafeRawBufferPointer(rebasing: query[valueStart..<end]))
                }
                start = end + 1
            }
            return try body(nil)
        }
    }
}
