import ConvoyHTTP1

/// Why a request could not get a response from upstream, with the status the client gets and
/// Envoy's response flag for logs. Any thread.
public enum UpstreamFailure: Error, Sendable, Equatable, CustomStringConvertible {
    /// The cluster has no endpoint (503, UH).
    case noHealthyUpstream
    /// Connecting failed: refused, unreachable, or out of sockets (503, UF).
    case connectFailure(String)
    /// Connecting took longer than the connect timeout (503, UF).
    case connectTimeout(String)
    /// The pool's pending-request or connection limit is reached (503, UO).
    case overflow(String)
    /// The upstream closed or reset the connection before a complete response (502, UC).
    case reset
    /// The upstream's response broke HTTP/1.1 (502, UPE).
    case protocolError(String)
    /// The route timeout passed before the response completed (504, UT).
    case timeout

    /// The status the client gets. Any thread.
    public var status: Int {
        switch self {
        case .noHealthyUpstream, .connectFailure, .connectTimeout, .overflow: 503
        case .reset, .protocolError: 502
        case .timeout: 504
        }
    }

    /// Envoy's response flag. Any thread.
    public var responseFlag: String {
        switch self {
        case .noHealthyUpstream: "UH"
        case .connectFailure, .connectTimeout: "UF"
        case .overflow: "UO"
        case .reset: "UC"
        case .protocolError: "UPE"
        case .timeout: "UT"
        }
    }

    /// The body the client gets: which failure it was. Any thread.
    public var description: String {
        switch self {
        case .noHealthyUpstream: "no healthy upstream"
        case .connectFailure(let detail): "upstream connect error: \(detail)"
        case .connectTimeout(let detail): "upstream connect timeout: \(detail)"
        case .overflow(let detail): "upstream overflow: \(detail)"
        case .reset: "upstream reset before the response completed"
        case .protocolError(let detail): "upstream protocol error: \(detail)"
        case .timeout: "upstream request timeout"
        }
    }
}
