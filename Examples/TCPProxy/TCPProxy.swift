import ConvoyDispatcher
import ConvoyNetwork

#if canImport(Glibc)
import Glibc
#endif

/// A plain TCP proxy: every downstream connection gets an upstream one, and bytes flow both ways
/// with backpressure: when one side's write buffer fills, the other side stops reading until it
/// drains.
///
///     swift run TCPProxy LISTEN UPSTREAM     # e.g. 127.0.0.1:8000 127.0.0.1:9000
@main
struct TCPProxy {
    /// One direction: reads from `source`, writes to `sink`, and pauses `source` while `sink`
    /// cannot keep up. When `source` closes, `sink` is closed after it has flushed.
    final class Pipe: ReadFilter, ConnectionCallbacks {
        let source: Connection
        let sink: Connection
        private var pausedSource = false

        init(from source: Connection, to sink: Connection) {
            self.source = source
            self.sink = sink
            source.addReadFilter(self)
            source.addCallbacks(self)
            sink.addCallbacks(SinkWatermarks(pipe: self))
        }

        func onData(_ data: IOBuffer, endStream: Bool) -> FilterStatus {
            sink.write(data)
            return .stopIteration
        }

        func onEvent(_ event: ConnectionEvent) {
            if event != .connected { sink.close(.flushWrite) }
        }

        func sinkIsFull(_ full: Bool) {
            guard full != pausedSource, source.state == .open else { return }
            pausedSource = full
            source.readDisable(full)
        }
    }

    /// Tells a pipe when its sink's write buffer crosses its watermarks.
    final class SinkWatermarks: ConnectionCallbacks {
        unowned let pipe: Pipe
        init(pipe: Pipe) { self.pipe = pipe }
        func onEvent(_ event: ConnectionEvent) {}
        func onAboveWriteBufferHighWatermark() { pipe.sinkIsFull(true) }
        func onBelowWriteBufferLowWatermark() { pipe.sinkIsFull(false) }
    }

    static func main() throws {
        let arguments = Array(CommandLine.arguments.dropFirst())
        guard arguments.count == 2, let listen = SocketAddress(arguments[0]), let upstream = SocketAddress(arguments[1]) else {
            print("usage: TCPProxy LISTEN_ADDRESS UPSTREAM_ADDRESS   (e.g. 127.0.0.1:8000 127.0.0.1:9000)")
            exit(2)
        }
        let dispatcher = try Dispatcher(name: "proxy")
        let listener = try Listener(dispatcher: dispatcher, address: listen) { downstream in
            do {
                let upstreamConnection = try ClientConnection(dispatcher: dispatcher, remoteAddress: upstream)
                _ = Pipe(from: downstream, to: upstreamConnection)
                _ = Pipe(from: upstreamConnection, to: downstream)
                upstreamConnection.addEventHandler { event in
                    if event == .remoteClose, let failure = upstreamConnection.failure {
                        print("upstream \(upstream): \(failure)")
                    }
                }
                upstreamConnection.connect()
            } catch {
                print("cannot open an upstream connection: \(error)")
                downstream.close(.noFlush)
            }
        }
        let stop = try SignalEvent(dispatcher: dispatcher, signal: SIGINT) { dispatcher.exit() }
        let terminate = try SignalEvent(dispatcher: dispatcher, signal: SIGTERM) { dispatcher.exit() }
        print("proxying \(listener.localAddress) → \(upstream); Ctrl-C stops it")
        fflush(nil)  // the address line must reach a pipe at once, not when the buffer fills
        dispatcher.run(.untilExit)
        withExtendedLifetime((stop, terminate)) {}
    }
}
