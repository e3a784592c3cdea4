import ConvoyDispatcher
import ConvoyNetwork
import ConvoyRouter
import Logging

/// One worker thread of the proxy (Envoy's worker): its dispatcher, its own SO_REUSEPORT listener
/// sockets, its view of every cluster (load balancer state) and its upstream connection pools.
/// Downstream connections accepted here stay here. Created on any thread before its dispatcher
/// runs; afterwards confined to the worker's thread.
public final class ProxyWorker {
    /// The worker's number (0-based). Any thread.
    public let index: Int
    /// The worker's dispatcher. Any thread (only its thread-safe members off the worker thread).
    public let dispatcher: Dispatcher
    /// The configuration new requests use. Worker thread.
    @exclusivity(unchecked) public private(set) var configuration: ProxyConfiguration
    /// Counters. Worker thread.
    @exclusivity(unchecked) public private(set) var stats = ProxyWorkerStats()
    let logger: Logger
    @exclusivity(unchecked) var random = FastRandom()
    @exclusivity(unchecked) private(set) var clusters: [WorkerCluster]
    @exclusivity(unchecked) private var pools: [PoolKey: UpstreamPool] = [:]
    /// Pools no current cluster uses, until their last connection closes.
    @exclusivity(unchecked) private var drainingPools: [ObjectIdentifier: UpstreamPool] = [:]
    /// The configured listeners, in configuration order.
    @exclusivity(unchecked) private var slots: [ListenerSlot] = []
    @exclusivity(unchecked) private var sessions: [ObjectIdentifier: DownstreamSession] = [:]
    /// Active health checks (on the worker that runs them).
    @exclusivity(unchecked) private var healthChecker: HealthChecker?
    /// The downstream timeouts of the current configuration in nanoseconds (0: off), so sessions
    /// add them to instants without `Duration` arithmetic on every request.
    @exclusivity(unchecked) private(set) var timeoutNanoseconds = DownstreamTimeouts()
    /// The current configuration's path normalization, read by sessions on every request.
    @exclusivity(unchecked) private(set) var pathNormalization = PathNormalization.base
    /// The current configuration's trusted `x-forwarded-for` hops.
    @exclusivity(unchecked) private(set) var numTrustedProxies = 0

    struct DownstreamTimeouts {
        var connectionIdle: UInt64 = 0
        var requestHeaders: UInt64 = 0
        var streamIdle: UInt64 = 0

        init() {}

        init(_ bootstrap: BootstrapSettings) {
            func nanoseconds(_ duration: Duration?) -> UInt64 {
                guard let duration, duration > .zero else { return 0 }
                let (seconds, attoseconds) = duration.components
                return UInt64(seconds) * 1_000_000_000 + UInt64(attoseconds / 1_000_000_000)
            }
            connectionIdle = nanoseconds(bootstrap.connectionIdleTimeout)
            requestHeaders = nanoseconds(bootstrap.requestHeadersTimeout)
            streamIdle = nanoseconds(bootstrap.streamIdleTimeout)
        }
    }

    /// How long a downstream connection waits between requests before it is parked: its socket
    /// handed to ``park`` and everything else freed (about a hundred bytes instead of several kilobytes
    /// while it idles). Long enough that a busy keep-alive connection never parks (parking and
    /// waking cost a few microseconds each), short enough that idle ones hold little memory.
    static let parkAfterNanoseconds: UInt64 = 50_000_000

    /// Downstream session objects alive: open connections that are not parked, unless one leaks.
    let liveSessions = LiveObjectCount()

    /// Idle downstream connections, held as bare sockets; made on first use.
    @exclusivity(unchecked) private var park: ConnectionPark?

    /// Where access-log lines go (nil: no access log), and this iteration's lines.
    let accessLog: AccessLogWriter?
    @exclusivity(unchecked) private var accessLogLines: [UInt8] = []
    @exclusivity(unchecked) private var accessLogFlush: ScheduledCallback?
    /// Set while draining: called once when the last downstream connection has closed.
    @exclusivity(unchecked) private var onDrained: (() -> Void)?
    /// Set by ``drainKeepingListeners()``: connections accepted from then on carry one request.
    @exclusivity(unchecked) private var drainingWhileAccepting = false
    /// Mirrored requests in flight, kept alive here until they end.
    @exclusivity(unchecked) private var mirrors: [ObjectIdentifier: MirrorStream] = [:]

