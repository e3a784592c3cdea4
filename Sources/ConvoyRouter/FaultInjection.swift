/// Istio's `HTTPFaultInjection` for a route: delay some requests before they are forwarded, abort
/// some with a status instead of forwarding them. The two are drawn independently; a percentage
/// left out means no request gets that fault, as Istio specifies. Immutable; any thread.
public struct FaultInjection: Sendable, Equatable {
    /// How long a delayed request waits (nil: no delay fault). Any thread.
    public let delay: Duration?
    /// Share of requests delayed, 0...100. Any thread.
    public let delayPercentage: Double
    /// The status an aborted request gets (nil: no abort fault). Any thread.
    public let abortStatus: Int?
    /// Share of requests aborted, 0...100. Any thread.
    public let abortPercentage: Double

    /// A fault policy. Any thread.
    public init(delay: Duration? = nil, delayPercentage: Double = 0, abortStatus: Int? = nil, abortPercentage: Double = 0) {
        self.delay = delay
        self.delayPercentage = min(max(delayPercentage, 0), 100)
        self.abortStatus = abortStatus
        self.abortPercentage = min(max(abortPercentage, 0), 100)
    }

    /// Draws whether this request is delayed. The request's thread.
    public func drawsDelay(_ random: inout FastRandom) -> Bool {
        delay != nil && random.chance(percent: delayPercentage)
    }

    /// Draws whether this request is aborted. The request's thread.
    public func drawsAbort(_ random: inout FastRandom) -> Bool {
        abortStatus != nil && random.chance(percent: abortPercentage)
    }
}
