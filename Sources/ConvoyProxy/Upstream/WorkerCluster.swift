import ConvoyNetwork
import ConvoyRouter

/// A cluster as one worker sees it: its current hosts, the worker's load balancer over them, and
/// active requests per host (for least-request). Confined to the worker's thread.
final class WorkerCluster {
    let config: ClusterConfig
    @exclusivity(unchecked) private(set) var hosts: [ResolvedHost]
    @exclusivity(unchecked) private(set) var activeRequests: [Int]
    @exclusivity(unchecked) private var balancer: LoadBalancer
    /// Requests of this cluster waiting for, or making, a retry.
    @exclusivity(unchecked) private(set) var activeRetries = 0
    private let hashKey: HashKey?

    init(config: ClusterConfig, hosts: [ResolvedHost]) {
        self.config = config
        self.hosts = hosts
        activeRequests = Array(repeating: 0, count: hosts.count)
        balancer = LoadBalancer(policy: config.loadBalancer, keys: hosts.map { $0.address.description }, weights: hosts.map(\.weight))
        if case .ringHash(let key, _) = config.loadBalancer { hashKey = key } else { hashKey = nil }
    }

    /// Replaces the hosts (DNS changed). Active-request counts of hosts that stay are kept.
    func update(hosts newHosts: [ResolvedHost]) {
        let previous = Dictionary(zip(hosts.map(\.address), activeRequests), uniquingKeysWith: { first, _ in first })
        hosts = newHosts
        activeRequests = newHosts.map { previous[$0.address] ?? 0 }
        balancer.update(keys: newHosts.map { $0.address.description }, weights: newHosts.map(\.weight))
    }

    /// The host for `request`, or nil when the cluster has none. Hosts in `avoiding` (tried
    /// already) are passed over: up to five picks by the policy, then any other host at random.
    func pickHost(for request: RouteRequest, random: inout FastRandom, avoiding: [Int] = []) -> Int? {
        var hash = hashKey?.hash(for: request)
        let counts = activeRequests
        var pick = balancer.pick(hash: hash, random: &random) { counts[$0] }
        var tries = 1
        while let picked = pick, tries < 5, avoiding.contains(picked) {
            hash = hash.map { StableHash.mix($0 &+ 1) }  // another point on the ring
            pick = balancer.pick(hash: hash, random: &random) { counts[$0] }
            tries += 1
        }
        if let picked = pick, avoiding.contains(picked) {
            // A small or lopsided ring can keep answering the same host: take another one at random.
            let others = hosts.indices.filter { !avoiding.contains($0) }
            if !others.isEmpty { pick = others[random.below(others.count)] }
        }
        return pick
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