    /// A worker for `configuration` with `hosts` per cluster, listening on `addresses` (one per
    /// configured listener, in order; the actual ports when the configuration asked for port 0).
    /// Any thread, before the dispatcher runs.
    /// - Throws: ``NetworkError`` when a listener cannot bind.
    init(index: Int, dispatcher: Dispatcher, configuration: ProxyConfiguration, hosts: [[ResolvedHost]],
                addresses: [SocketAddress], logger: Logger, accessLog: AccessLogWriter? = nil) throws {
        self.accessLog = accessLog
        self.index = index
        self.dispatcher = dispatcher
        self.configuration = configuration
        timeoutNanoseconds = DownstreamTimeouts(configuration.bootstrap)
        pathNormalization = configuration.bootstrap.pathNormalization
        numTrustedProxies = configuration.bootstrap.numTrustedProxies
        self.logger = logger
        clusters = zip(configuration.clusters, hosts).map { WorkerCluster(config: $0.0, hosts: $0.1, dispatcher: dispatcher) }
        for (listenerConfig, address) in zip(configuration.listeners, addresses) {
            let slot = ListenerSlot(configuredAddress: listenerConfig.address, routes: listenerConfig.routes)
            slot.listener = try makeListener(address, slot: slot)
            slots.append(slot)
        }
    }

    private func makeListener(_ address: SocketAddress, slot: ListenerSlot) throws -> Listener {
        let listener = try Listener(dispatcher: dispatcher, address: address, reusePort: true) { [unowned self, unowned slot] connection in
            self.accept(connection, slot: slot)
        }
        listener.onAcceptError = { [logger] error in logger.warning("accept on \(address): \(error)") }
        return listener
    }

    /// The bound listener addresses, in configuration order. Worker thread (or before running).
    public var listenerAddresses: [SocketAddress] { slots.compactMap { $0.listener?.localAddress } }

    /// Switches new requests to `configuration` (a reload): listeners whose configured address
    /// stays keep their socket and take the new routes, new ones are bound (at `addresses`, in
    /// configuration order: the actual addresses worker 0 bound, or nil to bind as configured),
    /// dropped ones close; clusters start afresh with `hosts`. Streams in progress finish on the
    /// configuration they started with. Returns the listeners' actual addresses. Worker thread.
    /// - Throws: ``NetworkError`` when a new listener cannot bind (nothing is changed then).
    func apply(_ configuration: ProxyConfiguration, hosts: [[ResolvedHost]], addresses: [SocketAddress]?) throws -> [SocketAddress] {
        var newSlots: [ListenerSlot] = []
        var bound: [ListenerSlot] = []
        do {
            for (index, listenerConfig) in configuration.listeners.enumerated() {
                if let kept = slots.first(where: { $0.configuredAddress == listenerConfig.address }), kept.listener != nil {
                    newSlots.append(kept)
                    continue
                }
                let slot = ListenerSlot(configuredAddress: listenerConfig.address, routes: listenerConfig.routes)
                slot.listener = try makeListener(addresses?[index] ?? listenerConfig.address, slot: slot)
                bound.append(slot)
                newSlots.append(slot)
            }
        } catch {
            for slot in bound { slot.listener = nil }
            throw error
        }
        for (slot, listenerConfig) in zip(newSlots, configuration.listeners) { slot.routes = listenerConfig.routes }
        for slot in slots where !newSlots.contains(where: { $0 === slot }) {
            slot.routes = nil
            slot.listener = nil
        }
        slots = newSlots
        self.configuration = configuration
        timeoutNanoseconds = DownstreamTimeouts(configuration.bootstrap)
        pathNormalization = configuration.bootstrap.pathNormalization
        numTrustedProxies = configuration.bootstrap.numTrustedProxies
        clusters = zip(configuration.clusters, hosts).map { WorkerCluster(config: $0.0, hosts: $0.1, dispatcher: dispatcher) }
        healthChecker?.update(clusters: clusters)
        drainUnusedPools()
        return slots.map { $0.listener!.localAddress }
    }

    /// The counters with the pools' and clusters' parts filled in. Worker thread.
    public var currentStats: ProxyWorkerStats {
        var result = stats
        result.upstreamPools = pools.count + drainingPools.count
        result.upstreamRequestsPending = pools.values.reduce(0) { $0 + $1.pendingRequests }
            + drainingPools.values.reduce(0) { $0 + $1.pendingRequests }
        result.downstreamConnectionsActive = sessions.count + (park?.count ?? 0)
        result.downstreamConnectionsParked = park?.count ?? 0
        result.downstreamSessionObjects = liveSessions.value
        result.downstreamParks = park?.parkedTotal ?? 0
        result.downstreamWakes = park?.wokenTotal ?? 0
        for slot in slots {
            let key = slot.configuredAddress.description
            result.listeners[key, default: .init()].accepted += slot.connectionsAccepted
            result.listeners[key, default: .init()].open += slot.connectionsOpen
        }
        result.loopIterations = dispatcher.stats.iterations
        for cluster in clusters {
            result.clusters[cluster.config.name, default: ClusterStats()] = result.clusters[cluster.config.name, default: ClusterStats()] + cluster.currentStats
            result.upstreamEjections += cluster.ejections
            result.upstreamEjectionsEnded += cluster.ejectionsEnded
            result.upstreamHostsEjected += cluster.hosts.indices.count { cluster.isEjected($0) }
            result.upstreamHostsFailingHealthCheck += cluster.failingHealthCheck.count
        }
        return result
    }

