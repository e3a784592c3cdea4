import ConvoyDispatcher
import ConvoyHTTP1
import ConvoyNetwork
import ConvoyTestSupport
import Testing

/// A scripted upstream: each accepted connection answers what it reads with `answer`.
final class ScriptedUpstream: ReadFilter {
    let dispatcher: Dispatcher
    private(set) var listener: Listener!
    var connections: [Connection] = []
    var received = ""
    /// Given everything read so far on a connection, the bytes to write back (once per call).
    var answer: (Connection, String) -> Void = { _, _ in }

    init(dispatcher: Dispatcher) throws {
        self.dispatcher = dispatcher
        listener = try Listener(dispatcher: dispatcher, address: .loopback()) { [unowned self] connection in
            connection.addReadFilter(self)
            self.connections.append(connection)
            connection.initializeReadFilters()
        }
    }

    func onData(_ data: IOBuffer, endStream: Bool) -> FilterStatus {
        received += data.string
        data.drain(data.count)
        answer(connections.last!, received)
        return .stopIteration
    }
}

final class RecordingClient: HTTP1ClientCodecDelegate {
    var heads: [HTTPResponseHead] = []
    var body = ""
    var trailers: [HTTPHeaders] = []
    var ends = 0
    var resets: [HTTP1StreamReset] = []

    func clientCodec(_ codec: HTTP1ClientCodec, didReceiveHead head: inout HTTPResponseHead) { heads.append(head) }
    func clientCodec(_ codec: HTTP1ClientCodec, didReceiveBody body: IOBuffer) {
        self.body += body.string
        body.drain(body.count)
    }
    func clientCodec(_ codec: HTTP1ClientCodec, didReceiveTrailers trailers: HTTPHeaders) { self.trailers.append(trailers) }
    func clientCodecDidReceiveEnd(_ codec: HTTP1ClientCodec) { ends += 1 }
    func clientCodec(_ codec: HTTP1ClientCodec, streamDidReset reason: HTTP1StreamReset) { resets.append(reason) }
}

@Suite("HTTP1ClientCodec over sockets")
struct ClientCodecTests {
    let dispatcher: Dispatcher
    let upstream: ScriptedUpstream
    let recorder = RecordingClient()
    let codec: HTTP1ClientCodec

    init() throws {
        dispatcher = try Dispatcher(name: "http1-client")
        upstream = try ScriptedUpstream(dispatcher: dispatcher)
        let connection = try ClientConnection(dispatcher: dispatcher, remoteAddress: upstream.listener.localAddress)
        codec = HTTP1ClientCodec(connection: connection, delegate: recorder)
        connection.connect()
    }

    func run(until condition: () -> Bool) -> Bool { runDispatcher(dispatcher, until: condition) }

    @Test func keepAliveConnectionCarriesOneRequestAfterAnother() {
        upstream.answer = { connection, received in
            if received.hasSuffix("\r\n\r\n") {
                connection.write(IOBuffer("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"))
            }
        }
        codec.sendRequestHead(HTTPRequestHead(method: .get, target: "/one", headers: ["Host": "up", "X-Mixed-Case": "1"]), endStream: true)
        #expect(run { recorder.ends == 1 })
        #expect(upstream.received == "GET /one HTTP/1.1\r\nHost: up\r\nX-Mixed-Case: 1\r\n\r\n")
        #expect(codec.isReusable)
        codec.sendRequestHead(HTTPRequestHead(method: .get, target: "/two", headers: ["Host": "up"]), endStream: true)
        #expect(run { recorder.ends == 2 })
        #expect(recorder.body == "okok")
        #expect(upstream.connections.count == 1)
    }

    @Test func requestBodyIsChunkedWhenItsLengthIsUnknown() {
        upstream.answer = { connection, received in
            if received.hasSuffix("0\r\nX-Sum: 3\r\n\r\n") {
                connection.write(IOBuffer("HTTP/1.1 204 No Content\r\n\r\n"))
            }
        }
        codec.sendRequestHead(HTTPRequestHead(method: .post, target: "/up", headers: ["Host": "up"]), endStream: false)
        codec.sendBody(IOBuffer("abc"))
        codec.sendEnd(trailers: ["X-Sum": "3"])
        #expect(run { recorder.ends == 1 })
        #expect(upstream.received == "POST /up HTTP/1.1\r\nHost: up\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nX-Sum: 3\r\n\r\n")
        #expect(recorder.heads.map(\.status) == [204])
    }

    @Test func headResponseHasNoBodyDespiteItsLength() {
        upstream.answer = { connection, _ in
            connection.write(IOBuffer("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n"))
        }
        codec.sendRequestHead(HTTPRequestHead(method: .head, target: "/", headers: ["Host": "up"]), endStream: true)
        #expect(run { recorder.ends == 1 })
        #expect(recorder.body.isEmpty)
        #expect(codec.isReusable)
    }

    @Test func closeDelimitedResponseEndsWhenTheUpstreamCloses() {
        upstream.answer = { connection, _ in
            connection.write(IOBuffer("HTTP/1.1 200 OK\r\n\r\nall of it"))
            connection.close(.flushWrite)
        }
        codec.sendRequestHead(HTTPRequestHead(method: .get, target: "/", headers: ["Host": "up"]), endStream: true)
        #expect(run { recorder.ends == 1 })
        #expect(recorder.body == "all of it")
        #expect(recorder.resets.isEmpty)
        #expect(!codec.isReusable)
    }

