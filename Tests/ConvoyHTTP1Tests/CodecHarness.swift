import ConvoyDispatcher
import ConvoyHTTP1
import ConvoyNetwork
import ConvoyTestSupport

/// A read filter that collects every byte a raw client receives and notes the close.
final class RawClient: ReadFilter, ConnectionCallbacks {
    let connection: ClientConnection
    let received = IOBuffer()
    var closed = false

    init(_ connection: ClientConnection) {
        self.connection = connection
        connection.addReadFilter(self)
        connection.addCallbacks(self)
    }

    func onData(_ data: IOBuffer, endStream: Bool) -> FilterStatus {
        received.move(from: data)
        return .stopIteration
    }

    func onEvent(_ event: ConnectionEvent) {
        if event != .connected { closed = true }
    }

    func send(_ text: String) { connection.write(IOBuffer(text)) }

    /// The complete responses received so far, parsed: (status, headers, body).
    func responses(requestMethods: [HTTPMethod] = []) -> [(head: HTTPResponseHead, body: String)] {
        var parser = HTTP1Parser(role: .response)
        let copy = IOBuffer(received.bytes)
        let body = IOBuffer()
        var result: [(HTTPResponseHead, String)] = []
        var current: HTTPResponseHead?
        var index = 0
        parser.requestMethod = requestMethods.first ?? .get
        while let event = try? parser.next(from: copy, body: body) {
            switch event {
            case .responseHead(let head):
                if head.isInformational { result.append((head, "")) } else { current = head }
            case .end:
                if let current { result.append((current, body.string)) }
                body.drain(body.count)
                current = nil
                index += 1
                parser.requestMethod = index < requestMethods.count ? requestMethods[index] : .get
            case .needsMoreBytes:
                return result
            default:
                continue
            }
        }
        return result
    }
}

/// Records what a server codec delivers and answers each complete request through `respond`.
final class RecordingServer: HTTP1ServerCodecDelegate {
    var heads: [HTTPRequestHead] = []
    var bodies: [String] = []
    var ends = 0
    var resets: [HTTP1StreamReset] = []
    var trailers: [HTTPHeaders] = []
    var onHead: ((HTTP1ServerCodec, HTTPRequestHead) -> Void)?
    /// Called when a request is complete; answers 200 with the target as the body unless replaced.
    var respond: (HTTP1ServerCodec, HTTPRequestHead, String) -> Void = { codec, head, _ in
        codec.sendResponse(status: 200, body: IOBuffer(head.target))
    }

    func serverCodec(_ codec: HTTP1ServerCodec, didReceiveHead head: inout HTTPRequestHead) {
        heads.append(head)
        bodies.append("")
        onHead?(codec, head)
    }

    func serverCodec(_ codec: HTTP1ServerCodec, didReceiveBody body: IOBuffer) {
        bodies[bodies.count - 1] += body.string
        body.drain(body.count)
    }

    func serverCodec(_ codec: HTTP1ServerCodec, didReceiveTrailers trailers: HTTPHeaders) {
        self.trailers.append(trailers)
    }

    func serverCodecDidReceiveEnd(_ codec: HTTP1ServerCodec) {
        ends += 1
        respond(codec, heads[heads.count - 1], bodies[bodies.count - 1])
    }

    func serverCodec(_ codec: HTTP1ServerCodec, streamDidReset reason: HTTP1StreamReset) {
        resets.append(reason)
    }
}

/// A dispatcher with a listener whose connections get an ``HTTP1ServerCodec`` and a
/// ``RecordingServer``, and a raw client connected to it.
final class ServerCodecHarness {
    let dispatcher: Dispatcher
    let server = RecordingServer()
    var codecs: [HTTP1ServerCodec] = []
    var configure: ((HTTP1ServerCodec) -> Void)?
    private(set) var listener: Listener!

    init(timeSource: any TimeSource = SystemTimeSource(), limits: HTTP1ParserLimits = .requests) throws {
        dispatcher = try Dispatcher(name: "http1-server", timeSource: timeSource)
        listener = try Listener(dispatcher: dispatcher, address: .loopback()) { [unowned self] connection in
            let codec = HTTP1ServerCodec(connection: connection, limits: limits, delegate: self.server)
            self.configure?(codec)
            self.codecs.append(codec)
            connection.initializeReadFilters()
        }
    }

    func client() throws -> RawClient {
        let connection = try ClientConnection(dispatcher: dispatcher, remoteAddress: listener.localAddress)
        let client = RawClient(connection)
        connection.connect()
        return client
    }

    @discardableResult
    func run(until condition: () -> Bool) -> Bool { runDispatcher(dispatcher, until: condition) }
}
