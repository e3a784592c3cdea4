import ConvoyDispatcher
import ConvoyNetwork

/// Receives the requests a ``HTTP1ServerCodec`` parses, one stream at a time. Called on the
/// connection's dispatcher thread; it may answer from inside any of these calls or later.
public protocol HTTP1ServerCodecDelegate: AnyObject {
    /// A request head arrived; a new stream begins. The head may be edited in place (it holds
    /// the only reference to its storage, as Envoy's filters edit the header map they are given);
    /// a copy kept past the call shares the storage, and the codec recycles it once no copy does.
    func serverCodec(_ codec: HTTP1ServerCodec, didReceiveHead head: inout HTTPRequestHead)
    /// Body bytes of the current request (de-chunked; raw bytes after an upgrade). Take them —
    /// move or drain; what is left in `body` after the call is dropped.
    func serverCodec(_ codec: HTTP1ServerCodec, didReceiveBody body: IOBuffer)
    /// The request's trailer section.
    func serverCodec(_ codec: HTTP1ServerCodec, didReceiveTrailers trailers: HTTPHeaders)
    /// The request is complete.
    func serverCodecDidReceiveEnd(_ codec: HTTP1ServerCodec)
    /// The current stream is gone before its response completed (peer closed, protocol error).
    func serverCodec(_ codec: HTTP1ServerCodec, streamDidReset reason: HTTP1StreamReset)
}

extension HTTP1ServerCodecDelegate {
    /// Drops trailers. Dispatcher thread.
    public func serverCodec(_ codec: HTTP1ServerCodec, didReceiveTrailers trailers: HTTPHeaders) {}
    /// Ignores resets. Dispatcher thread.
    public func serverCodec(_ codec: HTTP1ServerCodec, streamDidReset reason: HTTP1StreamReset) {}
}

/// The server side of HTTP/1.1 on a ``Connection`` (Envoy's `ServerConnectionImpl`), installed
/// as its read filter.
///
/// - **Streams in order.** One request is active at a time. Pipelined requests wait in the read
///   buffer (bounded by the connection's buffer limit) and are parsed only once the current
///   response is complete, so responses always go out in request order.
/// - **Keep-alive** per RFC 9112 §9.3: after a response the connection stays open unless the
///   request or the response said `Connection: close`, the peer is HTTP/1.0 without keep-alive,
///   the body was delimited by close, or the response finished before the request did. The codec
///   adds `Connection: close` itself when it is going to close.
/// - **100-continue** is answered as soon as the head arrives (``sendsContinueAutomatically``).
/// - **Errors**: a malformed request is answered with its status (400, 413, 414, 431, 501, 505)
///   and a one-line body naming the rule, then the connection is closed; nothing after the bad
///   bytes is parsed. If the response had already started, the connection is just closed.
/// - **Flood protection**: while the write buffer is above its high watermark (the peer is not
///   reading its responses), no new request is started.
/// - **Idle**: with ``idleTimeout`` set, a connection with no request in progress for that long
///   is closed.
///
/// Keeps its delegate and its connection alive; an open connection keeps the codec alive (as its
/// read filter) and lets go of it when it closes, and the codec then lets go of its delegate, so
/// nothing outlives the connection unless held — a delegate may hold its codec. Confined to the
/// connection's dispatcher thread.
///
/// Its fields are confined to one thread and never accessed overlapping (delegates are called
/// between parser steps), so their dynamic exclusivity checks are off: they cost more per request
/// than the parsing.
public final class HTTP1ServerCodec: ReadFilter, ConnectionCallbacks {
    /// The connection the codec reads from and writes to. Dispatcher thread.
    public let connection: Connection
    /// Receives the requests. Dispatcher thread.
    public var delegate: (any HTTP1ServerCodecDelegate)? {
        get { storedDelegate }
        set { storedDelegate = newValue }
    }
    // Behind accessors: another module touching a public stored property checks exclusivity
    // dynamically (about 80 instructions), whatever the declaration says.
    @exclusivity(unchecked) private var storedDelegate: (any HTTP1ServerCodecDelegate)?
    /// Answer `Expect: 100-continue` with `100 Continue` when the head arrives. Dispatcher thread.
    @exclusivity(unchecked) public var sendsContinueAutomatically = true
    /// False: every response is the connection's last (it says `Connection: close`), as for a
    /// connection accepted while the server drains. Dispatcher thread.
    @exclusivity(unchecked) public var keepsAlive = true
    /// Close the connection after this long without a request in progress (nil: never). Dispatcher thread.
    @exclusivity(unchecked) public var idleTimeout: Duration? {
        didSet { armIdleTimerIfIdle() }
    }
    /// Requests whose heads were received. Dispatcher thread.
    @exclusivity(unchecked) public private(set) var requestsReceived: UInt64 = 0
    /// The error the connection ended with, if it was a protocol error. Dispatcher thread.
    @exclusivity(unchecked) public private(set) var protocolError: HTTPParseError?

