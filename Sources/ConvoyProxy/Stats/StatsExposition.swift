/// Every worker's stats merged into metric families, printed as Prometheus text exposition
/// (`/stats/prometheus`), as `name: value` lines or as JSON (`/stats`). Names follow Prometheus
/// conventions (`convoy_` prefix, `_total` counters, `_seconds` histograms); per-cluster and
/// per-worker series carry `cluster` and `worker` labels. Any thread (a plain value).
public struct StatsExposition: Sendable {
    /// One metric family. Any thread.
    public struct Family: Sendable {
        /// Counter, gauge or histogram. Any thread.
        public enum Kind: String, Sendable { case counter, gauge, histogram }

        /// The family name. Any thread.
        public let name: String
        /// What it measures. Any thread.
        public let help: String
        /// The kind. Any thread.
        public let kind: Kind
        /// Label sets and values (counters and gauges). Any thread.
        public var samples: [(labels: [(String, String)], value: Double)] = []
        /// Label sets and histograms (histograms). Any thread.
        public var histograms: [(labels: [(String, String)], histogram: LatencyHistogram)] = []
    }

    /// The families, in print order. Any thread.
    public private(set) var families: [Family] = []

    /// Merges `workers` (index = worker number). Any thread.
    public init(workers: [ProxyWorkerStats]) {
        func total(_ value: (ProxyWorkerStats) -> Int) -> Double { Double(workers.reduce(0) { $0 + value($1) }) }
        func add(_ name: String, _ kind: Family.Kind, _ help: String, _ samples: [(labels: [(String, String)], value: Double)]) {
            families.append(Family(name: name, help: help, kind: kind, samples: samples))
        }
        func single(_ name: String, _ kind: Family.Kind, _ help: String, _ value: (ProxyWorkerStats) -> Int) {
            add(name, kind, help, [([], total(value))])
        }

        single("convoy_downstream_connections_total", .counter, "Downstream connections accepted.") { $0.downstreamConnections }
        single("convoy_downstream_connections_active", .gauge, "Downstream connections open.") { $0.downstreamConnectionsActive }
        single("convoy_downstream_connections_parked", .gauge, "Idle downstream connections held as bare sockets.") { $0.downstreamConnectionsParked }
        single("convoy_downstream_connections_parked_total", .counter, "Idle downstream connections parked.") { $0.downstreamParks }
        single("convoy_downstream_connections_woken_total", .counter, "Parked downstream connections woken by a request.") { $0.downstreamWakes }
        single("convoy_downstream_requests_total", .counter, "Requests received.") { $0.requests }
        single("convoy_downstream_proxy_protocol_errors_total", .counter,
               "Downstream connections closed for a missing or malformed PROXY protocol header.") { $0.downstreamProxyProtocolErrors }
        add("convoy_downstream_responses_total", .counter, "Responses sent downstream, by status class.",
            (0..<5).map { index in ([("code_class", "\(index + 1)xx")], total { $0.responsesByClass[index] }) })
        single("convoy_local_replies_total", .counter, "Requests answered by convoy itself (routes, redirects, errors).") { $0.localReplies }
        single("convoy_upstream_requests_total", .counter, "Requests forwarded upstream (first tries).") { $0.upstreamRequests }
        single("convoy_upstream_failures_total", .counter, "Requests answered with an upstream failure.") { $0.upstreamFailures }
        single("convoy_upstream_retries_exhausted_total", .counter, "Requests that used every retry (flag URX).") { $0.upstreamRetriesExhausted }
        single("convoy_upstream_connections_opened_total", .counter, "Upstream connections opened.") { $0.upstreamConnectionsOpened }
        single("convoy_upstream_pools", .gauge, "Upstream connection pools held, draining ones included.") { $0.upstreamPools }
        single("convoy_upstream_requests_pending", .gauge, "Requests waiting for an upstream connection.") { $0.upstreamRequestsPending }
        single("convoy_mirror_requests_total", .counter, "Request copies sent to mirrors.") { $0.mirroredRequests }
        single("convoy_mirror_failures_total", .counter, "Mirror copies that failed, timed out or were dropped.") { $0.mirrorFailures }
        single("convoy_fault_delays_total", .counter, "Requests delayed by fault injection.") { $0.faultDelays }
        single("convoy_fault_aborts_total", .counter, "Requests aborted by fault injection.") { $0.faultAborts }
        add("convoy_health_checks_total", .counter, "Active health checks, by result.", [
            ([("result", "passed")], total { $0.healthChecksPassed }), ([("result", "failed")], total { $0.healthChecksFailed }),
        ])
        add("convoy_health_transitions_total", .counter, "Endpoints changing health by their active check, by new state.", [
            ([("state", "unhealthy")], total { $0.healthBecameUnhealthy }), ([("state", "healthy")], total { $0.healthBecameHealthy }),
        ])

        var clusters: [String: ClusterStats] = [:]
        for worker in workers {
            for (name, stats) in worker.clusters { clusters[name] = (clusters[name] ?? ClusterStats()) + stats }
        }
        let names = clusters.keys.sorted()
        func perCluster(_ name: String, _ kind: Family.Kind, _ help: String, _ value: (ClusterStats) -> Int) {
            add(name, kind, help, names.map { ([("cluster", $0)], Double(value(clusters[$0]!))) })
        }
        perCluster("convoy_cluster_requests_total", .counter, "Tries sent to the cluster, retries included.") { $0.requests }
        var responses: [(labels: [(String, String)], value: Double)] = []
        for name in names {
            for index in 0..<5 { responses.append(([("cluster", name), ("code_class", "\(index + 1)xx")], Double(clusters[name]!.responsesByClass[index]))) }
        }
        add("convoy_cluster_responses_total", .counter, "Upstream responses, by cluster and status class.", responses)
        perCluster("convoy_cluster_connect_failures_total", .counter, "Tries whose connection could not be made.") { $0.connectFailures }
        perCluster("convoy_cluster_resets_total", .counter, "Tries the upstream closed or broke before a whole response.") { $0.resets }
        perCluster("convoy_cluster_timeouts_total", .counter, "Requests that ran out of route timeout.") { $0.timeouts }
        perCluster("convoy_cluster_per_try_timeouts_total", .counter, "Tries cut short by the per-try timeout.") { $0.perTryTimeouts }
        perCluster("convoy_cluster_overflows_total", .counter, "Requests refused by a pool limit (circuit breaking).") { $0.overflows }
        perCluster("convoy_cluster_retries_total", .counter, "Retries started.") { $0.retries }
        perCluster("convoy_cluster_retry_overflows_total", .counter, "Retries refused by the retry budget or maxRetries.") { $0.retryOverflows }
        perCluster("convoy_cluster_ejections_total", .counter, "Hosts ejected by outlier detection.") { $0.ejections }
        perCluster("convoy_cluster_hosts", .gauge, "Hosts in the cluster.") { $0.hosts }
        perCluster("convoy_cluster_hosts_ejected", .gauge, "Hosts ejected by outlier detection now (the most any worker has out).") { $0.hostsEjected }
        perCluster("convoy_cluster_hosts_failing_health_check", .gauge, "Hosts out of load balancing for a failing active health check.") { $0.hostsFailingHealthCheck }
        perCluster("convoy_cluster_active_requests", .gauge, "Requests in flight to the cluster.") { $0.activeRequests }

        var listeners: [String: ProxyWorkerStats.ListenerCounts] = [:]
        for worker in workers {
            for (address, counts) in worker.listeners {
                listeners[address, default: .init()].accepted += counts.accepted
                listeners[address, default: .init()].open += counts.open
            }
        }
        let addresses = listeners.keys.sorted()
        add("convoy_listener_connections_total", .counter, "Connections accepted, by listener.",
            addresses.map { ([("listener", $0)], Double(listeners[$0]!.accepted)) })
        add("convoy_listener_connections_active", .gauge, "Connections open, by listener.",
            addresses.map { ([("listener", $0)], Double(listeners[$0]!.open)) })
        add("convoy_worker_requests_total", .counter, "Requests received, by worker.",
            workers.enumerated().map { ([("worker", "\($0.offset)")], Double($0.element.requests)) })
        add("convoy_worker_downstream_connections_active", .gauge, "Downstream connections open, by worker.",
            workers.enumerated().map { ([("worker", "\($0.offset)")], Double($0.element.downstreamConnectionsActive)) })
        add("convoy_worker_loop_iterations_total", .counter, "Event loop iterations, by worker.",
            workers.enumerated().map { ([("worker", "\($0.offset)")], Double($0.element.loopIterations)) })

        var requestDuration = Family(name: "convoy_request_duration_seconds", help: "From a request head's arrival to its response's end.", kind: .histogram)
        requestDuration.histograms = [([], workers.reduce(LatencyHistogram()) { $0 + $1.requestDuration })]
        families.append(requestDuration)
        var upstreamTime = Family(name: "convoy_upstream_response_time_seconds", help: "From a request head going upstream to the response head, per try.", kind: .histogram)
        upstreamTime.histograms = [([], workers.reduce(LatencyHistogram()) { $0 + $1.upstreamResponseTime })]
        families.append(upstreamTime)

        // Routes whose match names a statPrefix (opt-in, so the series stay few).
        var routes: [String: RouteStats] = [:]
        for worker in workers {
            for (name, stats) in worker.routes { routes[name] = (routes[name] ?? RouteStats()) + stats }
        }
        let routeNames = routes.keys.sorted()
        add("convoy_route_requests_total", .counter, "Requests taken by routes whose match names a statPrefix, by that prefix.",
            routeNames.map { ([("route", $0)], Double(routes[$0]!.requests)) })
        var routeResponses: [(labels: [(String, String)], value: Double)] = []
        for name in routeNames {
            for index in 0..<5 { routeResponses.append(([("route", name), ("code_class", "\(index + 1)xx")], Double(routes[name]!.responsesByClass[index]))) }
        }
        add("convoy_route_responses_total", .counter, "Responses sent downstream, by statPrefix and status class.", routeResponses)
        var routeDuration = Family(name: "convoy_route_request_duration_seconds", help: "From a request head's arrival to its response's end, by statPrefix.", kind: .histogram)
        routeDuration.histograms = routeNames.map { ([("route", $0)], routes[$0]!.requestDuration) }
        families.append(routeDuration)
    }

