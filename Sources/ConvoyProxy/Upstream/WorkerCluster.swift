import ConvoyDispatcher
import ConvoyNetwork
import ConvoyRouter

/// A cluster as one worker sees it: its current hosts, the worker's load balancer over the usable
/// ones, active requests per host (for least-request), and outlier detection. Confined to the
/// worker's thread.
final class WorkerCluster {
    let config: ClusterConfig
    private let dispatcher: Dispatcher
    @exclusivity(unchecked) private(set) var hosts: [ResolvedHost]
    @exclusivity(unchecked) private(set) var activeRequests: [Int]
    /// Balances over `usableHosts` (all hosts when nil); its picks index that list.
    @exclusivity(unchecked) private var balancer: LoadBalancer
    @exclusivity(unchecked) private var usableHosts: [Int]?
    @exclusivity(unchecked) private var detector: OutlierDetector?
    @exclusivity(unchecked) private var sweepTimer: TimerEvent?
    /// Counters the sessions keep (``currentStats`` adds the cluster's own).
    @exclusivity(unchecked) var stats = ClusterStats()
    /// The worker's pool for each host, looked up once (by address) and kept per host index.
    @exclusivity(unchecked) private var hostPools: [UpstreamPool?] = []
    /// Endpoints the active health check marked unhealthy.
    @exclusivity(unchecked) private(set) var failingHealthCheck: Set<SocketAddress> = []
    /// Hosts ejected by outlier detection so far, and returned. Counters.
    @exclusivity(unchecked) private(set) var ejections = 0
    @exclusivity(unchecked) private(set) var ejectionsEnded = 0
    /// Requests of this cluster waiting for, or making, a retry.
    @exclusivity(unchecked) private(set) var activeRetries = 0
    private let hashKey: HashKey?
    /// Endpoints warming up (``SlowStart``) and since when: those that joined after the cluster
    /// started, or passed their health check again.
    @exclusivity(unchecked) private var warmingSince: [SocketAddress: MonotonicInstant] = [:]
    @exclusivity(unchecked) private var warmupTimer: TimerEvent?

    /// A cluster on `dispatcher` (the worker's), whose outlier detection reviews ejections there.
    init(config: ClusterConfig, hosts: [ResolvedHost], dispatcher: Dispatcher) {
        self.config = config
        self.dispatcher = dispatcher
        self.hosts = hosts
        activeRequests = Array(repeating: 0, count: hosts.count)
        balancer = LoadBalancer(policy: config.loadBalancer, keys: hosts.map { $0.address.description }, weights: hosts.map(\.weight))
        if case .ringHash(let key, _) = config.loadBalancer { hashKey = key } else { hashKey = nil }
        if let policy = config.outlierDetection {
            detector = OutlierDetector(policy: policy, hostCount: hosts.count)
        }
    }

    /// Replaces the hosts (DNS changed). Active-request counts and outlier state of hosts that
    /// stay are kept.
    func update(hosts newHosts: [ResolvedHost]) {
        let oldIndex = Dictionary(hosts.enumerated().map { ($0.element.address, $0.offset) }, uniquingKeysWith: { first, _ in first })
        let previous = newHosts.map { oldIndex[$0.address] }
        activeRequests = previous.map { $0.map { activeRequests[$0] } ?? 0 }
        if config.slowStart != nil {
            let now = dispatcher.approximateMonotonicTime
            for (host, old) in zip(newHosts, previous) where old == nil { warmingSince[host.address] = now }
            warmingSince = warmingSince.filter { entry in newHosts.contains { $0.address == entry.key } }
        }
        hosts = newHosts
        hostPools = []
        failingHealthCheck = failingHealthCheck.filter { address in newHosts.contains { $0.address == address } }
        detector?.reset(hostCount: newHosts.count, keeping: previous)
        rebuildBalancer()
    }

