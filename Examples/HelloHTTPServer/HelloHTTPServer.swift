import ConvoyDispatcher
import ConvoyHTTP1
import ConvoyNetwork

#if canImport(Glibc)
import Glibc
#endif

/// A direct-response HTTP/1.1 server on the codec: every request gets `200 Hello, world\n`
/// (13 bytes, like the benchmark backend's nginx `return 200`), with keep-alive, pipelining and
/// the codec's error answers for malformed requests. One dispatcher thread.
///
///     swift run -c release HelloHTTPServer [ADDRESS]      # default 127.0.0.1:8080
@main
struct HelloHTTPServer {
    /// Answers each request once it is complete. The head and body are built once; each response
    /// only re-fills the body buffer, so the keep-alive path allocates nothing.
    final class Responder: HTTP1ServerCodecDelegate {
        static let greeting: [UInt8] = Array("Hello, world\n".utf8)
        let head = HTTPResponseHead(status: 200, headers: [
            "Server": "convoy-hello",
            "Content-Type": "text/plain",
            "Content-Length": String(greeting.count),
        ])
        let body = IOBuffer()

        func serverCodec(_ codec: HTTP1ServerCodec, didReceiveHead head: inout HTTPRequestHead) {}

        func serverCodec(_ codec: HTTP1ServerCodec, didReceiveBody body: IOBuffer) {
            body.drain(body.count)
        }

        func serverCodecDidReceiveEnd(_ codec: HTTP1ServerCodec) {
            codec.sendResponseHead(head, endStream: false)
            body.append(Self.greeting)
            codec.sendBody(body)
            codec.sendEnd()
        }
    }

    static func main() throws {
        let text = CommandLine.arguments.dropFirst().first ?? "127.0.0.1:8080"
        guard let address = SocketAddress(text) else {
            print("HelloHTTPServer: '\(text)' is not an address (try 127.0.0.1:8080 or [::1]:8080)")
            exit(2)
        }
        let dispatcher = try Dispatcher(name: "hello")
        let listener = try Listener(dispatcher: dispatcher, address: address) { connection in
            let codec = HTTP1ServerCodec(connection: connection, delegate: Responder())
            codec.idleTimeout = .seconds(60)
            connection.setNoDelay(true)
            connection.initializeReadFilters()
        }
        let stop = try SignalEvent(dispatcher: dispatcher, signal: SIGINT) { dispatcher.exit() }
        let terminate = try SignalEvent(dispatcher: dispatcher, signal: SIGTERM) { dispatcher.exit() }
        print("hello server on http://\(listener.localAddress)/; Ctrl-C stops it")
        fflush(nil)
        dispatcher.run(.untilExit)
        print("accepted \(listener.acceptedConnections) connections")
        withExtendedLifetime((stop, terminate)) {}
    }
}
