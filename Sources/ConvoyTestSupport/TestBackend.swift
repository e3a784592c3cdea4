import ConvoyDispatcher
import ConvoyHTTP1
import ConvoyNetwork

/// A scripted HTTP/1.1 upstream for proxy tests, on its own dispatcher thread and a loopback port
/// chosen by the kernel. It records every request it sees and counts connections. Create and
/// stop it from the test's thread; its behaviour runs on its own.
public final class TestBackend: Sendable {
    /// What the backend does with each request.
    public enum Behavior: Sendable {
        /// `200` with body `NAME METHOD TARGET\n` and `x-backend: NAME`, after reading the body.
        case echo(name: String)
        /// `200` with body `NAME received N bytes\n` once the whole request body is counted.
        case countBody(name: String)
        /// `200` with `bytes` of body, written as the client reads (backpressure respected).
        case largeResponse(bytes: Int)
        /// Closes the connection as soon as a request head arrives.
        case reset
        /// Never answers.
        case stall
        /// This status with an empty body.
        case status(Int)
        /// Half the declared body, then a close (a response cut short).
        case truncatedResponse
        /// The first `count` requests (over all connections) get `status`; later ones `200` with
        /// `NAME received N bytes\n` once their body is read.
        case failFirst(count: Int, status: Int, name: String)
        /// The first `count` requests are met with a reset as their head arrives; later ones as
        /// in `failFirst`.
        case resetFirst(count: Int, name: String)
        /// The first `count` requests are never answered; later ones as in `failFirst`.
        case stallFirst(count: Int, name: String)
        /// Each connection answers its first request as in `failFirst` and resets when a second
        /// one arrives: a backend closing idle keep-alive connections as the proxy reuses them.
        case closeOnReuse(name: String)
    }

    /// A request as the backend saw it. A plain value.
    public struct SeenRequest: Sendable {
        /// The method. Any thread.
        public let method: String
        /// The request target. Any thread.
        public let target: String
        /// Header fields in order. Any thread.
        public let headers: [(name: String, value: String)]

        /// The first value of `name` (any case). Any thread.
        public func header(_ name: String) -> String? {
            headers.first { $0.name.lowercased() == name.lowercased() }?.value
        }
    }

    /// Where it listens. Any thread.
    public let address: SocketAddress
    private let dispatcher: Dispatcher
    private let thread: PosixThread
    private let state = Locked(State())

    private struct State {
        var connections = 0
        var closedConnections = 0
        var requests: [SeenRequest] = []
        var failureStatus: Int?
        var bodyBytes = 0
    }

    /// Starts a backend with `behavior` on 127.0.0.1, port 0. Any thread.
    public init(_ behavior: Behavior) throws {
        let dispatcher = try Dispatcher(name: "test_backend")
        let state = self.state
        let listener = try Listener(dispatcher: dispatcher, address: .loopback(port: 0)) { connection in
            state.withLock { $0.connections += 1 }
            let responder = Responder(behavior: behavior, state: state, connection: connection)
            connection.addCallbacks(responder)
            let codec = HTTP1ServerCodec(connection: connection, delegate: responder)  // the connection holds it
            responder.codec = codec
            connection.initializeReadFilters()
        }
        address = listener.localAddress
        self.dispatcher = dispatcher
        let bound = DispatcherBound(listener, dispatcher: dispatcher)
        thread = try PosixThread(name: "test_backend") {
            dispatcher.run(.untilExit)
            _ = bound.value
        }
    }

    /// Stops the backend's loop and waits for its thread. Any thread.
    public func stop() {
        dispatcher.exit()
        thread.join()
    }

    /// Connections accepted so far. Any thread.
    public var connectionsAccepted: Int { state.value.connections }

    /// Connections accepted and since closed. Any thread.
    public var connectionsClosed: Int { state.value.closedConnections }

    /// From now on every request gets `status` (nil: back to the behaviour), for a backend that
    /// flaps. Any thread.
    public func setFailure(status: Int?) {
        state.withLock { $0.failureStatus = status }
    }

    /// Request body bytes received so far, over all requests. Any thread.
    public var bodyBytesReceived: Int { state.value.bodyBytes }