    /// The Prometheus text exposition format (version 0.0.4). Any thread.
    public var prometheusText: String {
        var text = ""
        for family in families {
            text += "# HELP \(family.name) \(family.help)\n# TYPE \(family.name) \(family.kind.rawValue)\n"
            for (labels, histogram) in family.histograms {
                var cumulative: UInt64 = 0
                for (index, bound) in LatencyHistogram.bounds.enumerated() {
                    cumulative += histogram.counts[index]
                    text += "\(family.name)_bucket\(Self.labels(labels + [("le", Self.number(bound))])) \(cumulative)\n"
                }
                text += "\(family.name)_bucket\(Self.labels(labels + [("le", "+Inf")])) \(histogram.count)\n"
                text += "\(family.name)_sum\(Self.labels(labels)) \(Self.number(histogram.sum))\n"
                text += "\(family.name)_count\(Self.labels(labels)) \(histogram.count)\n"
            }
            for sample in family.samples {
                text += family.name + Self.labels(sample.labels) + " " + Self.number(sample.value) + "\n"
            }
        }
        return text
    }

    /// `name: value` lines, Envoy's `/stats` style (labels folded into the name). Any thread.
    public var plainText: String {
        flattened.map { "\($0.name): \(Self.number($0.value))\n" }.joined()
    }

