import ConvoyDispatcher
import ConvoyNetwork
import ConvoyTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// One dispatcher, a listener on 127.0.0.1 port 0, and helpers to open client connections and
/// run the loop until something has happened. Dispatcher thread (the test's).
final class LoopbackHarness {
    let dispatcher: Dispatcher
    private(set) var listener: Listener!
    private(set) var accepted: [Connection] = []
    /// Runs on each accepted connection before it is recorded.
    var configureAccepted: ((Connection) -> Void)?

    init(timeSource: any TimeSource = SystemTimeSource(), connectionLimit: Int? = nil, backlog: Int32 = SOMAXCONN) throws {
        dispatcher = try Dispatcher(name: "loopback", timeSource: timeSource)
        listener = try Listener(dispatcher: dispatcher, address: .loopback(), backlog: backlog, connectionLimit: connectionLimit) {
            [unowned self] connection in
            self.configureAccepted?(connection)
            self.accepted.append(connection)
        }
    }

    /// A client connection to the listener, connecting.
    func connectClient(timeout: Duration? = .seconds(5)) throws -> ClientConnection {
        let client = try ClientConnection(dispatcher: dispatcher, remoteAddress: listener.localAddress, connectTimeout: timeout)
        client.connect()
        return client
    }

    /// Runs loop iterations until `condition` holds; false if it did not within `limit` of wall
    /// time (a hang guard, not a timing assertion).
    @discardableResult
    func run(until condition: () -> Bool, limit: Duration = .seconds(30)) -> Bool {
        runDispatcher(dispatcher, until: condition, limit: limit)
    }
}

/// Records a connection's events (in order) for assertions.
final class EventRecorder: ConnectionCallbacks {
    var events: [ConnectionEvent] = []
    var aboveHigh = 0
    var belowLow = 0
    var onAboveHigh: (() -> Void)?
    var onBelowLow: (() -> Void)?

    init(_ connection: Connection) { connection.addCallbacks(self) }

    func onEvent(_ event: ConnectionEvent) { events.append(event) }
    func onAboveWriteBufferHighWatermark() {
        aboveHigh += 1
        onAboveHigh?()
    }
    func onBelowWriteBufferLowWatermark() {
        belowLow += 1
        onBelowLow?()
    }

    var closed: Bool { events.contains(.remoteClose) || events.contains(.localClose) }
}

/// A read filter that keeps every byte it sees and counts end-of-stream deliveries.
final class Collector: ReadFilter {
    var received: [UInt8] = []
    var endStreams = 0
    var onDataHook: ((IOBuffer, Bool) -> Void)?

    init(_ connection: Connection) {
        connection.addReadFilter(self)
        connection.initializeReadFilters()
    }

    func onData(_ data: IOBuffer, endStream: Bool) -> FilterStatus {
        received += data.bytes
        data.drain(data.count)
        if endStream { endStreams += 1 }
        onDataHook?(data, endStream)
        return .continue
    }
}

/// A read filter that writes back whatever it reads.
final class Echoer: ReadFilter {
    unowned let connection: Connection
    init(_ connection: Connection) {
        self.connection = connection
        connection.addReadFilter(self)
        connection.initializeReadFilters()
    }

    func onData(_ data: IOBuffer, endStream: Bool) -> FilterStatus {
        connection.write(data)
        return .stopIteration
    }
}

func testPattern(_ count: Int, seed: Int = 1) -> [UInt8] {
    (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 131 &+ seed &+ ($0 >> 8)) }
}

/// Compares two byte arrays without handing them to `#expect` (whose failure report would diff
/// megabytes); on a mismatch returns where and what differs.
func firstDifference(_ actual: [UInt8], _ expected: [UInt8]) -> String? {
    if actual.count != expected.count { return "length \(actual.count), expected \(expected.count)" }
    guard let index = actual.indices.first(where: { actual[$0] != expected[$0] }) else { return nil }
    return "first difference at byte \(index): \(actual[index]) instead of \(expected[index])"
}