    @exclusivity(unchecked) private var parser: HTTP1Parser
    private let body = IOBuffer()
    private let output = IOBuffer()
    @exclusivity(unchecked) private var idleTimer: DeadlineTimer?
    @exclusivity(unchecked) private var dispatching = false
    @exclusivity(unchecked) private var outputBlocked = false
    @exclusivity(unchecked) private var draining = false

    // The current stream.
    @exclusivity(unchecked) private var streamActive = false
    @exclusivity(unchecked) private var requestComplete = false
    @exclusivity(unchecked) private var responseStarted = false
    @exclusivity(unchecked) private var responseComplete = false
    @exclusivity(unchecked) private var closeAfterResponse = false
    @exclusivity(unchecked) private var requestMethod = HTTPMethod.get
    @exclusivity(unchecked) private var requestVersion = HTTPVersion.http11
    @exclusivity(unchecked) private var requestIsUpgrade = false
    @exclusivity(unchecked) private var responseFraming = HTTPBodyFraming.none
    @exclusivity(unchecked) private var responseBodyRemaining = 0

    /// Installs a codec as `connection`'s read filter with `limits`. Dispatcher thread.
    public init(connection: Connection, limits: HTTP1ParserLimits = .requests, delegate: (any HTTP1ServerCodecDelegate)? = nil) {
        self.connection = connection
        self.storedDelegate = delegate
        parser = HTTP1Parser(role: .request, limits: limits)
        connection.addReadFilter(self)
        connection.addCallbacks(self)
    }

    /// True while a request is in progress or its response is being sent. Dispatcher thread.
    public var hasActiveStream: Bool { streamActive }

    /// True while part of a request head has arrived but not all of it (the parser holds the
    /// bytes, so the connection's read buffer may already be empty). Dispatcher thread.
    public var isReceivingHead: Bool { !streamActive && (!parser.isIdle || !connection.readBuffer.isEmpty) }

    // MARK: - Responding

    /// Sends the response head for the current request; `endStream` when there is no body.
    /// An informational head (1xx other than 101) may precede the final one. Dispatcher thread.
    public func sendResponseHead(_ head: HTTPResponseHead, endStream: Bool) {
        trapUnless(streamActive && !responseStarted, "HTTP1ServerCodec.sendResponseHead with no request awaiting a response")
        if head.isInformational {
            HTTP1Encoder.writeResponseHead(head, endStream: true, requestMethod: requestMethod, peerVersion: requestVersion, into: output)
            connection.write(output)
            return
        }
        let switching = head.status == 101 || (requestMethod == .connect && head.status >= 200 && head.status < 300)
        if draining || (requestIsUpgrade && !switching) || head.headers.hasConnectionOption("close") { closeAfterResponse = true }
        // A response that starts before the request has ended closes the connection (the rest of
        // the request would otherwise have to be read and thrown away).
        if !requestComplete && !switching { closeAfterResponse = true }
        let connectionField: String? = closeAfterResponse
            ? (requestVersion.minor >= 1 && !switching ? "close" : nil)
            : (requestVersion.minor == 0 ? "keep-alive" : nil)
        if let connectionField {
            var edited = head
            edited.headers.set(name: "Connection", value: connectionField)
            writeResponseHead(edited, endStream: endStream)
            edited.headers.recycle()  // the copy made by the edit
        } else {
            writeResponseHead(head, endStream: endStream)
        }
        if responseFraming == .untilClose { closeAfterResponse = true }
        if case .contentLength(let length) = responseFraming { responseBodyRemaining = length }
        responseStarted = true
        if endStream { completeResponse() }
    }

