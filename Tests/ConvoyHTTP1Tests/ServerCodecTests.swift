import ConvoyDispatcher
import ConvoyHTTP1
import ConvoyNetwork
import ConvoyTestSupport
import Testing

@Suite("HTTP1ServerCodec over sockets")
struct ServerCodecTests {
    @Test func pipelinedRequestsAreAnsweredInOrderOnOneConnection() throws {
        let harness = try ServerCodecHarness()
        // Answer each request one loop iteration later, so later requests sit in the buffer.
        var pending: [ScheduledCallback] = []
        harness.server.respond = { codec, head, _ in
            let target = head.target
            let callback = try! ScheduledCallback(dispatcher: harness.dispatcher) {
                codec.sendResponse(status: 200, headers: ["X-Target": target], body: IOBuffer("answer for \(target)"))
            }
            callback.scheduleNextIteration()
            pending.append(callback)
        }
        let client = try harness.client()
        client.send((1...5).map { "GET /\($0) HTTP/1.1\r\nHost: a\r\n\r\n" }.joined())
        #expect(harness.run { client.responses().count == 5 })
        let responses = client.responses()
        #expect(responses.map(\.body) == (1...5).map { "answer for /\($0)" })
        #expect(responses.map { $0.head.headers["x-target"] } == (1...5).map { "/\($0)" })
        #expect(harness.codecs.count == 1, "all five on one keep-alive connection")
        #expect(!client.closed)
        // Keep-alive: another request later on the same connection.
        client.send("GET /6 HTTP/1.1\r\nHost: a\r\n\r\n")
        #expect(harness.run { client.responses().count == 6 })
        #expect(harness.codecs[0].requestsReceived == 6)
    }

    @Test func connectionCloseEndsTheConnectionAfterTheResponse() throws {
        let harness = try ServerCodecHarness()
        let client = try harness.client()
        client.send("GET /last HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\nGET /never HTTP/1.1\r\nHost: a\r\n\r\n")
        #expect(harness.run { client.closed })
        let responses = client.responses()
        #expect(responses.count == 1)
        #expect(responses.first?.head.headers["connection"] == "close")
        #expect(harness.server.heads.map(\.target) == ["/last"])
    }