    /// `{"stats": [{"name": …, "value": …}, …]}`, Envoy's `/stats?format=json`. Any thread.
    public var json: String {
        let entries = flattened.map { "{\"name\":\"\(ConfigDump.escaped($0.name))\",\"value\":\(Self.number($0.value))}" }
        return "{\"stats\":[" + entries.joined(separator: ",") + "]}\n"
    }

    /// Every series as one name and value (histograms as their count and sum).
    private var flattened: [(name: String, value: Double)] {
        var result: [(name: String, value: Double)] = []
        for family in families {
            for (labels, histogram) in family.histograms {
                let suffix = labels.map { "\($0.0)=\($0.1)" }.joined(separator: ",")
                let labelText = suffix.isEmpty ? "" : "{\(suffix)}"
                result.append((family.name + "_count" + labelText, Double(histogram.count)))
                result.append((family.name + "_sum" + labelText, histogram.sum))
            }
            for sample in family.samples {
                let suffix = sample.labels.map { "\($0.0)=\($0.1)" }.joined(separator: ",")
                result.append((suffix.isEmpty ? family.name : "\(family.name){\(suffix)}", sample.value))
            }
        }
        return result
    }

    private static func labels(_ labels: [(String, String)]) -> String {
        guard !labels.isEmpty else { return "" }
        return "{" + labels.map { "\($0.0)=\"\(labelEscaped($0.1))\"" }.joined(separator: ",") + "}"
    }

    private static func labelEscaped(_ value: String) -> String {
        value.replacing("\\", with: "\\\\").replacing("\"", with: "\\\"").replacing("\n", with: "\\n")
    }

    /// Integers without a fraction, others in Swift's shortest round-trip form.
    static func number(_ value: Double) -> String {
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return String(value)
    }
}
