import ConvoyDispatcher
import ConvoyNetwork
import ConvoyRouter

/// Receives a connection from an ``UpstreamPool``, or the reason there is none. Worker thread.
protocol UpstreamPoolWaiter: AnyObject {
    func pool(_ pool: UpstreamPool, didProvide connection: UpstreamConnection)
    func pool(_ pool: UpstreamPool, didFail failure: UpstreamFailure)
}

/// The keep-alive connections of one worker to one upstream endpoint (Envoy's HTTP/1 pool): one
/// request per connection at a time, never pipelined. A request takes the most recently used idle
/// connection, or waits for a new one (bounded by `maxConnections` and `maxPendingRequests`).
/// Released connections that are still reusable go back idle until the idle timeout; a waiter
/// gets a released connection in the next loop iteration, so an upstream close racing the
/// response is seen first.
///
/// A pool no current cluster uses any more (a reload changed its settings, DNS or the
/// configuration dropped its endpoint) is drained: its idle connections close at once, busy
/// ones after their exchange, and the worker forgets it once it holds no connection. Confined to
/// the worker's thread.
final class UpstreamPool {
    unowned let worker: ProxyWorker
    let dispatcher: Dispatcher
    let address: SocketAddress
    let settings: ConnectionPoolSettings
    let bufferLimit: Int
    @exclusivity(unchecked) private var idle: [UpstreamConnection] = []
    @exclusivity(unchecked) private var connecting: [UpstreamConnection] = []
    /// Connections carrying a request; each knows its slot here (`busySlot`), so taking one out
    /// is a swap with the last, not a search or a hash.
    @exclusivity(unchecked) private var busy: [UpstreamConnection] = []
    @exclusivity(unchecked) private var waiters: [any UpstreamPoolWaiter] = []
    @exclusivity(unchecked) private var handoff: ScheduledCallback?
    /// Set by ``drain()``: no connection goes (back) to idle.
    @exclusivity(unchecked) private(set) var isDraining = false

    /// Requests given a connection.
    @exclusivity(unchecked) private(set) var requestsServed = 0

    init(worker: ProxyWorker, address: SocketAddress, settings: ConnectionPoolSettings, bufferLimit: Int) {
        self.worker = worker
        self.dispatcher = worker.dispatcher
        self.address = address
        self.settings = settings
        self.bufferLimit = bufferLimit
    }

    var openConnections: Int { idle.count + connecting.count + busy.count }

    /// Requests queued for a connection.
    var pendingRequests: Int { waiters.count }

    /// Stops keeping connections: closes the idle ones now, and every other one when its
    /// exchange ends. Requests already waiting, or still asking (streams on an old configuration),
    /// are served on connections that close after them. The worker is told (``ProxyWorker/poolDrained(_:)``)
    /// whenever the pool holds no connection and no waiter.
    func drain() {
        isDraining = true
        let idleNow = idle
        for connection in idleNow { connection.connection.close(.noFlush) }
        reportIfDrained()
    }

    private func reportIfDrained() {
        if isDraining, openConnections == 0, waiters.isEmpty { worker.poolDrained(self) }
    }

    /// Gives `waiter` a connection now (returned), or queues it (nil) to be called back.
    func acquire(_ waiter: any UpstreamPoolWaiter) -> UpstreamConnection? {
        while let connection = idle.popLast() {
            guard connection.isOpen else { continue }
            markBusy(connection)
            return connection
        }
        if let limit = settings.maxPendingRequests, waiters.count >= limit {
            waiter.pool(self, didFail: .overflow("\(limit) requests already wait for a connection to \(address)"))
            return nil
        }
        waiters.append(waiter)
        if connecting.count < waiters.count {
            if let limit = settings.maxConnections, openConnections >= limit { return nil }  // waits for a release
            openConnection()
        }
        return nil
    }

    /// Withdraws a queued waiter (its downstream went away).
    func cancel(_ waiter: any UpstreamPoolWaiter) {
        waiters.removeAll { $0 === waiter }
        reportIfDrained()
    }

    /// Returns a connection after its exchange: back to idle if it can carry another request.
    func release(_ connection: UpstreamConnection) {
        guard removeBusy(connection) else { return }
        let exhausted = settings.maxRequestsPerConnection.map { connection.requestsCarried >= $0 } ?? false
        guard connection.codec.isReusable, !exhausted, !isDraining, !connection.hasExpired else {
            connection.connection.close(.noFlush)
            serveWaitersWithNewConnections()
            return
        }
        connection.becameIdle(timeout: idleTimeout(for: connection))
        idle.append(connection)
        if !waiters.isEmpty { scheduleHandoff() }
    }

