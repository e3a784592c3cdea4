/// What a matched route does. Immutable; any thread.
public enum RouteAction: Sendable {
    /// Forward to one of these destinations, picked by relative weight.
    case forward(WeightedDestinations)
    /// Answer with a redirect.
    case redirect(Redirect)
    /// Answer with this status and body.
    case directResponse(status: Int, body: [UInt8])
}

/// The destinations of a forwarding route with their cumulative weights, for an O(log n) pick.
/// Immutable; any thread.
public struct WeightedDestinations: Sendable {
    /// The destinations, in configuration order. Any thread.
    public let destinations: [WeightedDestination]
    private let cumulative: [UInt64]

    /// Destinations with the given weights (all zero: the first gets everything). Any thread.
    public init(_ destinations: [WeightedDestination]) {
        precondition(!destinations.isEmpty, "a forwarding route needs a destination")
        self.destinations = destinations
        var sum: UInt64 = 0
        cumulative = destinations.map { sum += UInt64($0.weight); return sum }
    }

    /// The sum of the weights. Any thread.
    public var totalWeight: UInt64 { cumulative.last ?? 0 }

    /// The destination for a uniformly random `draw`. Any thread.
    public func pick(_ draw: UInt64) -> WeightedDestination {
        guard destinations.count > 1, totalWeight > 0 else { return destinations[0] }
        let point = draw % totalWeight
        var low = 0, high = cumulative.count - 1
        while low < high {
            let middle = (low + high) / 2
            if cumulative[middle] > point { high = middle } else { low = middle + 1 }
        }
        return destinations[low]
    }
}
