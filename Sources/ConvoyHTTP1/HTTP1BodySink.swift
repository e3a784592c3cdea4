import ConvoyNetwork

/// Where the parser puts body bytes: it calls ``consumeBody(from:length:)`` with the bytes still
/// at the front of the input, and the sink must remove exactly `length` of them — move them on
/// (an upstream write buffer, zero-copy for whole slices), or drain them. The parser checks that
/// it did. A class, so the parser holds it as a plain reference (the parser is compiled once, not
/// per sink type). Called on the parser's thread.
public protocol HTTP1BodySink: AnyObject {
    /// Removes the first `length` bytes of `input`, using them as it likes.
    func consumeBody(from input: IOBuffer, length: Int)
}

extension IOBuffer: HTTP1BodySink {
    /// Moves the body bytes to the end of this buffer. The owning thread.
    public func consumeBody(from input: IOBuffer, length: Int) {
        move(from: input, length: length)
    }
}
