#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Istio's load-balancer `warmup` (Envoy's slow start): an endpoint that joins a cluster, or
/// passes its health check again after failing it, gets a share of traffic that grows over
/// `window` instead of its full share at once, so a cold JVM or an empty cache is not flooded.
/// Its weight is scaled by max(`minimumPercent` %, age / window) ^ (1 / `aggression`).
/// Endpoints present when the cluster starts are not slowed. Round robin and least request only.
/// Immutable; any thread.
public struct SlowStart: Sendable, Hashable {
    /// How long an endpoint warms up. Any thread.
    public let window: Duration
    /// The smallest share of its weight an endpoint starts with, in percent (Istio's default 10).
    /// Any thread.
    public let minimumPercent: Double
    /// The curve: 1 is linear, above 1 slower at first (Istio's default 1). Any thread.
    public let aggression: Double

    /// A warm-up policy. Any thread.
    public init(window: Duration, minimumPercent: Double = 10, aggression: Double = 1) {
        self.window = window
        self.minimumPercent = min(max(minimumPercent, 0), 100)
        self.aggression = max(aggression, 0.01)
    }

    /// The factor (at most 1) for an endpoint `age` into its warm-up. Any thread.
    public func factor(age: Duration) -> Double {
        guard age < window else { return 1 }
        let fraction = max(minimumPercent / 100, Self.seconds(age) / Self.seconds(window))
        return pow(fraction, 1 / aggression)
    }

    private static func seconds(_ duration: Duration) -> Double {
        let (seconds, attoseconds) = duration.components
        return Double(seconds) + Double(attoseconds) * 1e-18
    }
}
