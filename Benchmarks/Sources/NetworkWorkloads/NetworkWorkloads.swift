import ConvoyDispatcher
import ConvoyNetwork

/// The Swift halves of the network workloads, mirroring LibeventBaseline's C functions.
public enum NetworkWorkloads {
    private final class Echo: ReadFilter {
        unowned let connection: Connection
        init(_ connection: Connection) { self.connection = connection }
        func onData(_ data: IOBuffer, endStream: Bool) -> FilterStatus {
            connection.write(data)
            return .stopIteration
        }
    }

    private final class Pinger: ReadFilter, ConnectionCallbacks {
        unowned let connection: Connection
        let dispatcher: Dispatcher
        let message: IOBuffer
        let size: Int
        let target: Int
        let outgoing = IOBuffer()
        var pending = 0
        var completed = 0

        init(connection: Connection, dispatcher: Dispatcher, size: Int, target: Int) {
            self.connection = connection
            self.dispatcher = dispatcher
            self.message = IOBuffer([UInt8](repeating: 0x78, count: size))
            self.size = size
            self.target = target
        }

        func send() {
            pending = size
            outgoing.append(message.linearize(size))
            connection.write(outgoing)
        }

        func onEvent(_ event: ConnectionEvent) {
            if event == .connected { send() } else { dispatcher.exit() }
        }

        func onData(_ data: IOBuffer, endStream: Bool) -> FilterStatus {
            pending -= min(pending, data.count)
            data.drain(data.count)
            if pending == 0 {
                completed += 1
                if completed == target {
                    dispatcher.exit()
                } else {
                    send()
                }
            }
            return .stopIteration
        }
    }

    /// `count` echo round trips of `size`-byte messages over loopback TCP on one dispatcher: a
    /// `Listener` whose connections echo, and a `ClientConnection` that sends a message and waits
    /// for its echo before sending the next.
    public static func echoRoundTrips(count: Int, size: Int) throws -> Int {
        let dispatcher = try Dispatcher(name: "echo")
        var servers: [Connection] = []
        let listener = try Listener(dispatcher: dispatcher, address: .loopback()) { connection in
            connection.addReadFilter(Echo(connection))
            servers.append(connection)
        }
        let client = try ClientConnection(dispatcher: dispatcher, remoteAddress: listener.localAddress)
        let pinger = Pinger(connection: client, dispatcher: dispatcher, size: size, target: count)
        client.addReadFilter(pinger)
        client.addCallbacks(pinger)
        client.connect()
        if count > 0 { dispatcher.run(.untilExit) }
        client.close(.noFlush)
        for server in servers { server.close(.noFlush) }
        dispatcher.run(.nonBlock)
        return pinger.completed
    }
}
