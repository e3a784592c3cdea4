import ConvoyDispatcher
import ConvoyRouter

/// The outlier-detection state of one cluster's hosts as one worker sees them (Envoy keeps one
/// detector per cluster on its main thread; here each worker judges the requests it sent). See
/// ``OutlierDetectionPolicy`` for the rules. Confined to the worker's thread.
struct OutlierDetector {
    /// What an upstream try came to, for the detector.
    enum Outcome {
        /// A response head with this status.
        case status(Int)
        /// A connect failure, a reset or a timeout.
        case localFailure
    }

    struct HostState {
        var consecutive5xx = 0
        var consecutiveGateway = 0
        var consecutiveLocal = 0
        var ejections = 0
        var ejectedUntil: MonotonicInstant?
        var failedThisInterval = false
    }

    let policy: OutlierDetectionPolicy
    private(set) var hosts: [HostState]

    init(policy: OutlierDetectionPolicy, hostCount: Int) {
        self.policy = policy
        hosts = Array(repeating: HostState(), count: hostCount)
    }

    var ejectedCount: Int { hosts.count { $0.ejectedUntil != nil } }

    func isEjected(_ host: Int) -> Bool { host < hosts.count && hosts[host].ejectedUntil != nil }

    /// Starts over for a new host list, keeping the state of hosts at the same `previous` index.
    mutating func reset(hostCount: Int, keeping previous: [Int?]) {
        let old = hosts
        hosts = (0..<hostCount).map { index in previous[index].map { old[$0] } ?? HostState() }
    }

    /// Counts `outcome` for `host`; true when that ejected it.
    mutating func record(_ outcome: Outcome, host: Int, now: MonotonicInstant) -> Bool {
        guard host < hosts.count else { return false }
        switch outcome {
        case .status(let status) where status >= 500:
            hosts[host].consecutive5xx += 1
            if (502...504).contains(status) { hosts[host].consecutiveGateway += 1 } else { hosts[host].consecutiveGateway = 0 }
            hosts[host].consecutiveLocal = 0  // the connection worked
            hosts[host].failedThisInterval = true
        case .status:
            hosts[host].consecutive5xx = 0
            hosts[host].consecutiveGateway = 0
            hosts[host].consecutiveLocal = 0
        case .localFailure:
            if policy.splitExternalLocalOriginErrors {
                hosts[host].consecutiveLocal += 1
            } else {
                hosts[host].consecutive5xx += 1
                hosts[host].consecutiveGateway += 1
            }
            hosts[host].failedThisInterval = true
        }
        let state = hosts[host]
        let tripped = (policy.consecutive5xxErrors > 0 && state.consecutive5xx >= policy.consecutive5xxErrors)
            || (policy.consecutiveGatewayErrors > 0 && state.consecutiveGateway >= policy.consecutiveGatewayErrors)
            || (policy.splitExternalLocalOriginErrors && policy.consecutiveLocalOriginFailures > 0
                && state.consecutiveLocal >= policy.consecutiveLocalOriginFailures)
        guard tripped, state.ejectedUntil == nil else { return false }
        let ejected = ejectedCount
        guard ejected == 0 || (ejected + 1) * 100 <= policy.maxEjectionPercent * hosts.count else { return false }
        hosts[host].ejections += 1
        let time = min(policy.baseEjectionTime * hosts[host].ejections, policy.maximumEjectionTime)
        hosts[host].ejectedUntil = now + time
        hosts[host].consecutive5xx = 0
        hosts[host].consecutiveGateway = 0
        hosts[host].consecutiveLocal = 0
        return true
    }

    /// The periodic review: ends ejections that ran out (returns how many) and lets hosts that
    /// had a clean interval work their ejection count down.
    mutating func sweep(now: MonotonicInstant) -> Int {
        var returned = 0
        for index in hosts.indices {
            if let until = hosts[index].ejectedUntil {
                if until <= now {
                    hosts[index].ejectedUntil = nil
                    returned += 1
                }
            } else if hosts[index].ejections > 0 && !hosts[index].failedThisInterval {
                hosts[index].ejections -= 1
            }
            hosts[index].failedThisInterval = false
        }
        return returned
    }
}