    /// Runs the worker's loop until ``Dispatcher/exit()``, then closes what is open. Worker thread.
    public func run() {
        dispatcher.run(.untilExit)
        healthChecker?.stop()
        for slot in slots { slot.listener = nil }
        for session in sessions.values { session.abort() }
        park?.closeAll()
        for pool in pools.values { pool.closeAll() }
        for pool in drainingPools.values { pool.closeAll() }
        dispatcher.run(.nonBlock)
        flushAccessLog()
    }

    /// Replaces a cluster's hosts (DNS changed); found by name, since a reload may have moved it.
    /// Worker thread.
    public func updateHosts(cluster name: String, hosts: [ResolvedHost]) {
        guard let cluster = clusters.first(where: { $0.config.name == name }) else { return }
        cluster.update(hosts: hosts)
        healthChecker?.update(clusters: clusters)
        drainUnusedPools()
    }

    /// Runs the configuration's active health checks on this worker; `report` gets every health
    /// change (to tell every worker). A no-op without health checks. Worker thread.
    public func startHealthChecks(report: @escaping @Sendable (SocketAddress, Bool) -> Void) {
        guard clusters.contains(where: { $0.config.healthCheck != nil }) else { return }
        let checker = HealthChecker(dispatcher: dispatcher, report: report) { [unowned self] event in
            switch event {
            case .passed: self.stats.healthChecksPassed += 1
            case .failed: self.stats.healthChecksFailed += 1
            case .becameUnhealthy: self.stats.healthBecameUnhealthy += 1
            case .becameHealthy: self.stats.healthBecameHealthy += 1
            }
        }
        healthChecker = checker
        checker.update(clusters: clusters)
    }

    /// Closes every listener socket (draining): new connections are refused, open ones carry on.
    /// Worker thread.
    public func stopAccepting() {
        for slot in slots { slot.listener = nil }
    }

    /// An endpoint's active health changed. Worker thread.
    public func setHealthCheckResult(address: SocketAddress, healthy: Bool) {
        for cluster in clusters { cluster.setHealthCheckResult(address: address, healthy: healthy) }
    }

    /// The pool for `address` with `cluster`'s connection-pool settings (and the current buffer
    /// limit). Clusters agreeing on both share it; a reload that changes the settings gets a new
    /// pool, and the old one drains (``drainUnusedPools()``).
    func pool(for address: SocketAddress, cluster: ClusterConfig) -> UpstreamPool {
        let key = PoolKey(address: address, settings: cluster.connectionPool, bufferLimit: configuration.bootstrap.connectionBufferLimit)
        if let pool = pools[key] { return pool }
        let pool = UpstreamPool(worker: self, address: address, settings: key.settings, bufferLimit: key.bufferLimit)
        pools[key] = pool
        return pool
    }

    /// Drains every pool that no host of the current clusters uses (its endpoint left the
    /// configuration or DNS, or its settings changed), as Envoy drains the pools of removed hosts:
    /// without this, a DNS name whose addresses keep changing would add pools without end.
    private func drainUnusedPools() {
        let bufferLimit = configuration.bootstrap.connectionBufferLimit
        var used = Set<PoolKey>()
        for cluster in clusters {
            for host in cluster.hosts {
                used.insert(PoolKey(address: host.address, settings: cluster.config.connectionPool, bufferLimit: bufferLimit))
            }
        }
        for (key, pool) in pools where !used.contains(key) {
            pools[key] = nil
            drainingPools[ObjectIdentifier(pool)] = pool
            pool.drain()
        }
    }

    /// A draining pool holds no connection any more: forget it. (A stream on an old
    /// configuration may still use it; it drains again after that.)
    func poolDrained(_ pool: UpstreamPool) {
        drainingPools[ObjectIdentifier(pool)] = nil
    }

    /// An upstream connection was opened, by any pool. Worker thread.
    func countUpstreamConnectionOpened() {
        stats.upstreamConnectionsOpened += 1
    }

    /// What makes two upstream pools interchangeable.
    private struct PoolKey: Hashable {
        let address: SocketAddress
        let settings: ConnectionPoolSettings
        let bufferLimit: Int
    }

    private func accept(_ connection: Connection, slot: ListenerSlot) {
        stats.downstreamConnections += 1
        slot.connectionsAccepted += 1
        slot.connectionsOpen += 1
        startSession(connection, slot: slot, awaitingProxyHeader: configuration.bootstrap.proxyProtocol, proxiedClient: nil)
    }