    /// The worker's connection pool for host `host`, made by `make` (the worker's pool for the
    /// host's address) on first use and kept until the hosts change.
    @inline(__always)
    func pool(host: Int, make: (SocketAddress, ClusterConfig) -> UpstreamPool) -> UpstreamPool {
        if hostPools.count != hosts.count { hostPools = Array(repeating: nil, count: hosts.count) }
        if let pool = hostPools[host] { return pool }
        let pool = make(hosts[host].address, config)
        hostPools[host] = pool
        return pool
    }

    /// Counts an upstream try's outcome for outlier detection; true when it ejected the host.
    func record(_ outcome: OutlierDetector.Outcome, host: Int, address: SocketAddress) -> Bool {
        guard detector != nil, let index = currentIndex(host: host, address: address) else { return false }
        guard detector!.record(outcome, host: index, now: dispatcher.approximateMonotonicTime) else { return false }
        ejections += 1
        rebuildBalancer()
        armSweep()
        return true
    }

    /// Takes an endpoint out of load balancing, or brings it back, for its active health check.
    func setHealthCheckResult(address: SocketAddress, healthy: Bool) {
        guard config.healthCheck != nil, hosts.contains(where: { $0.address == address }) else { return }
        let changed = healthy ? failingHealthCheck.remove(address) != nil : failingHealthCheck.insert(address).inserted
        if changed, healthy, config.slowStart != nil { warmingSince[address] = dispatcher.approximateMonotonicTime }
        if changed { rebuildBalancer() }
    }

    /// `stats` with the ejection and health figures filled in.
    var currentStats: ClusterStats {
        var result = stats
        result.ejections = ejections
        result.ejectionsEnded = ejectionsEnded
        result.hostsEjected = hosts.indices.count { isEjected($0) }
        result.hostsFailingHealthCheck = failingHealthCheck.count
        result.hosts = hosts.count
        result.activeRequests = activeRequests.reduce(0, +)
        result.endpoints = hosts.indices.map { index in
            ClusterStats.EndpointStatus(
                address: hosts[index].address.description, weight: hosts[index].weight, ejected: isEjected(index),
                failingHealthCheck: failingHealthCheck.contains(hosts[index].address), activeRequests: activeRequests[index])
        }
        return result
    }

    /// True when outlier detection has `host` out of load balancing now.
    func isEjected(_ host: Int) -> Bool { detector?.isEjected(host) ?? false }

    private func armSweep() {
        guard let policy = detector?.policy else { return }
        if sweepTimer == nil {
            sweepTimer = try? TimerEvent(dispatcher: dispatcher) { [unowned self] in self.sweep() }
        }
        if sweepTimer?.isEnabled == false { sweepTimer?.enable(after: policy.interval) }
    }

    /// Every `interval` while any host is ejected or still working its count down.
    private func sweep() {
        guard var detector, let policy = config.outlierDetection else { return }
        dispatcher.updateApproximateMonotonicTime()  // a simulated clock may have moved within this iteration
        let returned = detector.sweep(now: dispatcher.approximateMonotonicTime)
        self.detector = detector
        if returned > 0 {
            ejectionsEnded += returned
            rebuildBalancer()
        }
        if detector.hosts.contains(where: { $0.ejections > 0 }) { sweepTimer?.enable(after: policy.interval) }
    }

    /// Balances over the hosts neither ejected nor failing their health check — or over all of
    /// them when too few are left (Envoy's panic threshold, 50 %, or the policy's `minHealthPercent`).
    private func rebuildBalancer() {
        var usable: [Int]?
        let ejected = detector?.ejectedCount ?? 0
        if ejected > 0 || !failingHealthCheck.isEmpty {
            let healthy = hosts.indices.filter { !isEjected($0) && !failingHealthCheck.contains(hosts[$0].address) }
            let minimum = detector?.policy.minHealthPercent ?? 0
            let panic = healthy.count * 100 < hosts.count * 50 || healthy.count * 100 < hosts.count * minimum
            if !panic { usable = healthy }
        }
        usableHosts = usable
        let chosen = usable ?? Array(hosts.indices)
        balancer.update(keys: chosen.map { hosts[$0].address.description }, weights: chosen.map { effectiveWeight(hosts[$0]) })
        armWarmup()
    }

