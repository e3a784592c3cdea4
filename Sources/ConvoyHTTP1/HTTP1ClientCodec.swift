import ConvoyNetwork

/// Receives the response to a ``HTTP1ClientCodec``'s request. Called on the connection's
/// dispatcher thread.
public protocol HTTP1ClientCodecDelegate: AnyObject {
    /// A response head: interim ones (1xx other than 101) first, then the final one. The head
    /// may be edited in place (it holds the only reference to its storage); a copy kept past the
    /// call shares the storage, and the codec recycles it once no copy does.
    func clientCodec(_ codec: HTTP1ClientCodec, didReceiveHead head: inout HTTPResponseHead)
    /// Response body bytes (de-chunked). Take them — move or drain; what is left is dropped.
    func clientCodec(_ codec: HTTP1ClientCodec, didReceiveBody body: IOBuffer)
    /// The response's trailer section.
    func clientCodec(_ codec: HTTP1ClientCodec, didReceiveTrailers trailers: HTTPHeaders)
    /// The response is complete. ``HTTP1ClientCodec/isReusable`` says whether another request may follow.
    func clientCodecDidReceiveEnd(_ codec: HTTP1ClientCodec)
    /// The exchange failed: the connection closed early or the upstream broke the protocol.
    func clientCodec(_ codec: HTTP1ClientCodec, streamDidReset reason: HTTP1StreamReset)
}

extension HTTP1ClientCodecDelegate {
    /// Drops trailers. Dispatcher thread.
    public func clientCodec(_ codec: HTTP1ClientCodec, didReceiveTrailers trailers: HTTPHeaders) {}
}

/// The client side of HTTP/1.1 on a ``Connection`` (Envoy's `ClientConnectionImpl`), for
/// upstream use: one request at a time.
///
/// - Response framing follows the request: no body for HEAD, 1xx, 204 and 304; a body delimited
///   by close ends when the upstream closes; 101 and a 2xx to CONNECT turn the connection into a
///   raw tunnel.
/// - A response may arrive before the request body has been sent (an early 413 or 401): it is
///   delivered as usual, and the connection is then not reused.
/// - Bytes from the upstream with no request outstanding, a malformed response, or a close
///   before the response ends reset the stream and close the connection.
/// - ``isReusable`` tells a connection pool whether the connection can carry the next request.
/// - **Tunnels.** After a 101 (or a 2xx to CONNECT) the connection carries raw bytes both ways:
///   ``sendBody(_:)`` writes them unframed, the upstream's arrive as body, and the upstream's
///   close ends the response. A tunnelled connection is never reusable.
///
/// Keeps its delegate and its connection alive; an open connection keeps the codec alive (as its
/// read filter) and lets go of it when it closes, and the codec then lets go of its delegate, so
/// nothing outlives the connection unless held — a delegate may hold its codec. Confined to the
/// connection's dispatcher thread.
public final class HTTP1ClientCodec: ReadFilter, ConnectionCallbacks {
    /// The connection to the upstream. Dispatcher thread.
    public let connection: Connection
    /// Receives responses. Dispatcher thread.
    public var delegate: (any HTTP1ClientCodecDelegate)? {
        get { storedDelegate }
        set { storedDelegate = newValue }
    }
    // Behind accessors: another module touching a public stored property checks exclusivity
    // dynamically (about 80 instructions), whatever the declaration says.
    @exclusivity(unchecked) private var storedDelegate: (any HTTP1ClientCodecDelegate)?
    /// Responses completed on this connection. Dispatcher thread.
    @exclusivity(unchecked) public private(set) var responsesReceived: UInt64 = 0
    /// The idle time the upstream announced in its last final response (`Keep-Alive: timeout=`),
    /// for a pool to close the connection before the upstream does (nil: none announced).
    /// Dispatcher thread.
    public var keepAliveTimeout: Duration? { announcedKeepAliveTimeout }
    // Behind an accessor, like `delegate`: read from another module, a public stored property
    // costs a dynamic exclusivity check.
    @exclusivity(unchecked) private var announcedKeepAliveTimeout: Duration?

    @exclusivity(unchecked) private var parser: HTTP1Parser
    private let body = IOBuffer()
    private let output = IOBuffer()
    @exclusivity(unchecked) private var requestOutstanding = false
    @exclusivity(unchecked) private var requestComplete = false
    @exclusivity(unchecked) private var requestFraming = HTTPBodyFraming.none
    @exclusivity(unchecked) private var responseKeepAlive = true
    @exclusivity(unchecked) private var failed = false
    @exclusivity(unchecked) private var dispatching = false
    /// Set when a response head switched the connection to a tunnel. A flag of its own: reading
    /// the parser's state from here copies the whole parser.
    @exclusivity(unchecked) private var tunnel = false

    /// Installs a codec as `connection`'s read filter. Dispatcher thread.
    public init(connection: Connection, limits: HTTP1ParserLimits = .responses, delegate: (any HTTP1ClientCodecDelegate)? = nil) {
        self.connection = connection
        self.storedDelegate = delegate
        parser = HTTP1Parser(role: .response, limits: limits)
        connection.addReadFilter(self)
        connection.addCallbacks(self)
    }

