import ConvoyDispatcher
import ConvoyNetwork
import ConvoyRouter
import Dispatch
import Logging
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The proxy: `concurrency` workers, each on its own thread with its own dispatcher, listener
/// sockets (SO_REUSEPORT, so the kernel spreads connections) and upstream pools, all running one
/// ``ProxyConfiguration``. The main thread resolves DNS clusters and, in ``run()``, handles
/// signals. Confined to the thread that created it (the main thread), except where noted.
public final class ProxyServer {
    /// The configuration new requests use (it changes on reload). Any thread.
    public var configuration: ProxyConfiguration { reloader.configuration }
    /// The bound listener addresses, in configuration order (actual ports when port 0 was asked
    /// for). Any thread.
    public var listenerAddresses: [SocketAddress] { reloader.listenerAddresses }
    private let logger: Logger
    private var workers: [DispatcherBound<ProxyWorker>] = []
    private var dispatchers: [Dispatcher] = []
    private var threads: [PosixThread] = []
    private let reloader: ConfigurationReloader
    private let logLevel: LogLevelControl?
    private let servesAdmin: Bool
    private let accessLog: AccessLogWriter?
    private var admin: AdminServer?

    /// convoy's version, for `/server_info`. Any thread.
    public static let version = "0.2.0"

    /// The admin listener's address once ``start()`` bound it (nil without one). Main thread.
    public var adminAddress: SocketAddress? { admin?.address }

    /// Resolves the clusters' endpoints (blocking on DNS) and binds every worker's listeners.
    /// `configurationPath` is what ``reload()`` (SIGHUP, `POST /reload`) reads again; `logLevel`,
    /// when the logger's handler follows one, is what `POST /logging` changes. The
    /// workers' timers follow `timeSource` (a simulated clock in tests) and DNS names resolve
    /// through `lookup` (the system resolver unless a test gives its own); `admin: false` leaves
    /// the admin listener out (embedders and tests that run many proxies). Main thread.
    /// - Throws: ``NetworkError`` when a listener cannot bind, ``DispatcherError`` when a
    ///   dispatcher cannot be created.
    public init(configuration: ProxyConfiguration, configurationPath: String? = nil, concurrency: Int? = nil, logger: Logger,
                logLevel: LogLevelControl? = nil, timeSource: any TimeSource = SystemTimeSource(), lookup: @escaping HostResolver.Lookup = HostResolver.lookup,
                admin: Bool = true) throws {
        self.logLevel = logLevel
        servesAdmin = admin
        if let settings = configuration.bootstrap.accessLog {
            let format: AccessLogFormat
            if settings.format == .json {
                format = .json
            } else if case .success(let compiled) = AccessLogFormat.compile(settings.textFormat ?? AccessLogFormat.envoyDefault) {
                format = compiled
            } else {
                format = try AccessLogFormat.compile(AccessLogFormat.envoyDefault).get()
            }
            accessLog = try AccessLogWriter(path: settings.path, format: format)
        } else {
            accessLog = nil
        }
        self.logger = logger
        let hosts = configuration.clusters.map { HostResolver.resolve($0, lookup: lookup, logger: logger) }
        for (cluster, resolved) in zip(configuration.clusters, hosts) where resolved.isEmpty {
            logger.warning("\(cluster.name) has no endpoints: its requests get 503")
        }
        let count = max(1, concurrency ?? configuration.bootstrap.concurrency)
        var addresses = configuration.listeners.map(\.address)
        for index in 0..<count {
            let dispatcher = try Dispatcher(name: "worker_\(index)", timeSource: timeSource)
            let worker = try ProxyWorker(
                index: index, dispatcher: dispatcher, configuration: configuration, hosts: hosts, addresses: addresses, logger: logger,
                accessLog: accessLog)
            if index == 0 { addresses = worker.listenerAddresses }  // the others share worker 0's actual ports
            dispatchers.append(dispatcher)
            workers.append(DispatcherBound(worker, dispatcher: dispatcher))
        }
        reloader = ConfigurationReloader(
            path: configurationPath, configuration: configuration, hosts: hosts, listenerAddresses: addresses,
            workers: workers, lookup: lookup, logger: logger)
    }

    /// Reads the configuration file again and, when it is valid, swaps it into every worker
    /// (new requests use it; requests in progress finish on theirs; listeners whose address stays
    /// keep their socket). A bad file changes nothing. Any thread but a worker's.
    @discardableResult
    public func reload() -> (reloaded: Bool, message: String) {
        switch reloader.reload() {
        case .reloaded(let summary): (true, summary)
        case .rejected(let reason): (false, reason)
        }
    }

    /// Starts the worker threads. Main thread; once.
    /// - Throws: ``PosixThread/StartError`` when a thread cannot start.
    public func start() throws {
        precondition(threads.isEmpty, "ProxyServer.start() called twice")
        let allWorkers = workers
        if let first = workers.first {
            first.dispatcher.post {
                first.value.startHealthChecks { address, healthy in
                    for worker in allWorkers {
                        worker.dispatcher.post { worker.value.setHealthCheckResult(address: address, healthy: healthy) }
                    }
                }
            }
        }
        for worker in workers {
            threads.append(try PosixThread(name: worker.dispatcher.name) { worker.value.run() })
        }
        for (listener, address) in zip(configuration.listeners, listenerAddresses) {
            let hosts = listener.routes.virtualHosts.count, proxied = configuration.bootstrap.proxyProtocol ? ", PROXY protocol" : ""
            logger.info("listening on http://\(address) (\(hosts) virtual host\(hosts == 1 ? "" : "s")\(proxied)), \(workers.count) worker\(workers.count == 1 ? "" : "s")")
        }
        if servesAdmin {
            let reloader = self.reloader
            let routes = AdminRoutes(
                version: Self.version, configuration: { reloader.configuration },
                listenerAddresses: { reloader.listenerAddresses }, workerCount: workers.count,
                stats: { [allWorkers] in Self.gatherStats(allWorkers) },
                reload: {
                    switch reloader.reload() {
                    case .reloaded(let summary): (true, summary)
                    case .rejected(let reason): (false, reason)
                    }
                },
                drainListeners: { [allWorkers] in
                    for worker in allWorkers { worker.dispatcher.post { worker.value.stopAccepting() } }
                },
                logLevel: logLevel)
            let admin = try AdminServer(address: configuration.bootstrap.adminAddress, routes: routes)
            self.admin = admin
            logger.info("admin on http://\(admin.address)")
        }
    }

