import ConvoyDispatcher
import ConvoyHTTP1
import ConvoyNetwork

#if canImport(Glibc)
import Glibc
#endif

/// A small backend for the proxy demo and benchmarks: answers every request with
/// `hello from NAME` plus the method and path it saw, and says who it is in `x-backend`. Echoes
/// request bodies' sizes. One dispatcher thread, keep-alive, built on ConvoyHTTP1.
///
///     DemoBackend NAME [ADDRESS]      # default 127.0.0.1:18081
@main
struct DemoBackend {
    final class Responder: HTTP1ServerCodecDelegate {
        let name: String
        var method = ""
        var target = ""
        var bodyBytes = 0

        init(name: String) { self.name = name }

        func serverCodec(_ codec: HTTP1ServerCodec, didReceiveHead head: inout HTTPRequestHead) {
            method = head.method.rawValue
            target = head.target
            bodyBytes = 0
        }

        func serverCodec(_ codec: HTTP1ServerCodec, didReceiveBody body: IOBuffer) {
            bodyBytes += body.count
            body.drain(body.count)
        }

        func serverCodecDidReceiveEnd(_ codec: HTTP1ServerCodec) {
            var text = "hello from \(name): \(method) \(target)"
            if bodyBytes > 0 { text += " (\(bodyBytes) body bytes)" }
            codec.sendResponse(status: 200, headers: ["Content-Type": "text/plain", "x-backend": name], body: IOBuffer(text + "\n"))
        }
    }

    static func main() {
        do {
            try serve()
        } catch {
            print("DemoBackend: \(error)")  // e.g. the port is taken: say so, exit 1, no crash report
            exit(1)
        }
    }

    private static func serve() throws {
        let arguments = Array(CommandLine.arguments.dropFirst())
        guard let name = arguments.first else {
            print("usage: DemoBackend NAME [ADDRESS]")
            exit(2)
        }
        let text = arguments.dropFirst().first ?? "127.0.0.1:18081"
        guard let address = SocketAddress(text) else {
            print("DemoBackend: '\(text)' is not an address (try 127.0.0.1:18081)")
            exit(2)
        }
        let dispatcher = try Dispatcher(name: "backend")
        let listener = try Listener(dispatcher: dispatcher, address: address) { connection in
            let codec = HTTP1ServerCodec(connection: connection, delegate: Responder(name: name))
            codec.idleTimeout = .seconds(60)
            connection.initializeReadFilters()
        }
        let stop = try SignalEvent(dispatcher: dispatcher, signal: SIGINT) { dispatcher.exit() }
        let terminate = try SignalEvent(dispatcher: dispatcher, signal: SIGTERM) { dispatcher.exit() }
        print("backend \(name) on http://\(listener.localAddress)/")
        fflush(nil)
        dispatcher.run(.untilExit)
        withExtendedLifetime((stop, terminate, listener)) {}
    }
}
