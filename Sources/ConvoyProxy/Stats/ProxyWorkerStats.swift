/// A worker's counters and latency histograms, kept without locks on the worker's thread and
/// read by posting to it (``ProxyServer/workerStats()``); ``StatsExposition`` merges and prints
/// them. A plain value.
public struct ProxyWorkerStats: Sendable, Equatable {
    /// Downstream connections accepted. Any thread.
    public var downstreamConnections = 0
    /// Downstream connections closed for a missing or malformed PROXY protocol header (Envoy's
    /// `downstream_cx_proxy_proto_error`). Any thread.
    public var downstreamProxyProtocolErrors = 0
    /// Requests received. Any thread.
    public var requests = 0
    /// Requests forwarded upstream. Any thread.
    public var upstreamRequests = 0
    /// Requests answered by convoy itself (routes, redirects, errors). Any thread.
    public var localReplies = 0
    /// Requests that failed upstream (connect, reset, timeout, overflow). Any thread.
    public var upstreamFailures = 0
    /// Retries started (each one after the first try of a request). Any thread.
    public var upstreamRetries = 0
    /// Retries refused because the cluster's retry budget or `maxRetries` was used up. Any thread.
    public var upstreamRetryOverflows = 0
    /// Requests answered with their last failure after every retry was used (flag URX). Any thread.
    public var upstreamRetriesExhausted = 0
    /// Requests refused by a pool limit (pending requests or connections; flag UO). Any thread.
    public var upstreamOverflows = 0
    /// Tries cut short by the per-try timeout. Any thread.
    public var upstreamPerTryTimeouts = 0
    /// Request copies sent to mirrors. Any thread.
    public var mirroredRequests = 0
    /// Mirror copies that failed, timed out or were dropped for not keeping up. Any thread.
    public var mirrorFailures = 0
    /// Active health checks passed and failed (on the worker that runs them). Any thread.
    public var healthChecksPassed = 0
    /// Active health checks that failed. Any thread.
    public var healthChecksFailed = 0
    /// Endpoints that turned unhealthy, and healthy again, by their health check. Any thread.
    public var healthBecameUnhealthy = 0
    /// Endpoints that turned healthy again. Any thread.
    public var healthBecameHealthy = 0
    /// Endpoints out of load balancing for a failing health check, over all clusters (filled in on read). Any thread.
    public var upstreamHostsFailingHealthCheck = 0
    /// Requests delayed by fault injection. Any thread.
    public var faultDelays = 0
    /// Requests aborted by fault injection. Any thread.
    public var faultAborts = 0
    /// Hosts ejected by outlier detection, over all clusters (filled in on read). Any thread.
    public var upstreamEjections = 0
    /// Ejections that ran out (filled in on read). Any thread.
    public var upstreamEjectionsEnded = 0
    /// Hosts ejected now (filled in on read). Any thread.
    public var upstreamHostsEjected = 0
    /// Upstream connections opened. Any thread.
    public var upstreamConnectionsOpened = 0
    /// Upstream connection pools held: one per endpoint and pool settings in use, and those
    /// draining after a reload or DNS change until their last connection closes (filled in on
    /// read). Any thread.
    public var upstreamPools = 0
    /// Requests waiting for an upstream connection now, in every pool (Envoy's
    /// `upstream_rq_pending_active`; filled in on read). Any thread.
    public var upstreamRequestsPending = 0
    /// Downstream connections open now (filled in on read). Any thread.
    public var downstreamConnectionsActive = 0
    /// Of those, idle ones parked as bare sockets (filled in on read). Any thread.
    public var downstreamConnectionsParked = 0
    /// Idle connections parked, and parked ones woken by a new request (filled in on read). Any thread.
    public var downstreamParks = 0
    public var downstreamWakes = 0
    /// Downstream session objects alive (filled in on read): the open connections that are not
    /// parked, unless something leaks. Not exported; tests check it. Any thread.
    public var downstreamSessionObjects = 0
    /// Responses sent downstream by status class: index 0 is 1xx … 4 is 5xx. Any thread.
    public var responsesByClass = [0, 0, 0, 0, 0]
    /// From a request head's arrival to its response's end. Any thread.
    public var requestDuration = LatencyHistogram()
    /// From a request's head going upstream to the response head coming back, per try. Any thread.
    public var upstreamResponseTime = LatencyHistogram()
    /// Loop iterations of the worker's dispatcher (filled in on read). Any thread.
    public var loopIterations: UInt64 = 0
    /// Per `statPrefix`: the counters of the routes that name one. Any thread.
    public var routes: [String: RouteStats] = [:]
    /// Per listener (configured address): connections accepted and open (filled in on read). Any thread.
    public var listeners: [String: ListenerCounts] = [:]

    /// One listener's connections. A plain value.
    public struct ListenerCounts: Sendable, Equatable {
        /// Connections accepted. Any thread.
        public var accepted = 0
        /// Connections open now. Any thread.
        public var open = 0
    }
    /// Per cluster, by cluster name (filled in on read). Any thread.
    public var clusters: [String: ClusterStats] = [:]

    /// Zero. Any thread.
    public init() {}
}
