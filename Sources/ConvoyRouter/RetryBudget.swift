/// How many retries a cluster may have in flight: Istio's DestinationRule `retryBudget` (Envoy's
/// retry budget). Immutable; any thread.
///
/// Retries in flight may reach `percent` of the cluster's active requests, and at least
/// `minRetryConcurrency`; beyond that a failed attempt is answered instead of retried, so a
/// struggling upstream is not buried under its own retries.
public struct RetryBudget: Sendable, Equatable {
    /// Share of active requests that may be retries, 0...100. Any thread.
    public let percent: Double
    /// Retries always allowed in flight, whatever the share. Any thread.
    public let minRetryConcurrency: Int

    /// A budget (Istio's defaults: 20 %, 3). Any thread.
    public init(percent: Double = 20, minRetryConcurrency: Int = 3) {
        self.percent = min(max(percent, 0), 100)
        self.minRetryConcurrency = max(0, minRetryConcurrency)
    }

    /// True when one more retry fits, with `activeRetries` retries and `activeRequests` requests
    /// (retries included) in flight. Any thread.
    public func allowsRetry(activeRetries: Int, activeRequests: Int) -> Bool {
        let share = Int((Double(activeRequests) * percent / 100).rounded(.down))
        return activeRetries < max(minRetryConcurrency, share)
    }
}