    @Test func http10KeepAliveOnlyWhenAsked() throws {
        let harness = try ServerCodecHarness()
        let plain = try harness.client()
        plain.send("GET /a HTTP/1.0\r\n\r\n")
        #expect(harness.run { plain.closed })
        #expect(plain.responses().first?.body == "/a")

        let keepAlive = try harness.client()
        keepAlive.send("GET /b HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        #expect(harness.run { keepAlive.responses().count == 1 })
        #expect(keepAlive.responses().first?.head.headers["connection"] == "keep-alive")
        keepAlive.send("GET /c HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        #expect(harness.run { keepAlive.responses().count == 2 })
        #expect(!keepAlive.closed)
    }

    @Test func hundredContinueBeforeTheBody() throws {
        let harness = try ServerCodecHarness()
        harness.server.respond = { codec, _, body in codec.sendResponse(status: 201, body: IOBuffer("got \(body)")) }
        let client = try harness.client()
        client.send("PUT /f HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n")
        #expect(harness.run { client.received.string.hasPrefix("HTTP/1.1 100 Continue\r\n\r\n") })
        #expect(harness.server.ends == 0)
        client.send("hello")
        #expect(harness.run { client.responses().count == 2 })
        let responses = client.responses()
        #expect(responses.map(\.head.status) == [100, 201])
        #expect(responses.last?.body == "got hello")
    }

    @Test func chunkedRequestBodyAndTrailersReachTheDelegate() throws {
        let harness = try ServerCodecHarness()
        harness.server.respond = { codec, _, body in codec.sendResponse(status: 200, body: IOBuffer(body.uppercased())) }
        let client = try harness.client()
        client.send("POST /up HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nwiki\r\n")
        #expect(harness.run { harness.server.bodies.first == "wiki" })
        #expect(harness.server.ends == 0, "body bytes arrive before the request ends")
        client.send("5\r\npedia\r\n0\r\nX-Sum: 9\r\n\r\n")
        #expect(harness.run { client.responses().count == 1 })
        #expect(client.responses().first?.body == "WIKIPEDIA")
        #expect(harness.server.trailers.first?["x-sum"] == "9")
    }

    @Test func malformedRequestGetsItsStatusAndNothingAfterItIsParsed() throws {
        let harness = try ServerCodecHarness()
        let client = try harness.client()
        client.send("GET /ok HTTP/1.1\r\nHost: a\r\n\r\nPOST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n")
        #expect(harness.run { client.closed })
        let responses = client.responses()
        #expect(responses.map(\.head.status) == [200, 400])
        #expect(responses.last?.body == "Bad Request: http1.content_length_and_chunked_not_allowed\n")
        #expect(responses.last?.head.headers["connection"] == "close")
        #expect(harness.server.heads.map(\.target) == ["/ok"])
        #expect(harness.codecs[0].protocolError?.kind == .contentLengthAndTransferEncoding)
    }

    @Test(arguments: [
        ("GET / HTTP/1.1\r\nHost: a\r\nX: \(String(repeating: "v", count: 70_000))\r\n\r\n", 431),
        ("GET /\(String(repeating: "p", count: 20_000)) HTTP/1.1\r\nHost: a\r\n\r\n", 414),
        ("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501),
        ("GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505),
        ("GET / HTTP/1.1\r\n\r\n", 400),
    ])
    func errorStatuses(_ request: String, _ status: Int) throws {
        let harness = try ServerCodecHarness()
        let client = try harness.client()
        client.send(request)
        #expect(harness.run { client.closed })
        #expect(client.responses().map(\.head.status) == [status])
        #expect(harness.server.heads.isEmpty)
    }

    @Test func bodyLimitAnswers413() throws {
        let harness = try ServerCodecHarness(limits: HTTP1ParserLimits(maxBodyBytes: 8))
        let client = try harness.client()
        client.send("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 9\r\n\r\n123456789")
        #expect(harness.run { client.closed })
        #expect(client.responses().map(\.head.status) == [413])
    }

    @Test func earlyResponseClosesTheConnection() throws {
        let harness = try ServerCodecHarness()
        harness.server.onHead = { codec, _ in codec.sendResponse(status: 401, body: IOBuffer("no")) }
        harness.server.respond = { _, _, _ in Issue.record("the request never completes") }
        let client = try harness.client()
        client.send("POST /upload HTTP/1.1\r\nHost: a\r\nContent-Length: 100000\r\n\r\nfirst part")
        #expect(harness.run { client.closed })
        #expect(client.responses().map(\.head.status) == [401])
        #expect(client.responses().first?.head.headers["connection"] == "close")
    }

    @Test func peerClosingMidRequestResetsTheStream() throws {
        let harness = try ServerCodecHarness()
        let client = try harness.client()
        client.send("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nabc")
        #expect(harness.run { harness.server.bodies.first == "abc" })
        client.connection.close(.noFlush)
        #expect(harness.run { !harness.server.resets.isEmpty })
        #expect(harness.server.resets == [.connectionClosed])
        #expect(harness.server.ends == 0)
    }

    @Test func idleConnectionIsClosedAfterTheIdleTimeout() throws {
        let time = SimulatedTimeSource()
        let harness = try ServerCodecHarness(timeSource: time)
        harness.configure = { $0.idleTimeout = .seconds(30) }
        let client = try harness.client()
        client.send("GET / HTTP/1.1\r\nHost: a\r\n\r\n")
        #expect(harness.run { client.responses().count == 1 })
        time.advance(by: .seconds(29))
        harness.dispatcher.run(.nonBlock)
        #expect(!client.closed)
        time.advance(by: .seconds(2))
        #expect(harness.run { client.closed })
    }

    @Test func streamedResponseIsChunkedAndHeadResponsesHaveNoBody() throws {
        let harness = try ServerCodecHarness()
        harness.server.respond = { codec, head, _ in
            codec.sendResponseHead(HTTPResponseHead(status: 200, headers: ["X-Case": "Kept"]), endStream: false)
            if head.method != .head {
                codec.sendBody(IOBuffer("part one, "))
                codec.sendBody(IOBuffer("part two"))
            }
            codec.sendEnd(trailers: ["X-Done": "yes"])
        }
        let client = try harness.client()
        client.send("GET /s HTTP/1.1\r\nHost: a\r\n\r\nHEAD /s HTTP/1.1\r\nHost: a\r\n\r\n")
        #expect(harness.run { client.responses(requestMethods: [.get, .head]).count == 2 })
        #expect(client.received.string.contains("Transfer-Encoding: chunked\r\n"))
        #expect(client.received.string.contains("X-Case: Kept\r\n"))
        #expect(client.received.string.contains("X-Done: yes\r\n"))
        let responses = client.responses(requestMethods: [.get, .head])
        #expect(responses.map(\.body) == ["part one, part two", ""])
    }

    @Test func upgradeTunnelsRawBytesBothWays() throws {
        let harness = try ServerCodecHarness()
        harness.server.onHead = { codec, _ in
            codec.sendResponseHead(HTTPResponseHead(status: 101, headers: ["Upgrade": "echo", "Connection": "Upgrade"]), endStream: false)
        }
        let client = try harness.client()
        client.send("GET /chat HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\nraw bytes \u{0}\u{1}")
        #expect(harness.run { harness.server.bodies.first == "raw bytes \u{0}\u{1}" })
        harness.codecs[0].sendBody(IOBuffer("back \u{2}"))
        #expect(harness.run { client.received.string.hasSuffix("\r\n\r\nback \u{2}") })
        #expect(client.received.string.hasPrefix("HTTP/1.1 101 Switching Protocols\r\n"))
    }

    @Test func noNewRequestStartsWhileThePeerIsNotReadingResponses() throws {
        let harness = try ServerCodecHarness()
        harness.configure = { $0.connection.setBufferLimit(64 * 1024) }
        let big = [UInt8](repeating: 0x61, count: 2 << 20)
        harness.server.respond = { codec, _, _ in codec.sendResponse(status: 200, body: IOBuffer(big)) }
        let client = try harness.client()
        #expect(harness.run { harness.codecs.count == 1 })
        client.connection.readDisable(true)
        client.send((1...20).map { "GET /\($0) HTTP/1.1\r\nHost: a\r\n\r\n" }.joined())
        #expect(harness.run { harness.codecs.first?.connection.writeBuffer.isAboveHighWatermark == true })
        for _ in 0..<200 { harness.dispatcher.run(.nonBlock) }
        // 40 MiB of answers cannot fit in the kernel's buffers: the codec must have stopped.
        let started = harness.codecs[0].requestsReceived
        #expect(started < 20, "requests kept starting while responses piled up")
        client.connection.readDisable(false)
        #expect(harness.run { harness.codecs[0].requestsReceived == 20 && client.received.count >= 20 * big.count })
    }

    @Test func shutdownNoticeClosesIdleConnectionsAndEndsKeepAliveOnTheNextResponse() throws {
        let harness = try ServerCodecHarness()
        var held: HTTP1ServerCodec?
        harness.server.respond = { codec, _, _ in held = codec }
        let client = try harness.client()
        client.send("GET /slow HTTP/1.1\r\nHost: a\r\n\r\n")
        #expect(harness.run { held != nil })
        held?.shutdownNotice()
        held?.sendResponse(status: 200, body: IOBuffer("last"))
        #expect(harness.run { client.closed })
        #expect(client.responses().first?.head.headers["connection"] == "close")

        let idle = try harness.client()
        #expect(harness.run { harness.codecs.count == 2 })
        harness.codecs[1].shutdownNotice()
        #expect(harness.run { idle.closed })
        #expect(idle.received.isEmpty)
    }

    @Test func connectionOptionsAreMatchedAsTokens() throws {
        let harness = try ServerCodecHarness()
        harness.server.respond = { codec, _, _ in
            codec.sendResponse(status: 200, headers: ["Connection": "x-closet"], body: IOBuffer("kept"))
        }
        let client = try harness.client()
        client.send("GET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\n")
        #expect(harness.run { client.responses().count == 2 })
        #expect(!client.closed, "`x-closet` is not `close`")
    }
}

/// A delegate that owns its codec, as a proxy's session does: only the codec's letting go on
/// close can free the pair.
private final class OwningDelegate: HTTP1ServerCodecDelegate {
    var codec: HTTP1ServerCodec?
    func serverCodec(_ codec: HTTP1ServerCodec, didReceiveHead head: inout HTTPRequestHead) {}
    func serverCodec(_ codec: HTTP1ServerCodec, didReceiveBody body: IOBuffer) { body.drain(body.count) }
    func serverCodec(_ codec: HTTP1ServerCodec, didReceiveTrailers trailers: HTTPHeaders) {}
    func serverCodecDidReceiveEnd(_ codec: HTTP1ServerCodec) { codec.sendResponse(status: 200, body: IOBuffer("ok")) }
    func serverCodec(_ codec: HTTP1ServerCodec, streamDidReset reason: HTTP1StreamReset) {}
}

@Suite("Server codec lifetime")
struct ServerCodecLifetimeTests {
    @Test("a delegate that holds its codec is freed with it once the connection closes")
    func delegateCycleEndsAtClose() throws {
        let dispatcher = try Dispatcher(name: "codec-lifetime")
        weak var delegate: OwningDelegate?
        let listener = try Listener(dispatcher: dispatcher, address: .loopback()) { connection in
            let owner = OwningDelegate()
            owner.codec = HTTP1ServerCodec(connection: connection, delegate: owner)
            delegate = owner
            connection.initializeReadFilters()
        }
        let connection = try ClientConnection(dispatcher: dispatcher, remoteAddress: listener.localAddress)
        let client = RawClient(connection)
        connection.connect()
        client.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(runDispatcher(dispatcher) { client.responses().count == 1 })
        #expect(delegate != nil, "alive while its connection is open")
        connection.close(.noFlush)
        #expect(runDispatcher(dispatcher) { delegate == nil }, "the codec let go of its delegate when the connection closed")
        withExtendedLifetime(listener) {}
    }
}
