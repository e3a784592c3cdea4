/// Active health checking of a cluster's endpoints (a convoy extension, set in the Bootstrap,
/// since Istio leaves it to Kubernetes probes): `GET path` every `interval`; an answer in 200–299
/// within `timeout` passes, anything else (a refused connection, another status, silence) fails.
/// `unhealthyThreshold` failures in a row take an endpoint out of load balancing,
/// `healthyThreshold` passes in a row bring it back. Endpoints start healthy. Immutable; any thread.
public struct HealthCheckPolicy: Sendable, Equatable {
    /// The request path, with any query. Any thread.
    public var path: String
    /// Time between checks of one endpoint. Any thread.
    public var interval: Duration = .seconds(10)
    /// How long a check may take. Any thread.
    public var timeout: Duration = .seconds(1)
    /// Passes in a row that make an unhealthy endpoint healthy. Any thread.
    public var healthyThreshold = 2
    /// Failures in a row that make a healthy endpoint unhealthy. Any thread.
    public var unhealthyThreshold = 3

    /// A policy checking `path` with the defaults above. Any thread.
    public init(path: String) {
        self.path = path
    }
}
