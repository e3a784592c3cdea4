/// Passive health checking: Istio's DestinationRule `outlierDetection`, with Istio's defaults.
/// Immutable; any thread.
///
/// A host is ejected from load balancing after `consecutive5xxErrors` 5xx responses in a row, or
/// `consecutiveGatewayErrors` 502/503/504 responses, or — with `splitExternalLocalOriginErrors` —
/// `consecutiveLocalOriginFailures` connect failures, resets and timeouts (without the split
/// those count as 5xx and gateway errors). It stays out for `baseEjectionTime` times the number
/// of times it was ejected (at most 300 s, or the base when longer); every `interval` the
/// ejections that ran out end, and a host without failures for a whole interval works its count
/// down. At most `maxEjectionPercent` of the hosts are ejected at once (always at least one),
/// and while fewer than `minHealthPercent` (or, as in Envoy, half) of the hosts are healthy the
/// balancer uses all of them (panic mode).
public struct OutlierDetectionPolicy: Sendable, Equatable {
    /// 5xx responses in a row that eject (0: off). Any thread.
    public var consecutive5xxErrors = 5
    /// 502/503/504 responses in a row that eject (0: off). Any thread.
    public var consecutiveGatewayErrors = 0
    /// Count connect failures, resets and timeouts on their own. Any thread.
    public var splitExternalLocalOriginErrors = false
    /// Local-origin failures in a row that eject, with the split (0: off). Any thread.
    public var consecutiveLocalOriginFailures = 5
    /// How often ejections are reviewed. Any thread.
    public var interval: Duration = .seconds(10)
    /// Ejection time per ejection so far. Any thread.
    public var baseEjectionTime: Duration = .seconds(30)
    /// Share of hosts that may be ejected at once, 0...100 (one host always may). Any thread.
    public var maxEjectionPercent = 10
    /// Below this share of healthy hosts ejection is ignored and every host is used, 0...100. Any thread.
    public var minHealthPercent = 0

    /// Istio's defaults. Any thread.
    public init() {}

    /// The longest ejection: Envoy's `max_ejection_time`, 300 s, or the base when longer. Any thread.
    public var maximumEjectionTime: Duration { max(.seconds(300), baseEjectionTime) }
}
