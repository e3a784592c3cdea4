/// One `route[]` entry of an Istio HTTP route: a cluster (service host, port and subset) and its
/// relative weight, with header changes for this destination only. Immutable (a class: one
/// retain per request instead of one per field); any thread.
public final class WeightedDestination: Sendable {
    /// Index of the cluster in the configuration's cluster list. Any thread.
    public let clusterIndex: Int
    /// The cluster's name (`outbound|PORT|SUBSET|HOST`). Any thread.
    public let clusterName: String
    /// The relative weight (a share of weight / sum of weights; 0 gets no traffic). Any thread.
    public let weight: UInt32
    /// Request header changes for this destination. Any thread.
    public let requestHeaders: HeaderMutation
    /// Response header changes for this destination. Any thread.
    public let responseHeaders: HeaderMutation

    /// A destination. Any thread.
    public init(clusterIndex: Int, clusterName: String, weight: UInt32, requestHeaders: HeaderMutation = HeaderMutation(), responseHeaders: HeaderMutation = HeaderMutation()) {
        self.clusterIndex = clusterIndex
        self.clusterName = clusterName
        self.weight = weight
        self.requestHeaders = requestHeaders
        self.responseHeaders = responseHeaders
    }
}