    /// A host's weight, scaled by its warm-up. With a slow start every weight is multiplied by
    /// 1,000 so that a fraction of a small weight stays a whole number.
    private func effectiveWeight(_ host: ResolvedHost) -> UInt32 {
        guard let slowStart = config.slowStart else { return host.weight }
        var factor = 1.0
        if let since = warmingSince[host.address] { factor = slowStart.factor(age: dispatcher.approximateMonotonicTime - since) }
        return UInt32(max(1, min(Double(UInt32.max), (Double(host.weight) * 1_000 * factor).rounded())))
    }

    /// While a host warms up, its weight is recomputed in steps (a tenth of the window, at most
    /// a second apart); hosts past the window stop warming.
    private func armWarmup() {
        guard let slowStart = config.slowStart, !warmingSince.isEmpty else { return }
        if warmupTimer == nil {
            warmupTimer = try? TimerEvent(dispatcher: dispatcher) { [unowned self] in self.warmupStep() }
        }
        if warmupTimer?.isEnabled == false { warmupTimer?.enable(after: min(.seconds(1), slowStart.window / 10)) }
    }

    private func warmupStep() {
        guard let slowStart = config.slowStart else { return }
        dispatcher.updateApproximateMonotonicTime()  // a simulated clock may have moved within this iteration
        let now = dispatcher.approximateMonotonicTime
        warmingSince = warmingSince.filter { now - $0.value < slowStart.window }
        rebuildBalancer()
    }

    private func currentIndex(host: Int, address: SocketAddress) -> Int? {
        if host < hosts.count, hosts[host].address == address { return host }
        return hosts.firstIndex { $0.address == address }
    }

    /// The host for a request whose ``requestHash(_:)`` is `requestHash`, or nil when the cluster
    /// has none. Hosts in `avoiding` (tried already) are passed over: up to five picks by the policy, then any other host at random.
    func pickHost(hash requestHash: UInt64?, random: inout FastRandom, avoiding: [Int] = []) -> Int? {
        var hash = requestHash
        let counts = activeRequests
        let usable = usableHosts
        func pickOnce(_ hash: UInt64?) -> Int? {
            if let usable {
                return balancer.pick(hash: hash, random: &random) { counts[usable[$0]] }.map { usable[$0] }
            }
            return balancer.pick(hash: hash, random: &random) { counts[$0] }
        }
        var pick = pickOnce(hash)
        var tries = 1
        while let picked = pick, tries < 5, avoiding.contains(picked) {
            hash = hash.map { StableHash.mix($0 &+ 1) }  // another point on the ring
            pick = pickOnce(hash)
            tries += 1
        }
        if let picked = pick, avoiding.contains(picked) {
            // A small or lopsided ring can keep answering the same host: take another one at random.
            let others = (usable ?? Array(hosts.indices)).filter { !avoiding.contains($0) }
            if !others.isEmpty { pick = others[random.below(others.count)] }
        }
        return pick
    }

    /// The request's consistent-hash key hashed, when the cluster balances by ring hash.
    func requestHash(_ request: RouteRequest) -> UInt64? {
        hashKey?.hash(for: request)
    }

    /// True when one more retry fits the cluster's retry budget and `maxRetries`.
    func allowsRetry() -> Bool {
        if let limit = config.connectionPool.maxRetries, activeRetries >= limit { return false }
        return config.retryBudget.allowsRetry(activeRetries: activeRetries, activeRequests: activeRequests.reduce(0, +) + activeRetries)
    }

    func retryStarted() { activeRetries += 1 }

    func retryFinished() { activeRetries = max(0, activeRetries - 1) }

    func requestStarted(host: Int) {
        if host < activeRequests.count { activeRequests[host] += 1 }
    }

    func requestFinished(host: Int, address: SocketAddress) {
        // The host list may have changed under a request; find it by address then.
        if host < hosts.count, hosts[host].address == address {
            activeRequests[host] -= 1
        } else if let index = hosts.firstIndex(where: { $0.address == address }) {
            activeRequests[index] = max(0, activeRequests[index] - 1)
        }
    }
}
