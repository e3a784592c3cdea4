import ConvoyDispatcher
import ConvoyHTTP1
import ConvoyNetwork
import Logging

/// The admin listener (Bootstrap `admin`, default 127.0.0.1:15000, as Istio's sidecar), on a
/// dispatcher thread of its own so that a slow admin client never touches a worker:
///
/// - `GET /ready` (200 `LIVE`, or 503 after `POST /healthcheck/fail`), `GET /server_info`;
/// - `GET /stats` (`name: value` lines, `?format=json`), `GET /stats/prometheus`;
/// - `GET /clusters` (every endpoint with health and load, `?format=json`), `GET /config_dump`;
/// - `POST /healthcheck/fail`, `POST /healthcheck/ok`, `POST /drain_listeners` (stop accepting).
///
/// State-changing endpoints answer 405 to other methods; unknown paths 404 with the list.
/// Created and stopped on the main thread; it serves on its own.
public final class AdminServer: Sendable {
    /// Where it listens (the actual port when the configuration asked for 0). Any thread.
    public let address: SocketAddress
    /// What it answers (the proxy tells it when it starts draining). Any thread.
    let routes: AdminRoutes
    private let dispatcher: Dispatcher
    private let thread: PosixThread

    /// Binds `address` and starts serving `routes`. Main thread.
    /// - Throws: ``NetworkError`` when the address cannot be bound, or a dispatcher/thread error.
    init(address: SocketAddress, routes: AdminRoutes) throws {
        let dispatcher = try Dispatcher(name: "admin")
        let listener = try Listener(dispatcher: dispatcher, address: address) { connection in
            let exchange = AdminExchange(routes: routes)
            let codec = HTTP1ServerCodec(connection: connection, delegate: exchange)  // the connection holds it
            exchange.codec = codec
            codec.idleTimeout = .seconds(60)
            connection.initializeReadFilters()
        }
        self.address = listener.localAddress
        self.routes = routes
        self.dispatcher = dispatcher
        let bound = DispatcherBound(listener, dispatcher: dispatcher)
        thread = try PosixThread(name: "admin") {
            dispatcher.run(.untilExit)
            _ = bound.value
        }
    }

    /// Stops serving and waits for the admin thread. Main thread.
    func stop() {
        dispatcher.exit()
        thread.join()
    }
}

/// One admin connection's request and its answer. Admin thread.
private final class AdminExchange: HTTP1ServerCodecDelegate {
    let routes: AdminRoutes
    weak var codec: HTTP1ServerCodec?
    private var method = HTTPMethod.get
    private var target = "/"

    init(routes: AdminRoutes) {
        self.routes = routes
    }

    func serverCodec(_ codec: HTTP1ServerCodec, didReceiveHead head: inout HTTPRequestHead) {
        method = head.method
        target = head.target
    }

    func serverCodec(_ codec: HTTP1ServerCodec, didReceiveBody body: IOBuffer) {
        body.drain(body.count)
    }

    func serverCodecDidReceiveEnd(_ codec: HTTP1ServerCodec) {
        let response = routes.respond(method: method, target: target)
        var headers: HTTPHeaders = ["Content-Type": response.contentType, "Cache-Control": "no-cache"]
        if let allow = response.allow { headers.add(name: "Allow", value: allow) }
        codec.sendResponse(status: response.status, headers: headers, body: IOBuffer(response.body))
    }
}
