/// The counters of the routes whose match names a `statPrefix` (Istio's per-route stats), as one
/// worker kept them under that prefix; merged over workers on read. A plain value.
public struct RouteStats: Sendable, Equatable {
    /// Requests the route took. Any thread.
    public var requests = 0
    /// Responses sent downstream by status class: index 0 is 1xx … 4 is 5xx. Any thread.
    public var responsesByClass = [0, 0, 0, 0, 0]
    /// From a request head's arrival to its response's end. Any thread.
    public var requestDuration = LatencyHistogram()

    /// Zero. Any thread.
    public init() {}

    /// The sum of two workers' counters. Any thread.
    public static func + (lhs: RouteStats, rhs: RouteStats) -> RouteStats {
        var sum = lhs
        sum.requests += rhs.requests
        for index in 0..<5 { sum.responsesByClass[index] += rhs.responsesByClass[index] }
        sum.requestDuration = lhs.requestDuration + rhs.requestDuration
        return sum
    }
}