    /// Stops every worker (open connections are closed) and waits for their threads. Main thread.
    public func stop() {
        admin?.stop()
        admin = nil
        for dispatcher in dispatchers { dispatcher.exit() }
        for thread in threads { thread.join() }
        threads.removeAll()
        accessLog?.stop()
    }

    /// Starts the workers and runs the main loop until SIGINT or SIGTERM, re-resolving DNS
    /// clusters meanwhile; then stops. Main thread.
    public func run() throws {
        // A parent may have started us with signals blocked (the mask is inherited); the main
        // thread must receive the ones it handles.
        var handled = sigset_t()
        sigemptyset(&handled)
        for signal in [SIGINT, SIGTERM, SIGHUP] { sigaddset(&handled, signal) }
        pthread_sigmask(SIG_UNBLOCK, &handled, nil)
        let main = try Dispatcher(name: "main_thread")
        // The first SIGTERM or SIGINT drains: every connection closes after its current
        // response; new connections are accepted (and served one request each) for
        // minimumDrainDuration, then refused; the process exits once none is left after that, or
        // when drainDuration has passed. A second signal exits at once.
        var draining = false
        let deadline = try TimerEvent(dispatcher: main) { [logger] in
            logger.warning("drain time is up; closing the connections still open")
            main.exit()
        }
        let stopListening = try TimerEvent(dispatcher: main) { [unowned self, logger] in
            if self.configuration.bootstrap.minimumDrainDuration > .zero { logger.info("minimum drain time is up; no new connections") }
            let remaining = Countdown(self.workers.count)
            for worker in self.workers {
                worker.dispatcher.post {
                    worker.value.drain {
                        if remaining.tick() {
                            main.post { main.exit() }
                        }
                    }
                }
            }
        }
        let stop = { [unowned self, logger] in
            if draining {
                logger.info("second signal; stopping now")
                return main.exit()
            }
            draining = true
            let bootstrap = self.configuration.bootstrap
            let accepting = bootstrap.minimumDrainDuration > .zero ? ", accepting for the first \(bootstrap.minimumDrainDuration)" : ""
            logger.info("signal received; draining for up to \(bootstrap.drainDuration)\(accepting)")
            self.admin?.routes.markDraining()
            deadline.enable(after: bootstrap.drainDuration)
            if bootstrap.minimumDrainDuration > .zero {
                for worker in self.workers { worker.dispatcher.post { worker.value.drainKeepingListeners() } }
            }
            stopListening.enable(after: bootstrap.minimumDrainDuration)
        }
        let interrupt = try SignalEvent(dispatcher: main, signal: SIGINT, stop)
        let terminate = try SignalEvent(dispatcher: main, signal: SIGTERM, stop)
        // SIGHUP reloads the configuration file.
        let hangup = try SignalEvent(dispatcher: main, signal: SIGHUP) { [reloader, logger] in
            logger.info("SIGHUP: reloading")
            _ = reloader.reload()
        }
        // Only now, with the signal events in place: a SIGTERM that arrives as soon as the
        // listeners are open (an orchestrator stopping a pod that just started) drains like any
        // other instead of killing the process.
        try start()
        // DNS clusters are re-resolved at the shortest refresh among them (of the configuration
        // at start; a reload that adds DNS clusters gets them refreshed at that pace, or 5 s).
        var refresh: TimerEvent?
        let every = configuration.clusters.compactMap { cluster -> Duration? in
            if case .dns(let every) = cluster.discovery { return every }
            return nil
        }.min() ?? .seconds(5)
        refresh = try TimerEvent(dispatcher: main) { [reloader] in
            reloader.refreshDNS()
            refresh?.enable(after: every)
        }
        refresh?.enable(after: every)
        main.run(.untilExit)
        refresh = nil
        self.stop()
        withExtendedLifetime((interrupt, terminate, deadline, hangup)) {}
    }

    /// Resolves the DNS clusters' names again and hands changed addresses to the workers; ``run()``
    /// does this at the clusters' refresh rate. Main thread (blocks on DNS).
    public func refreshDNS() {
        reloader.refreshDNS()
    }

    /// Each worker's counters, read on the workers' threads. Main thread (blocks until every
    /// worker answers; the workers must be running).
    public func workerStats() -> [ProxyWorkerStats] {
        Self.gatherStats(workers)
    }

    /// Each worker's stats, read on its thread. Any thread but the workers' (blocks on each).
    private static func gatherStats(_ workers: [DispatcherBound<ProxyWorker>]) -> [ProxyWorkerStats] {
        workers.map { $0.sync { $0.currentStats } }
    }
}

/// Counts workers that finished draining; any thread.
private final class Countdown: Sendable {
    private let remaining: Mutex<Int>

    init(_ count: Int) {
        remaining = Mutex(count)
    }

    /// True for the call that brings the count to zero.
    func tick() -> Bool {
        remaining.withLock { count in
            count -= 1
            return count == 0
        }
    }
}

