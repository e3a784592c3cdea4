/// Why a codec abandoned a stream before both sides of it completed. Any thread.
public enum HTTP1StreamReset: Error, Sendable, Equatable, CustomStringConvertible {
    /// The peer sent bytes that break HTTP/1.1; the connection is being closed.
    case protocolError(HTTPParseError)
    /// The connection closed (either side) before the exchange completed.
    case connectionClosed
    /// A response arrived (client side) with no request outstanding, or more bytes than it declared.
    case unexpectedResponse

    /// A short explanation. Any thread.
    public var description: String {
        switch self {
        case .protocolError(let error): "protocol error: \(error)"
        case .connectionClosed: "connection closed"
        case .unexpectedResponse: "unexpected response data"
        }
    }
}
