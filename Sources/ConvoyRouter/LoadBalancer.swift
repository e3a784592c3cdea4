/// Picks endpoints for one cluster on one worker: the policy plus its per-worker state (round-robin
/// position, ring). Not `Sendable`: each worker keeps its own. The owning thread.
public struct LoadBalancer {
    /// The policy. The owning thread.
    public let policy: LoadBalancerPolicy
    /// Endpoints currently known. The owning thread.
    public private(set) var count: Int
    private var weights: [UInt32]
    private var cumulative: [UInt64]
    private var equalWeights: Bool
    private var cursor = 0
    private var smoothCurrent: [Int64]
    private var ring: HashRing?

    /// A balancer over endpoints with stable `keys` (their addresses) and `weights`. The owning thread.
    public init(policy: LoadBalancerPolicy, keys: [String], weights: [UInt32]) {
        self.policy = policy
        count = 0
        self.weights = []
        cumulative = []
        equalWeights = true
        smoothCurrent = []
        update(keys: keys, weights: weights)
    }

    /// Replaces the endpoint set (DNS re-resolution); positions start over. The owning thread.
    public mutating func update(keys: [String], weights: [UInt32]) {
        precondition(keys.count == weights.count, "LoadBalancer: one weight per key")
        count = keys.count
        self.weights = weights.map { max($0, 1) }
        var sum: UInt64 = 0
        cumulative = self.weights.map { sum += UInt64($0); return sum }
        equalWeights = Set(self.weights).count <= 1
        smoothCurrent = Array(repeating: 0, count: keys.count)
        cursor = 0
        if case .ringHash(_, let size) = policy {
            ring = HashRing(keys: keys, weights: self.weights, minimumSize: size)
        }
    }

    /// An endpoint index, or nil when there are none. `hash` is the request's key hash for ring
    /// hashing (nil: pick at random); `activeRequests` tells least-request how busy an endpoint is.
    /// The owning thread.
    public mutating func pick(hash: UInt64?, random: inout FastRandom, activeRequests: (Int) -> Int) -> Int? {
        guard count > 0 else { return nil }
        if count == 1 { return 0 }
        switch policy {
        case .roundRobin:
            return nextRoundRobin()
        case .random:
            return weightedRandom(&random)
        case .leastRequest:
            let first = weightedRandom(&random)
            var second = weightedRandom(&random)
            if second == first { second = (first + 1 + random.below(count - 1)) % count }
            // Compare active/weight without dividing: a·w_b vs b·w_a.
            let loadFirst = UInt64(activeRequests(first)) * UInt64(weights[second])
            let loadSecond = UInt64(activeRequests(second)) * UInt64(weights[first])
            return loadSecond < loadFirst ? second : first
        case .ringHash:
            if let hash, let found = ring?.endpoint(for: hash) { return found }
            return weightedRandom(&random)
        }
    }

    private mutating func nextRoundRobin() -> Int {
        if equalWeights {
            let chosen = cursor
            cursor = (cursor + 1) % count
            return chosen
        }
        // Smooth weighted round robin: every endpoint gains its weight, the richest is chosen and
        // pays the total, so picks interleave in proportion to the weights.
        var best = 0
        for index in 0..<count {
            smoothCurrent[index] += Int64(weights[index])
            if smoothCurrent[index] > smoothCurrent[best] { best = index }
        }
        smoothCurrent[best] -= Int64(cumulative[count - 1])
        return best
    }

    private func weightedRandom(_ random: inout FastRandom) -> Int {
        if equalWeights { return random.below(count) }
        let point = UInt64(random.below(Int(cumulative[count - 1])))
        var low = 0, high = count - 1
        while low < high {
            let middle = (low + high) / 2
            if cumulative[middle] > point { high = middle } else { low = middle + 1 }
        }
        return low
    }
}
