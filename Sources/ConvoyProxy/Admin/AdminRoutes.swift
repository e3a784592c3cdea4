import ConvoyDispatcher
import ConvoyHTTP1
import ConvoyNetwork
import ConvoyRouter
import Logging
import Synchronization

/// An admin answer. A plain value.
struct AdminResponse: Sendable {
    var status: Int
    var contentType: String
    var body: String
    /// The methods allowed, for 405 answers.
    var allow: String?

    static func text(_ body: String, status: Int = 200) -> AdminResponse {
        AdminResponse(status: status, contentType: "text/plain; charset=utf-8", body: body)
    }

    static func json(_ body: String, status: Int = 200) -> AdminResponse {
        AdminResponse(status: status, contentType: "application/json", body: body)
    }
}

/// What the admin endpoints answer, from the proxy's stats (gathered from the workers), its
/// configuration snapshot and its admin state. Any thread (the admin thread calls it).
final class AdminRoutes: Sendable {
    /// The endpoints, for the index and 404 answers.
    static let endpoints: [(method: String, path: String, what: String)] = [
        ("GET", "/", "the dashboard (HTML): listeners, clusters with endpoint health, rates and latencies"),
        ("GET", "/help", "this list"),
        ("GET", "/ready", "200 LIVE when serving, 503 after /healthcheck/fail"),
        ("GET", "/server_info", "version, state, uptime, workers (JSON)"),
        ("GET", "/stats", "every counter and gauge as name: value (?format=json)"),
        ("GET", "/stats/prometheus", "Prometheus text exposition"),
        ("GET", "/clusters", "clusters and endpoints with health and load (?format=json)"),
        ("GET", "/config_dump", "the active configuration (JSON)"),
        ("POST", "/healthcheck/fail", "make /ready answer 503 (take this proxy out of a load balancer)"),
        ("POST", "/healthcheck/ok", "make /ready answer 200 again"),
        ("POST", "/drain_listeners", "stop accepting new connections"),
        ("POST", "/reload", "read the configuration file again; a bad one is rejected with its errors"),
        ("POST", "/logging?level=LEVEL", "change the log level (trace, debug, info, notice, warning, error, critical); GET shows it"),
    ]

    private let version: String
    private let configuration: @Sendable () -> ProxyConfiguration
    private let listenerAddresses: @Sendable () -> [SocketAddress]
    private let reload: @Sendable () -> (reloaded: Bool, message: String)
    private let logLevel: LogLevelControl?
    private let workerCount: Int
    private let stats: @Sendable () -> [ProxyWorkerStats]
    private let drainListeners: @Sendable () -> Void
    private let started: MonotonicInstant
    private let healthCheckFailed = Atomic<Bool>(false)
    private let draining = Atomic<Bool>(false)

    init(version: String, configuration: @escaping @Sendable () -> ProxyConfiguration,
         listenerAddresses: @escaping @Sendable () -> [SocketAddress], workerCount: Int,
         stats: @escaping @Sendable () -> [ProxyWorkerStats], reload: @escaping @Sendable () -> (reloaded: Bool, message: String),
         drainListeners: @escaping @Sendable () -> Void, logLevel: LogLevelControl?) {
        self.version = version
        self.logLevel = logLevel
        self.configuration = configuration
        self.listenerAddresses = listenerAddresses
        self.reload = reload
        self.workerCount = workerCount
        self.stats = stats
        self.drainListeners = drainListeners
        started = SystemTimeSource().now()
    }

    /// The proxy is draining: `/ready` answers 503 from now on.
    func markDraining() {
        draining.store(true, ordering: .relaxed)
    }