    private func writeResponseHead(_ head: HTTPResponseHead, endStream: Bool) {
        connection.write(through: output) { buffer in
            responseFraming = HTTP1Encoder.writeResponseHead(
                head, endStream: endStream, requestMethod: requestMethod, peerVersion: requestVersion, into: buffer)
        }
    }

    /// Sends response body bytes (moved out of `data`). Dispatcher thread.
    public func sendBody(_ data: IOBuffer) {
        trapUnless(responseStarted && !responseComplete, "HTTP1ServerCodec.sendBody before the response head or after its end")
        switch responseFraming {
        case .none:
            data.drain(data.count)
            return
        case .contentLength:
            trapUnless(data.count <= responseBodyRemaining, "HTTP1ServerCodec.sendBody: \(data.count) bytes exceed the \(responseBodyRemaining) left of Content-Length")
            responseBodyRemaining -= data.count
        default:
            break
        }
        connection.write(through: output) { HTTP1Encoder.writeBody(data, framing: responseFraming, into: $0) }
    }

    /// Ends the response (with `trailers` when chunked). Dispatcher thread.
    public func sendEnd(trailers: HTTPHeaders? = nil) {
        trapUnless(responseStarted && !responseComplete, "HTTP1ServerCodec.sendEnd before the response head or twice")
        if case .contentLength = responseFraming, responseBodyRemaining > 0 {
            // Fewer bytes than declared: the peer cannot tell where the response ends.
            closeAfterResponse = true
        }
        if responseFraming == .chunked {  // only chunked framing writes anything at the end
            connection.write(through: output) { HTTP1Encoder.writeEnd(framing: responseFraming, trailers: trailers, into: $0) }
        }
        completeResponse()
    }

    /// A complete response in one call: `status`, `headers`, and `body` as the payload. Dispatcher thread.
    public func sendResponse(status: Int, headers: HTTPHeaders = HTTPHeaders(), body: IOBuffer? = nil) {
        var head = HTTPResponseHead(status: status, headers: headers)
        let bodyLength = body?.count ?? 0
        if bodyLength > 0 || (requestMethod == .head && body != nil) {
            head.headers.set(name: "Content-Length", value: String(bodyLength))
        }
        sendResponseHead(head, endStream: bodyLength == 0)
        if let body, bodyLength > 0 {
            sendBody(body)
            sendEnd()
        }
    }

    /// Stops keep-alive: the current response (or none, if idle) is the last. Dispatcher thread.
    public func shutdownNotice() {
        draining = true
        if !streamActive { connection.close(.flushWrite) }
    }

    private func completeResponse() {
        responseComplete = true
        if !requestComplete {
            // The rest of the request would have to be read and thrown away; close instead.
            closeAfterResponse = true
        }
        if closeAfterResponse {
            streamActive = false
            // With the request read whole, closing right after the flush is safe; with request
            // bytes possibly still coming, wait for the peer so our close cannot turn into a reset
            // that destroys the response before it is read.
            connection.close(requestComplete ? .flushWrite : .flushWriteAndDelay)
            return
        }
        finishStream()
    }

    private func finishStream() {
        streamActive = false
        requestComplete = false
        responseStarted = false
        responseComplete = false
        requestIsUpgrade = false
        armIdleTimerIfIdle()
        if connection.readBuffer.isEmpty { parser.releaseStorage() }  // idle: hold no head storage
        // Pipelined requests already buffered are parsed now (or by the running dispatch loop).
        dispatch()
    }

    // MARK: - Reading

    /// Starts the idle timer. Dispatcher thread (called by the connection).
    public func onNewConnection(_ connection: Connection) -> FilterStatus {
        armIdleTimerIfIdle()
        return .continue
    }

    /// Parses what arrived. Dispatcher thread (called by the connection).
    public func onData(_ data: IOBuffer, endStream: Bool) -> FilterStatus {
        dispatch()
        if endStream, connection.state == .open, !(streamActive && requestComplete) {
            do {
                if case .end? = try parser.finish() {
                    requestComplete = true
                    delegate?.serverCodecDidReceiveEnd(self)
                }
            } catch {
                // The peer went away in the middle of a request; nobody is left to answer.
                if streamActive { resetStream(.connectionClosed) }
            }
        }
        return .stopIteration
    }

