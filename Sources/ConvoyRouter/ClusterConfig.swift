/// An upstream cluster: one ServiceEntry host and port, narrowed to a DestinationRule subset, with
/// its endpoints and policies. Istio names it `outbound|PORT|SUBSET|HOST`. Immutable; any thread.
public struct ClusterConfig: Sendable {
    /// How endpoint addresses are found.
    public enum Discovery: Sendable, Equatable {
        /// Endpoints are IP addresses, used as given.
        case `static`
        /// Endpoint names are resolved with DNS, every `refresh` (each address is an endpoint).
        case dns(refresh: Duration)
    }

    /// `outbound|PORT|SUBSET|HOST`. Any thread.
    public let name: String
    /// The ServiceEntry host. Any thread.
    public let serviceHost: String
    /// The service port. Any thread.
    public let port: UInt16
    /// The DestinationRule subset, if any. Any thread.
    public let subset: String?
    /// How addresses are found. Any thread.
    public let discovery: Discovery
    /// The endpoints (already filtered by the subset's labels). Any thread.
    public let endpoints: [EndpointConfig]
    /// The load-balancing policy. Any thread.
    public let loadBalancer: LoadBalancerPolicy
    /// Connection pool limits and timeouts. Any thread.
    public let connectionPool: ConnectionPoolSettings
    /// Retries allowed in flight, per worker. Any thread.
    public let retryBudget: RetryBudget
    /// Passive health checking (nil: off, Istio's default without `outlierDetection`). Any thread.
    public let outlierDetection: OutlierDetectionPolicy?
    /// Active health checking (nil: off). Any thread.
    public let healthCheck: HealthCheckPolicy?
    /// Warm-up of endpoints that join (nil: none). Any thread.
    public let slowStart: SlowStart?

    /// A cluster. Any thread.
    public init(
        serviceHost: String, port: UInt16, subset: String?, discovery: Discovery, endpoints: [EndpointConfig],
        loadBalancer: LoadBalancerPolicy = .leastRequest, connectionPool: ConnectionPoolSettings = ConnectionPoolSettings(),
        retryBudget: RetryBudget = RetryBudget(), outlierDetection: OutlierDetectionPolicy? = nil,
        healthCheck: HealthCheckPolicy? = nil, slowStart: SlowStart? = nil
    ) {
        name = Self.name(host: serviceHost, port: port, subset: subset)
        self.serviceHost = serviceHost
        self.port = port
        self.subset = subset
        self.discovery = discovery
        self.endpoints = endpoints
        self.loadBalancer = loadBalancer
        self.connectionPool = connectionPool
        self.retryBudget = retryBudget
        self.outlierDetection = outlierDetection
        self.healthCheck = healthCheck
        self.slowStart = slowStart
    }

    /// This cluster with `healthCheck` as its active health check. Any thread.
    public func with(healthCheck: HealthCheckPolicy?) -> ClusterConfig {
        ClusterConfig(
            serviceHost: serviceHost, port: port, subset: subset, discovery: discovery, endpoints: endpoints,
            loadBalancer: loadBalancer, connectionPool: connectionPool, retryBudget: retryBudget,
            outlierDetection: outlierDetection, healthCheck: healthCheck, slowStart: slowStart)
    }

    /// Istio's cluster name for a host, port and subset. Any thread.
    public static func name(host: String, port: UInt16, subset: String?) -> String {
        "outbound|\(port)|\(subset ?? "")|\(host)"
    }
}

/// One endpoint of a cluster: an address (IP, or a DNS name for DNS clusters), a port, labels and a
/// weight. Immutable; any thread.
public struct EndpointConfig: Sendable, Equatable {
    /// An IP address or (DNS clusters) a host name. Any thread.
    public let address: String
    /// The port to connect to. Any thread.
    public let port: UInt16
    /// Labels, for subsets. Any thread.
    public let labels: [String: String]
    /// The load-balancing weight (default 1). Any thread.
    public let weight: UInt32

    /// An endpoint. Any thread.
    public init(address: String, port: UInt16, labels: [String: String] = [:], weight: UInt32 = 1) {
        self.address = address
        self.port = port
        self.labels = labels
        self.weight = weight
    }
}

/// Per-endpoint connection pool settings (DestinationRule `connectionPool`). Immutable; any thread.
public struct ConnectionPoolSettings: Sendable, Hashable {
    /// TCP connect timeout (Istio's default 10 s). Any thread.
    public var connectTimeout: Duration = .seconds(10)
    /// Close a pooled connection idle this long. Default 4 s: below the 5 s keep-alive of Node.js
    /// and Apache, so the backend never closes a connection the proxy is about to reuse.
    public var idleTimeout: Duration = .seconds(4)
    /// Requests per connection before it is closed (nil: unlimited; 1 disables keep-alive). Any thread.
    public var maxRequestsPerConnection: Int?
    /// Connections per endpoint per worker (nil: unlimited). Any thread.
    public var maxConnections: Int?
    /// Requests waiting for a connection per endpoint per worker (nil: unlimited). Any thread.
    public var maxPendingRequests: Int?
    /// Retries in flight across the cluster per worker (`http.maxRetries`; nil: unlimited, as in
    /// Istio). Any thread.
    public var maxRetries: Int?
    /// TCP keep-alive probes on upstream connections (`tcp.tcpKeepalive`; nil: off). Any thread.
    public var tcpKeepalive: TCPKeepalive?
    /// A connection this old is closed once no request uses it (`tcp.maxConnectionDuration`;
    /// nil: no limit), so clients of a scaled-out service move to new endpoints. Any thread.
    public var maxConnectionDuration: Duration?

    /// `tcp.tcpKeepalive`: probes, idle time before the first, interval; nil parts keep the
    /// kernel's defaults. Any thread.
    public struct TCPKeepalive: Sendable, Hashable {
        /// Unanswered probes before the connection is dropped. Any thread.
        public var probes: Int?
        /// Idle time before the first probe. Any thread.
        public var time: Duration?
        /// Time between probes. Any thread.
        public var interval: Duration?

        /// Keep-alive settings. Any thread.
        public init(probes: Int? = nil, time: Duration? = nil, interval: Duration? = nil) {
            self.probes = probes
            self.time = time
            self.interval = interval
        }
    }

    /// Defaults. Any thread.
    public init() {}
}