    @Test func afterA101RawBytesFlowBothWaysAndTheConnectionIsNeverReused() {
        var switched = false
        upstream.answer = { connection, received in
            if !switched, received.hasSuffix("\r\n\r\n") {
                switched = true
                connection.write(IOBuffer("HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\nhello"))
            } else if received.hasSuffix("ping\u{0}") {
                connection.write(IOBuffer("pong\u{0}"))
            }
        }
        codec.sendRequestHead(HTTPRequestHead(method: .get, target: "/chat", headers: ["Host": "up", "Connection": "Upgrade", "Upgrade": "echo"]), endStream: true)
        #expect(run { recorder.body == "hello" })
        #expect(recorder.heads.map(\.status) == [101] && codec.isTunnel && !codec.isReusable)
        codec.sendBody(IOBuffer("ping\u{0}"))  // unframed: no chunk sizes around it
        #expect(run { recorder.body == "hellopong\u{0}" })
        #expect(upstream.received.hasSuffix("\r\n\r\nping\u{0}"))
        codec.sendEnd()  // the client is done: the connection closes once its bytes are out
        #expect(run { codec.connection.state == .closed })
        #expect(recorder.resets.isEmpty)
    }

    @Test func keepAliveTimeoutIsReadFromEachFinalResponse() {
        var answers = [
            "HTTP/1.1 100 Continue\r\nKeep-Alive: timeout=99\r\n\r\nHTTP/1.1 200 OK\r\nKeep-Alive: timeout=7, max=100\r\nContent-Length: 0\r\n\r\n",
            "HTTP/1.1 200 OK\r\nkeep-alive:  max=5 , Timeout = \"3\" \r\nContent-Length: 0\r\n\r\n",
            "HTTP/1.1 200 OK\r\nKeep-Alive: max=5\r\nContent-Length: 0\r\n\r\n",
            "HTTP/1.1 200 OK\r\nKeep-Alive: timeout=soon\r\nContent-Length: 0\r\n\r\n",
        ]
        var requests = 0
        upstream.answer = { connection, received in
            let count = received.ranges(of: "GET /").count
            if count > requests, !answers.isEmpty {
                requests = count
                connection.write(IOBuffer(answers.removeFirst()))
            }
        }
        var seen: [Duration?] = []
        for index in 1...4 {
            codec.sendRequestHead(HTTPRequestHead(method: .get, target: "/\(index)", headers: ["Host": "up"]), endStream: true)
            #expect(run { recorder.ends == index })
            seen.append(codec.keepAliveTimeout)
        }
        #expect(seen == [.seconds(7), .seconds(3), nil, nil], "from the final response only; each response replaces it")
    }

    @Test func earlyResponseBeforeTheRequestBodyEnds() {
        upstream.answer = { connection, _ in
            connection.write(IOBuffer("HTTP/1.1 413 Content Too Large\r\nContent-Length: 0\r\n\r\n"))
        }
        codec.sendRequestHead(HTTPRequestHead(method: .post, target: "/big", headers: ["Host": "up", "Content-Length": "1000000"]), endStream: false)
        codec.sendBody(IOBuffer("first bytes"))
        #expect(run { recorder.ends == 1 })
        #expect(recorder.heads.map(\.status) == [413])
        #expect(!codec.isReusable, "the request body was cut short")
    }

    @Test func truncatedResponseResetsTheStream() {
        upstream.answer = { connection, _ in
            connection.write(IOBuffer("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly this"))
            connection.close(.flushWrite)
        }
        codec.sendRequestHead(HTTPRequestHead(method: .get, target: "/", headers: ["Host": "up"]), endStream: true)
        #expect(run { !recorder.resets.isEmpty })
        #expect(recorder.resets == [.connectionClosed])
        #expect(recorder.ends == 0)
    }

    @Test func malformedResponseIsAProtocolError() {
        upstream.answer = { connection, _ in
            connection.write(IOBuffer("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nx"))
        }
        codec.sendRequestHead(HTTPRequestHead(method: .get, target: "/", headers: ["Host": "up"]), endStream: true)
        #expect(run { !recorder.resets.isEmpty })
        #expect(recorder.resets == [.protocolError(HTTPParseError(.conflictingContentLength))])
        #expect(run { codec.connection.state == .closed })
    }

    @Test func responseWithNoRequestOutstandingClosesTheConnection() {
        upstream.answer = { connection, received in
            if received.hasSuffix("\r\n\r\n") {
                connection.write(IOBuffer("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\nHTTP/1.1 408 Request Timeout\r\nContent-Length: 0\r\n\r\n"))
            }
        }
        codec.sendRequestHead(HTTPRequestHead(method: .get, target: "/", headers: ["Host": "up"]), endStream: true)
        #expect(run { codec.connection.state == .closed })
        #expect(recorder.ends == 1)
        #expect(!codec.isReusable)
    }

    @Test func interimResponsesComeBeforeTheFinalOne() {
        upstream.answer = { connection, _ in
            connection.write(IOBuffer("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nz"))
        }
        codec.sendRequestHead(HTTPRequestHead(method: .put, target: "/", headers: ["Host": "up", "Expect": "100-continue", "Content-Length": "1"]), endStream: false)
        codec.sendBody(IOBuffer("z"))
        codec.sendEnd()
        #expect(run { recorder.ends == 1 })
        #expect(recorder.heads.map(\.status) == [100, 200])
    }

    @Test func connectionCloseOnTheRequestMeansNoReuse() {
        upstream.answer = { connection, received in
            if received.hasSuffix("\r\n\r\n") { connection.write(IOBuffer("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")) }
        }
        codec.sendRequestHead(HTTPRequestHead(method: .get, target: "/", headers: ["Host": "up", "Connection": "TE, Close"]), endStream: true)
        #expect(run { recorder.ends == 1 })
        #expect(!codec.isReusable)
    }
}