    private func dispatch() {
        guard !dispatching else { return }
        dispatching = true
        defer { dispatching = false }
        let input = connection.readBuffer
        while connection.state == .open {
            if streamActive && requestComplete { return }  // the next request waits for this response
            if !streamActive && (outputBlocked || draining) { return }
            let event: HTTP1ParserEvent
            do {
                event = try parser.next(from: input, body: body)
            } catch {
                handleProtocolError(error)
                return
            }
            switch consume event {
            case .needsMoreBytes:
                return
            case .requestHead(var head):
                parser.handOverHeadStorage()
                startStream(&head)
                head.headers.recycle()  // back to the pool unless the delegate kept a copy
            case .body:
                delegate?.serverCodec(self, didReceiveBody: body)
                body.drain(body.count)
            case .trailers(let trailers):
                delegate?.serverCodec(self, didReceiveTrailers: trailers)
            case .end:
                requestComplete = true
                delegate?.serverCodecDidReceiveEnd(self)
                if responseComplete { finishStream() }
            case .responseHead:
                break
            }
        }
    }

    private func startStream(_ head: inout HTTPRequestHead) {
        streamActive = true
        requestComplete = false
        responseStarted = false
        responseComplete = false
        closeAfterResponse = !head.keepAlive || draining || !keepsAlive
        requestMethod = head.method
        requestVersion = head.version
        requestIsUpgrade = head.isUpgrade
        requestsReceived += 1
        idleTimer?.disable()
        if head.expectsContinue && sendsContinueAutomatically {
            output.append(Self.continueLine)
            connection.write(output)
        }
        delegate?.serverCodec(self, didReceiveHead: &head)
    }

    private static let continueLine: [UInt8] = Array("HTTP/1.1 100 Continue\r\n\r\n".utf8)

    private func handleProtocolError(_ error: HTTPParseError) {
        protocolError = error
        let canAnswer = !responseStarted || !streamActive
        if streamActive { resetStream(.protocolError(error)) }
        if canAnswer {
            let text = IOBuffer("\(HTTPStatus.reasonPhrase(error.status)): \(error.kind.rawValue)\n")
            let head = HTTPResponseHead(status: error.status, headers: [
                "Content-Type": "text/plain",
                "Content-Length": String(text.count),
                "Connection": "close",
            ])
            HTTP1Encoder.writeResponseHead(head, endStream: false, into: output)
            output.move(from: text)
            connection.write(output)
        }
        connection.close(.flushWriteAndDelay)
    }

    private func resetStream(_ reason: HTTP1StreamReset) {
        streamActive = false
        delegate?.serverCodec(self, streamDidReset: reason)
    }

    // MARK: - Connection callbacks

    /// Resets an unfinished stream when the connection closes, then lets go of the delegate (it
    /// has nothing more to hear, and a delegate that holds its codec would otherwise keep both
    /// alive for ever). Dispatcher thread.
    public func onEvent(_ event: ConnectionEvent) {
        guard event != .connected else { return }
        defer { storedDelegate = nil }
        idleTimer?.disable()
        if streamActive && !responseComplete { resetStream(.connectionClosed) }
    }

    /// The peer is not reading: start no new request. Dispatcher thread.
    public func onAboveWriteBufferHighWatermark() {
        outputBlocked = true
    }

    /// The peer caught up: go on with buffered requests. Dispatcher thread.
    public func onBelowWriteBufferLowWatermark() {
        outputBlocked = false
        dispatch()
    }

    private func armIdleTimerIfIdle() {
        guard let idleTimeout, !streamActive, connection.state == .open else {
            idleTimer?.disable()
            return
        }
        if idleTimer == nil {
            idleTimer = try? DeadlineTimer(dispatcher: connection.dispatcher) { [unowned self] in
                if !self.streamActive { self.connection.close(.flushWrite) }
            }
        }
        idleTimer?.enable(after: idleTimeout)
    }
}
