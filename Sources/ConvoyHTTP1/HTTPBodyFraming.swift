/// How a message's body is delimited (RFC 9112 §6). Any thread.
public enum HTTPBodyFraming: Sendable, Hashable {
    /// No body.
    case none
    /// Exactly this many bytes (`Content-Length`).
    case contentLength(Int)
    /// `Transfer-Encoding: chunked`.
    case chunked
    /// Until the connection closes (a response without length; never a request).
    case untilClose
}
