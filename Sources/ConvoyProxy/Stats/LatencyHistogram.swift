import ConvoyDispatcher

/// A latency histogram with fixed bucket bounds (Envoy's, in seconds from 0.5 ms to one hour):
/// counts per bucket, the sum and the count. Recording is a few instructions on the owning
/// worker; workers' histograms are added together on read. A plain value.
public struct LatencyHistogram: Sendable, Equatable {
    /// Upper bounds of the buckets, in seconds; one more bucket holds everything above. Any thread.
    public static let bounds: [Double] = [
        0.0005, 0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 600, 1800, 3600,
    ]

    /// Observations per bucket (not cumulative); the last is above every bound. Any thread.
    public private(set) var counts = [UInt64](repeating: 0, count: LatencyHistogram.bounds.count + 1)
    /// Sum of the observations, in seconds. Any thread.
    public private(set) var sum: Double = 0
    /// Number of observations. Any thread.
    public private(set) var count: UInt64 = 0

    /// Empty. Any thread.
    public init() {}

    /// Adds one observation from two monotonic instants (no `Duration` arithmetic: this runs
    /// twice per proxied request). The owner's thread.
    public mutating func record(from start: MonotonicInstant, to end: MonotonicInstant) {
        record(seconds: end.nanoseconds > start.nanoseconds ? Double(end.nanoseconds - start.nanoseconds) * 1e-9 : 0)
    }

    private mutating func record(seconds: Double) {
        var index = 0
        while index < Self.bounds.count, seconds > Self.bounds[index] { index += 1 }
        counts[index] += 1
        sum += max(0, seconds)
        count += 1
    }

    /// The sum of two histograms (workers merged). Any thread.
    public static func + (lhs: LatencyHistogram, rhs: LatencyHistogram) -> LatencyHistogram {
        var result = lhs
        for index in result.counts.indices { result.counts[index] += rhs.counts[index] }
        result.sum += rhs.sum
        result.count += rhs.count
        return result
    }
}
