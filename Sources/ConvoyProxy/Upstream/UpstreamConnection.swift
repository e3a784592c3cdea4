import ConvoyDispatcher
import ConvoyHTTP1
import ConvoyNetwork

/// One pooled HTTP/1.1 connection to an upstream endpoint: the client connection, its codec, and
/// the bookkeeping the pool needs (requests carried, idle timer). Confined to the worker's thread.
final class UpstreamConnection: ConnectionCallbacks {
    let connection: ClientConnection
    let codec: HTTP1ClientCodec
    unowned let pool: UpstreamPool
    @exclusivity(unchecked) private(set) var isConnected = false
    @exclusivity(unchecked) var requestsCarried = 0
    /// Its index in the pool's busy list while it carries a request, else -1.
    @exclusivity(unchecked) var busySlot = -1
    /// The downstream session whose request this connection carries (told of write backpressure).
    /// Strong, set and cleared by the session itself (`attach`, `releaseUpstream`): a weak
    /// reference would give every session a side table, and then every retain and release of a
    /// session, many per request, takes the runtime's slow path.
    @exclusivity(unchecked) var session: DownstreamSession?
    @exclusivity(unchecked) private var idleTimer: DeadlineTimer?
    /// When the connection reaches the pool's `maxConnectionDuration` (nil: never).
    let expiry: MonotonicInstant?

    init(pool: UpstreamPool) throws {
        self.pool = pool
        expiry = pool.settings.maxConnectionDuration.map { pool.dispatcher.approximateMonotonicTime + $0 }
        connection = try ClientConnection(
            dispatcher: pool.dispatcher, remoteAddress: pool.address, connectTimeout: pool.settings.connectTimeout)
        connection.setBufferLimit(pool.bufferLimit)
        if let keepalive = pool.settings.tcpKeepalive {
            connection.setKeepAlive(probes: keepalive.probes, idle: keepalive.time, interval: keepalive.interval)
        }
        codec = HTTP1ClientCodec(connection: connection)
        connection.addCallbacks(self)
    }

    func connect() {
        connection.connect()
    }

    /// True once the connection has reached its maximum duration.
    @inline(__always)
    var hasExpired: Bool {
        guard let expiry else { return false }
        return pool.dispatcher.approximateMonotonicTime >= expiry
    }

    /// Starts the idle timer (the connection waits in the pool): it closes the connection after
    /// `timeout`, or at its expiry if that comes first.
    func becameIdle(timeout: Duration) {
        if idleTimer == nil {
            idleTimer = try? DeadlineTimer(dispatcher: pool.dispatcher) { [unowned self] in
                self.connection.close(.noFlush)
            }
        }
        var wait = timeout
        if let expiry { wait = min(wait, expiry - pool.dispatcher.approximateMonotonicTime) }
        idleTimer?.enable(after: wait)
    }

    /// Stops the idle timer (the connection carries a request).
    func becameBusy() {
        idleTimer?.disable()
    }

    var isOpen: Bool { connection.state == .open }

    func onAboveWriteBufferHighWatermark() {
        session?.upstreamWriteAboveHighWatermark()
    }

    func onBelowWriteBufferLowWatermark() {
        session?.upstreamWriteBelowLowWatermark()
    }

    func onEvent(_ event: ConnectionEvent) {
        switch event {
        case .connected:
            isConnected = true
            pool.connectionConnected(self)
        case .remoteClose, .localClose:
            idleTimer = nil
            pool.connectionClosed(self, failure: isConnected ? nil : connection.failure, timedOut: event == .localClose)
        }
    }
}