    /// Requests seen so far (heads, in arrival order). Any thread.
    public var requests: [SeenRequest] { state.value.requests }

    private final class Responder: HTTP1ServerCodecDelegate, ConnectionCallbacks {
        let behavior: Behavior
        let state: Locked<State>
        let connection: Connection
        weak var codec: HTTP1ServerCodec?
        var method = ""
        var target = ""
        var bodyBytes = 0
        var remainingLargeBody = 0
        var writeBlocked = false
        /// Index of the current request over all connections, and on this connection.
        var backendIndex = 0
        var connectionIndex = -1

        init(behavior: Behavior, state: Locked<State>, connection: Connection) {
            self.behavior = behavior
            self.state = state
            self.connection = connection
        }

        func serverCodec(_ codec: HTTP1ServerCodec, didReceiveHead head: inout HTTPRequestHead) {
            method = head.method.rawValue
            target = head.target
            bodyBytes = 0
            let seen = SeenRequest(method: method, target: target, headers: Array(head.headers))
            backendIndex = state.withLock { state in
                state.requests.append(seen)
                return state.requests.count - 1
            }
            connectionIndex += 1
            switch behavior {
            case .reset: connection.close(.abort)
            case .resetFirst(let count, _) where backendIndex < count: connection.close(.abort)
            case .closeOnReuse where connectionIndex > 0: connection.close(.abort)
            default: break
            }
        }

        func serverCodec(_ codec: HTTP1ServerCodec, didReceiveBody body: IOBuffer) {
            bodyBytes += body.count
            let count = body.count
            state.withLock { $0.bodyBytes += count }
            body.drain(body.count)
        }

        func serverCodecDidReceiveEnd(_ codec: HTTP1ServerCodec) {
            if let status = state.value.failureStatus {
                codec.sendResponse(status: status)
                return
            }
            switch behavior {
            case .echo(let name):
                codec.sendResponse(status: 200, headers: ["x-backend": name, "Content-Type": "text/plain"], body: IOBuffer("\(name) \(method) \(target)\n"))
            case .countBody(let name):
                codec.sendResponse(status: 200, headers: ["x-backend": name], body: IOBuffer("\(name) received \(bodyBytes) bytes\n"))
            case .largeResponse(let bytes):
                codec.sendResponseHead(HTTPResponseHead(status: 200, headers: ["Content-Length": String(bytes)]), endStream: bytes == 0)
                remainingLargeBody = bytes
                pump()
            case .status(let status):
                codec.sendResponse(status: status)
            case .truncatedResponse:
                codec.sendResponseHead(HTTPResponseHead(status: 200, headers: ["Content-Length": "100"]), endStream: false)
                codec.sendBody(IOBuffer(String(repeating: "x", count: 50)))
                connection.close(.flushWrite)
            case .failFirst(let count, let status, _) where backendIndex < count:
                codec.sendResponse(status: status)
            case .stallFirst(let count, _) where backendIndex < count:
                break
            case .failFirst(_, _, let name), .resetFirst(_, let name), .stallFirst(_, let name), .closeOnReuse(let name):
                codec.sendResponse(status: 200, headers: ["x-backend": name], body: IOBuffer("\(name) received \(bodyBytes) bytes\n"))
            case .reset, .stall:
                break
            }
        }

        private static let block = [UInt8](repeating: 0x61, count: 65536)

        private func pump() {
            guard let codec else { return }
            while remainingLargeBody > 0 && !writeBlocked && connection.state == .open {
                let count = min(remainingLargeBody, Self.block.count)
                let chunk = IOBuffer()
                chunk.append(Self.block[0..<count])
                remainingLargeBody -= count
                codec.sendBody(chunk)
                if remainingLargeBody == 0 { codec.sendEnd() }
            }
        }

        func onEvent(_ event: ConnectionEvent) {
            if event != .connected { state.withLock { $0.closedConnections += 1 } }
        }

        func onAboveWriteBufferHighWatermark() {
            writeBlocked = true
        }

        func onBelowWriteBufferLowWatermark() {
            writeBlocked = false
            pump()
        }
    }
}