    /// True when a request may be sent now: nothing outstanding, the connection open, the last
    /// exchange completed cleanly and kept the connection alive. Dispatcher thread.
    public var isReusable: Bool {
        !requestOutstanding && !failed && responseKeepAlive && connection.state == .open && !tunnel
    }

    /// True once the response switched the connection to a raw tunnel (101, or 2xx to CONNECT).
    /// Dispatcher thread.
    public var isTunnel: Bool { tunnel }

    /// True while a request is waiting for its response. Dispatcher thread.
    public var hasOutstandingRequest: Bool { requestOutstanding }

    /// Sends a request head; `endStream` when there is no body. Dispatcher thread.
    public func sendRequestHead(_ head: HTTPRequestHead, endStream: Bool) {
        trapUnless(!requestOutstanding, "HTTP1ClientCodec.sendRequestHead while a request is outstanding")
        trapUnless(!failed, "HTTP1ClientCodec.sendRequestHead on a failed connection")
        requestOutstanding = true
        requestComplete = false
        responseKeepAlive = head.keepAlive && !head.headers.hasConnectionOption("close")
        parser.requestMethod = head.method
        connection.write(through: output) { requestFraming = HTTP1Encoder.writeRequestHead(head, endStream: endStream, into: $0) }
        if endStream { requestComplete = true }
    }

    /// Sends request body bytes (moved out of `data`); in a tunnel, raw bytes. Dispatcher thread.
    public func sendBody(_ data: IOBuffer) {
        if tunnel {
            connection.write(data)
            return
        }
        trapUnless(requestOutstanding && !requestComplete, "HTTP1ClientCodec.sendBody with no request body in progress")
        connection.write(through: output) { HTTP1Encoder.writeBody(data, framing: requestFraming, into: $0) }
    }

    /// Ends the request (with `trailers` when chunked). In a tunnel: the client is done, so the
    /// connection closes once what was written has gone out. Dispatcher thread.
    public func sendEnd(trailers: HTTPHeaders? = nil) {
        if tunnel {
            connection.close(.flushWrite)
            return
        }
        trapUnless(requestOutstanding && !requestComplete, "HTTP1ClientCodec.sendEnd with no request body in progress")
        if requestFraming == .chunked {  // only chunked framing writes anything at the end
            connection.write(through: output) { HTTP1Encoder.writeEnd(framing: requestFraming, trailers: trailers, into: $0) }
        }
        requestComplete = true
    }

    // MARK: - Reading

    /// Parses response bytes. Dispatcher thread (called by the connection).
    public func onData(_ data: IOBuffer, endStream: Bool) -> FilterStatus {
        dispatch()
        if endStream, !failed, requestOutstanding {
            do {
                if case .end? = try parser.finish() { completeResponse() }
            } catch {
                fail(.connectionClosed)
            }
        }
        return .stopIteration
    }

    private func dispatch() {
        guard !dispatching else { return }
        dispatching = true
        defer { dispatching = false }
        let input = connection.readBuffer
        while !failed, connection.state == .open {
            guard requestOutstanding else {
                if !input.isEmpty { fail(.unexpectedResponse) }
                return
            }
            let event: HTTP1ParserEvent
            do {
                event = try parser.next(from: input, body: body)
            } catch {
                fail(.protocolError(error))
                return
            }
            switch consume event {
            case .needsMoreBytes:
                return
            case .responseHead(var head):
                if !head.isInformational {
                    responseKeepAlive = responseKeepAlive && head.keepAlive
                    announcedKeepAliveTimeout = head.headers.keepAliveTimeout
                }
                if head.isUpgrade { tunnel = true }
                parser.handOverHeadStorage()
                delegate?.clientCodec(self, didReceiveHead: &head)
                head.headers.recycle()  // back to the pool unless the delegate kept a copy
            case .body:
                delegate?.clientCodec(self, didReceiveBody: body)
                body.drain(body.count)
            case .trailers(let trailers):
                delegate?.clientCodec(self, didReceiveTrailers: trailers)
            case .end:
                completeResponse()
            case .requestHead:
                break
            }
        }
    }

    private func completeResponse() {
        requestOutstanding = false
        responsesReceived += 1
        if !requestComplete { responseKeepAlive = false }  // the request body was cut short by the answer
        delegate?.clientCodecDidReceiveEnd(self)
        if !responseKeepAlive, connection.state == .open { connection.close(.noFlush) }
        if connection.readBuffer.isEmpty { parser.releaseStorage() }  // idle: hold no head storage
    }

    private func fail(_ reason: HTTP1StreamReset) {
        guard !failed else { return }
        failed = true
        let hadRequest = requestOutstanding
        requestOutstanding = false
        if hadRequest { delegate?.clientCodec(self, streamDidReset: reason) }
        if connection.state == .open { connection.close(.noFlush) }
    }

    /// Resets an outstanding request when the connection closes. Dispatcher thread.
    public func onEvent(_ event: ConnectionEvent) {
        guard event != .connected else { return }
        defer { storedDelegate = nil }  // closed: nothing more to hear (and no delegate↔codec cycle)
        guard !failed else { return }
        if requestOutstanding {
            // A body delimited by close ends here; anything else was cut short.
            if case .end? = try? parser.finish() {
                completeResponse()
                failed = true
                return
            }
            fail(.connectionClosed)
        }
        failed = true
    }
}