    /// The answer to `method` on `target`.
    func respond(method: HTTPMethod, target: String) -> AdminResponse {
        let (path, query) = Self.split(target)
        switch path {
        case "/":
            return AdminResponse(status: 200, contentType: "text/html; charset=utf-8", body: Dashboard.html)
        case "/help":
            return .text(Self.endpoints.map { "\($0.method) \($0.path): \($0.what)\n" }.joined())
        case "/ready":
            guard method == .get || method == .head else { return Self.methodNotAllowed("GET") }
            if healthCheckFailed.load(ordering: .relaxed) { return .text("FAILING\n", status: 503) }
            if draining.load(ordering: .relaxed) { return .text("DRAINING\n", status: 503) }
            return .text("LIVE\n")
        case "/server_info":
            guard method == .get else { return Self.methodNotAllowed("GET") }
            return .json(serverInfo())
        case "/stats":
            guard method == .get else { return Self.methodNotAllowed("GET") }
            let exposition = StatsExposition(workers: stats())
            return query["format"] == "json" ? .json(exposition.json) : .text(exposition.plainText)
        case "/stats/prometheus":
            guard method == .get else { return Self.methodNotAllowed("GET") }
            var response = AdminResponse.text(StatsExposition(workers: stats()).prometheusText)
            response.contentType = "text/plain; version=0.0.4; charset=utf-8"
            return response
        case "/clusters":
            guard method == .get else { return Self.methodNotAllowed("GET") }
            return clusters(json: query["format"] == "json")
        case "/config_dump":
            guard method == .get else { return Self.methodNotAllowed("GET") }
            return .json(ConfigDump.json(configuration()))
        case "/healthcheck/fail", "/healthcheck/ok":
            guard method == .post else { return Self.methodNotAllowed("POST") }
            healthCheckFailed.store(path == "/healthcheck/fail", ordering: .relaxed)
            return .text("OK\n")
        case "/reload":
            guard method == .post else { return Self.methodNotAllowed("POST") }
            let outcome = reload()
            return .text(outcome.message, status: outcome.reloaded ? 200 : 400)
        case "/logging":
            guard let logLevel else { return .text("the log level is fixed (convoy was not started with an adjustable logger)\n", status: 501) }
            if method == .get { return .text("level: \(logLevel.level)\n") }
            guard method == .post else { return Self.methodNotAllowed("GET, POST") }
            guard let text = query["level"], let level = Logger.Level(rawValue: text) else {
                return .text("give ?level= one of trace, debug, info, notice, warning, error, critical\n", status: 400)
            }
            logLevel.level = level
            return .text("level: \(level)\n")
        case "/drain_listeners":
            guard method == .post else { return Self.methodNotAllowed("POST") }
            if !draining.exchange(true, ordering: .relaxed) { drainListeners() }
            return .text("OK\n")
        default:
            return .text("no admin endpoint \(path); the endpoints:\n" + Self.endpoints.map { "\($0.method) \($0.path)\n" }.joined(), status: 404)
        }
    }

    private func serverInfo() -> String {
        let uptime = (SystemTimeSource().now() - started).components.seconds
        let state = healthCheckFailed.load(ordering: .relaxed) ? "FAILING_HEALTH_CHECK" : draining.load(ordering: .relaxed) ? "DRAINING" : "LIVE"
        let listeners = listenerAddresses().map { "\"\($0)\"" }.joined(separator: ",")
        return "{\"version\":\"\(version)\",\"state\":\"\(state)\",\"uptime_seconds\":\(uptime),\"concurrency\":\(workerCount),\"listeners\":[\(listeners)]}\n"
    }

    private func clusters(json: Bool) -> AdminResponse {
        var merged: [String: ClusterStats] = [:]
        for worker in stats() {
            for (name, cluster) in worker.clusters { merged[name] = (merged[name] ?? ClusterStats()) + cluster }
        }
        let names = merged.keys.sorted()
        if json {
            let clusters = names.map { name in
                let endpoints = merged[name]!.endpoints.map { endpoint in
                    "{\"address\":\"\(endpoint.address)\",\"weight\":\(endpoint.weight),\"health\":\"\(Self.healthFlags(endpoint))\",\"active_requests\":\(endpoint.activeRequests)}"
                }
                return "{\"name\":\"\(ConfigDump.escaped(name))\",\"endpoints\":[\(endpoints.joined(separator: ","))]}"
            }
            return .json("{\"clusters\":[\(clusters.joined(separator: ","))]}\n")
        }
        var text = ""
        for name in names {
            let cluster = merged[name]!
            text += "\(name)::requests::\(cluster.requests)\n\(name)::retries::\(cluster.retries)\n"
            for endpoint in cluster.endpoints {
                text += "\(name)::\(endpoint.address)::health_flags::\(Self.healthFlags(endpoint))\n"
                text += "\(name)::\(endpoint.address)::weight::\(endpoint.weight)\n"
                text += "\(name)::\(endpoint.address)::rq_active::\(endpoint.activeRequests)\n"
            }
        }
        return .text(text)
    }

    /// Envoy's health flags: `healthy`, or the reasons an endpoint is out, joined by `/`.
    private static func healthFlags(_ endpoint: ClusterStats.EndpointStatus) -> String {
        var flags: [String] = []
        if endpoint.failingHealthCheck { flags.append("/failed_active_hc") }
        if endpoint.ejected { flags.append("/failed_outlier_check") }
        return flags.isEmpty ? "healthy" : flags.joined()
    }

    private static func methodNotAllowed(_ allow: String) -> AdminResponse {
        var response = AdminResponse.text("method not allowed: use \(allow)\n", status: 405)
        response.allow = allow
        return response
    }

    /// `/path?a=1&b` → ("/path", ["a": "1", "b": ""]).
    static func split(_ target: String) -> (path: String, query: [String: String]) {
        guard let mark = target.firstIndex(of: "?") else { return (target, [:]) }
        var query: [String: String] = [:]
        for pair in target[target.index(after: mark)...].split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1)
            query[String(parts[0])] = parts.count > 1 ? String(parts[1]) : ""
        }
        return (String(target[..<mark]), query)
    }
}