    /// The pool's idle timeout, shortened to close a connection before its upstream does when
    /// the upstream announced its own (`Keep-Alive: timeout=N`): a second early, or half of N
    /// below 2 s. Reusing a connection the upstream is closing is the keep-alive race behind
    /// intermittent 503s; Envoy does not read the field (envoyproxy/envoy#28105).
    private func idleTimeout(for connection: UpstreamConnection) -> Duration {
        guard let announced = connection.codec.keepAliveTimeout else { return settings.idleTimeout }
        let margin: Duration = announced > .seconds(2) ? .seconds(1) : announced / 2
        return min(settings.idleTimeout, announced - margin)
    }

    private func markBusy(_ connection: UpstreamConnection) {
        connection.becameBusy()
        connection.requestsCarried += 1
        requestsServed += 1
        connection.busySlot = busy.count
        busy.append(connection)
    }

    /// Takes `connection` out of `busy`; false when it was not there.
    private func removeBusy(_ connection: UpstreamConnection) -> Bool {
        let slot = connection.busySlot
        guard slot >= 0, slot < busy.count, busy[slot] === connection else { return false }
        let last = busy.removeLast()
        if last !== connection {
            busy[slot] = last
            last.busySlot = slot
        }
        connection.busySlot = -1
        return true
    }

    private func openConnection() {
        do {
            let connection = try UpstreamConnection(pool: self)
            connecting.append(connection)
            worker.countUpstreamConnectionOpened()
            connection.connect()
        } catch {
            let waiter = waiters.removeFirst()
            waiter.pool(self, didFail: .connectFailure("\(address): \(error)"))
        }
    }

    private func scheduleHandoff() {
        if handoff == nil {
            handoff = try? ScheduledCallback(dispatcher: dispatcher) { [unowned self] in self.handOffIdle() }
        }
        handoff?.scheduleNextIteration()
    }

    private func handOffIdle() {
        while !waiters.isEmpty, let connection = idle.popLast() {
            guard connection.isOpen else { continue }
            markBusy(connection)
            let waiter = waiters.removeFirst()
            waiter.pool(self, didProvide: connection)
        }
        serveWaitersWithNewConnections()
    }

    private func serveWaitersWithNewConnections() {
        while connecting.count < waiters.count {
            if let limit = settings.maxConnections, openConnections >= limit { return }
            openConnection()
        }
    }

    // MARK: - From connections

    func connectionConnected(_ connection: UpstreamConnection) {
        connecting.removeAll { $0 === connection }
        guard !waiters.isEmpty else {
            if isDraining { return connection.connection.close(.noFlush) }
            connection.becameIdle(timeout: settings.idleTimeout)
            idle.append(connection)
            return
        }
        markBusy(connection)
        let waiter = waiters.removeFirst()
        waiter.pool(self, didProvide: connection)
    }

    func connectionClosed(_ connection: UpstreamConnection, failure: NetworkError?, timedOut: Bool) {
        let wasConnecting = connecting.contains { $0 === connection }
        connecting.removeAll { $0 === connection }
        idle.removeAll { $0 === connection }
        _ = removeBusy(connection)
        defer { reportIfDrained() }
        guard wasConnecting else {
            serveWaitersWithNewConnections()
            return
        }
        // A failed connect fails the waiters no other connect attempt can serve.
        let reason = failure.map { String(describing: $0) } ?? "connection to \(address) closed while connecting"
        while waiters.count > connecting.count {
            let waiter = waiters.removeFirst()
            waiter.pool(self, didFail: timedOut ? .connectTimeout(reason) : .connectFailure(reason))
        }
    }

    /// The worker is stopping: fails the requests still queued (mirror copies; the sessions have
    /// withdrawn theirs), so that no connection is opened for them, then closes every connection.
    func closeAll() {
        let queued = waiters
        waiters.removeAll()
        for waiter in queued { waiter.pool(self, didFail: .connectFailure("\(address): the worker is stopping")) }
        let all = idle + connecting + busy
        for connection in all { connection.connection.close(.noFlush) }
    }
}
