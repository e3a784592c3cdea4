import ConvoyNetwork
import ConvoyRouter

/// A cluster as one worker sees it: its current hosts, the worker's load balancer over them, and
/// active requests per host (for least-request). Confined to the worker's thread.
final class WorkerCluster {
    let config: ClusterConfig
    @exclusivity(unchecked) private(set) var hosts: [ResolvedHost]
    @exclusivity(unchecked) private(set) var activeRequests: [Int]
    @exclusivity(unchecked) private var balancer: LoadBalancer
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

    /// The host for `request`, or nil when the cluster has none.
    func pickHost(for request: RouteRequest, random: inout FastRandom) -> Int? {
        let hash = hashKey?.hash(for: request)
        let counts = activeRequests
        return balancer.pick(hash: hash, random: &random) { counts[$0] }
    }

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
