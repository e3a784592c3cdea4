/// One step of a message, as ``HTTP1Parser/next(from:body:)`` reports it. Not `Sendable`: heads
/// belong to the parser's thread.
public enum HTTP1ParserEvent {
    /// Nothing more can be parsed until more bytes arrive in the input buffer.
    case needsMoreBytes
    /// A complete request head (request parser).
    case requestHead(HTTPRequestHead)
    /// A complete response head (response parser). An informational one (1xx other than 101) is
    /// followed by another head for the same request.
    case responseHead(HTTPResponseHead)
    /// Body bytes were moved into the body buffer (chunk framing removed). After an upgrade or
    /// CONNECT these are the raw bytes of the tunnel.
    case body
    /// The trailer section of a chunked body (only when it has fields).
    case trailers(HTTPHeaders)
    /// The message is complete; the next bytes start a new message.
    case end
}