    /// A session for a connection just accepted or woken from the park.
    private func startSession(_ connection: Connection, slot: ListenerSlot, awaitingProxyHeader: Bool, proxiedClient: SocketAddress?) {
        let session = DownstreamSession(worker: self, connection: connection, slot: slot,
                                        awaitingProxyHeader: awaitingProxyHeader, proxiedClient: proxiedClient)
        sessions[ObjectIdentifier(session)] = session
        if drainingWhileAccepting { session.closeAfterEveryResponse() }
        connection.initializeReadFilters()
    }

    /// Adds a request's access-log line; the iteration's lines go to the writer together.
    func log(_ entry: AccessLogEntry) {
        guard let accessLog else { return }
        accessLog.format.render(entry, into: &accessLogLines)
        if accessLogFlush == nil {
            accessLogFlush = try? ScheduledCallback(dispatcher: dispatcher) { [unowned self] in self.flushAccessLog() }
        }
        accessLogFlush?.scheduleCurrentIteration()
    }

    private func flushAccessLog() {
        accessLog?.submit(accessLogLines)
        accessLogLines.removeAll(keepingCapacity: true)
    }

    func sessionClosed(_ session: DownstreamSession) {
        sessions.removeValue(forKey: ObjectIdentifier(session))
        reportIfDrained()
    }

    /// Parks an idle session's connection (see ``parkAfterNanoseconds``); true when the park took
    /// it, and the session is then forgotten. The socket is closed at `closeAt` unless the client
    /// sends something first, which makes a new session for it.
    /// `proxiedClient`: the client a PROXY protocol header named, kept with the socket.
    func park(_ session: DownstreamSession, connection: Connection, slot: ListenerSlot, proxiedClient: SocketAddress?,
              closeAt: MonotonicInstant?) -> Bool {
        guard onDrained == nil, !drainingWhileAccepting else { return false }
        if park == nil {
            park = try? ConnectionPark(
                dispatcher: dispatcher,
                onWake: { [unowned self] connection, context in
                    let (slot, client) = Self.parkedContext(context)
                    self.startSession(connection, slot: slot, awaitingProxyHeader: false, proxiedClient: client)
                },
                onClose: { [unowned self] context in
                    Self.parkedContext(context).slot.connectionsOpen -= 1
                    self.reportIfDrained()
                })
        }
        // The slot is the context; a proxied client adds a small box (no allocation otherwise).
        let context: AnyObject = proxiedClient.map { ProxiedClientContext(slot: slot, client: $0) } ?? slot
        guard let park, park.park(connection, context: context, closeAt: closeAt) else { return false }
        sessions.removeValue(forKey: ObjectIdentifier(session))
        return true
    }

    /// What a parked socket's context holds: its listener slot, and the client a PROXY protocol
    /// header named.
    private static func parkedContext(_ context: AnyObject) -> (slot: ListenerSlot, client: SocketAddress?) {
        if let proxied = context as? ProxiedClientContext { return (proxied.slot, proxied.client) }
        return (context as! ListenerSlot, nil)
    }

    private final class ProxiedClientContext {
        let slot: ListenerSlot
        let client: SocketAddress
        init(slot: ListenerSlot, client: SocketAddress) {
            self.slot = slot
            self.client = client
        }
    }

    private func reportIfDrained() {
        if sessions.isEmpty, park?.count ?? 0 == 0, let onDrained {
            self.onDrained = nil
            onDrained()
        }
    }

    /// The first phase of a graceful drain with a `minimumDrainDuration`: the listeners stay open,
    /// idle connections close, busy ones after their current response, and those accepted from
    /// now on after their first (each response says `Connection: close`). ``drain(_:)`` ends it.
    /// Worker thread.
    public func drainKeepingListeners() {
        drainingWhileAccepting = true
        park?.closeAll()
        for session in Array(sessions.values) { session.drain() }
    }

    /// Graceful drain: stops accepting, closes idle connections, lets each busy one finish its
    /// current response with `Connection: close`; `drained` runs once no connection is left.
    /// Worker thread.
    public func drain(_ drained: @escaping () -> Void) {
        stopAccepting()
        onDrained = drained
        park?.closeAll()
        for session in Array(sessions.values) { session.drain() }
        reportIfDrained()
    }

    func mirrorStarted(_ mirror: MirrorStream) {
        mirrors[ObjectIdentifier(mirror)] = mirror
        stats.mirroredRequests += 1
    }

    func mirrorEnded(_ mirror: MirrorStream) {
        mirrors.removeValue(forKey: ObjectIdentifier(mirror))
    }

    func count(_ update: (inout ProxyWorkerStats) -> Void) {
        update(&stats)
    }
}
