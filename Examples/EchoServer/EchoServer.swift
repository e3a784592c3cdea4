import ConvoyDispatcher
import ConvoyNetwork

#if canImport(Glibc)
import Glibc
#endif

/// Echoes every byte back: a `Listener`, and a read filter on each accepted `Connection` that
/// moves what it reads into the write path (no copy: whole slices change buffers).
///
///     swift run EchoServer [ADDRESS]      # default 127.0.0.1:9000
@main
struct EchoServer {
    /// The whole server: what arrives on a connection goes back out of it.
    final class Echo: ReadFilter {
        unowned let connection: Connection
        init(_ connection: Connection) { self.connection = connection }

        func onData(_ data: IOBuffer, endStream: Bool) -> FilterStatus {
            connection.write(data)
            return .stopIteration
        }
    }

    static func main() throws {
        let text = CommandLine.arguments.dropFirst().first ?? "127.0.0.1:9000"
        guard let address = SocketAddress(text) else {
            print("EchoServer: '\(text)' is not an address (try 127.0.0.1:9000, [::1]:9000 or unix:/tmp/echo.sock)")
            exit(2)
        }
        let dispatcher = try Dispatcher(name: "echo")
        let listener = try Listener(dispatcher: dispatcher, address: address) { connection in
            connection.addReadFilter(Echo(connection))
            connection.initializeReadFilters()
        }
        let stop = try SignalEvent(dispatcher: dispatcher, signal: SIGINT) { dispatcher.exit() }
        let terminate = try SignalEvent(dispatcher: dispatcher, signal: SIGTERM) { dispatcher.exit() }
        print("echo server on \(listener.localAddress); Ctrl-C stops it")
        fflush(nil)  // the address line must reach a pipe at once, not when the buffer fills
        dispatcher.run(.untilExit)
        print("accepted \(listener.acceptedConnections) connections")
        withExtendedLifetime((stop, terminate)) {}
    }
}
