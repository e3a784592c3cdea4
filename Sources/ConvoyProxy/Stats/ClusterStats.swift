/// One cluster's counters as one worker kept them (merged over workers on read). A plain value.
public struct ClusterStats: Sendable, Equatable {
    /// Tries sent to the cluster (first tries and retries). Any thread.
    public var requests = 0
    /// Upstream responses by status class: index 0 is 1xx … 4 is 5xx. Any thread.
    public var responsesByClass = [0, 0, 0, 0, 0]
    /// Tries whose connection could not be made (refused, timed out). Any thread.
    public var connectFailures = 0
    /// Tries the upstream closed or broke before a whole response. Any thread.
    public var resets = 0
    /// Requests that ran out of route timeout. Any thread.
    public var timeouts = 0
    /// Tries cut short by the per-try timeout. Any thread.
    public var perTryTimeouts = 0
    /// Requests refused by a pool limit (circuit breaking). Any thread.
    public var overflows = 0
    /// Retries started. Any thread.
    public var retries = 0
    /// Retries refused by the retry budget or `maxRetries`. Any thread.
    public var retryOverflows = 0
    /// Hosts ejected by outlier detection, and ejections that ended (filled in on read). Any thread.
    public var ejections = 0
    /// Ejections that ran out (filled in on read). Any thread.
    public var ejectionsEnded = 0
    /// Hosts ejected now (filled in on read). Any thread.
    public var hostsEjected = 0
    /// Hosts failing their active health check now (filled in on read). Any thread.
    public var hostsFailingHealthCheck = 0
    /// Hosts in the cluster (filled in on read). Any thread.
    public var hosts = 0
    /// Requests in flight to the cluster now (filled in on read). Any thread.
    public var activeRequests = 0
    /// The endpoints as this worker sees them (filled in on read). Any thread.
    public var endpoints: [EndpointStatus] = []

    /// One endpoint of a cluster: its health and load. A plain value.
    public struct EndpointStatus: Sendable, Equatable {
        /// `address:port`. Any thread.
        public var address: String
        /// The load-balancing weight. Any thread.
        public var weight: UInt32
        /// Ejected by outlier detection (on any worker, once merged). Any thread.
        public var ejected: Bool
        /// Out of load balancing for its active health check. Any thread.
        public var failingHealthCheck: Bool
        /// Requests in flight to it. Any thread.
        public var activeRequests: Int
    }

    /// Zero. Any thread.
    public init() {}

    /// Two workers' counters added (active requests too; host gauges take the larger). Any thread.
    public static func + (lhs: ClusterStats, rhs: ClusterStats) -> ClusterStats {
        var result = lhs
        result.requests += rhs.requests
        for index in 0..<5 { result.responsesByClass[index] += rhs.responsesByClass[index] }
        result.connectFailures += rhs.connectFailures
        result.resets += rhs.resets
        result.timeouts += rhs.timeouts
        result.perTryTimeouts += rhs.perTryTimeouts
        result.overflows += rhs.overflows
        result.retries += rhs.retries
        result.retryOverflows += rhs.retryOverflows
        result.ejections += rhs.ejections
        result.ejectionsEnded += rhs.ejectionsEnded
        result.hostsEjected = max(result.hostsEjected, rhs.hostsEjected)  // each worker judges alone: the most any has out
        result.hostsFailingHealthCheck = max(result.hostsFailingHealthCheck, rhs.hostsFailingHealthCheck)
        result.hosts = max(result.hosts, rhs.hosts)
        result.activeRequests += rhs.activeRequests
        for endpoint in rhs.endpoints {
            if let index = result.endpoints.firstIndex(where: { $0.address == endpoint.address }) {
                result.endpoints[index].ejected = result.endpoints[index].ejected || endpoint.ejected
                result.endpoints[index].failingHealthCheck = result.endpoints[index].failingHealthCheck || endpoint.failingHealthCheck
                result.endpoints[index].activeRequests += endpoint.activeRequests
            } else {
                result.endpoints.append(endpoint)
            }
        }
        return result
    }
}
