/// A consistent-hash ring (ketama style, Envoy's ring hash): each endpoint gets points in
/// proportion to its weight, at least `minimumSize` in all, at hashes of its stable key; a request
/// goes to the first point at or after its hash. Adding or removing one of N endpoints moves about
/// 1/N of the keys. Immutable; any thread.
public struct HashRing: Sendable {
    private let points: [UInt64]
    private let owners: [Int32]

    /// A ring over endpoints identified by `keys` (e.g. `10.0.0.1:8080`) with `weights`. Any thread.
    public init(keys: [String], weights: [UInt32], minimumSize: Int = 1024) {
        precondition(keys.count == weights.count, "HashRing: one weight per key")
        let total = weights.reduce(UInt64(0)) { $0 + UInt64($1) }
        var entries: [(UInt64, Int32)] = []
        if total > 0 {
            entries.reserveCapacity(max(minimumSize, keys.count) + keys.count)
            for (index, key) in keys.enumerated() where weights[index] > 0 {
                let share = (UInt64(minimumSize) * UInt64(weights[index]) + total - 1) / total
                for replica in 0..<max(share, 1) {
                    entries.append((StableHash.hash("\(key)_\(replica)"), Int32(index)))
                }
            }
        }
        entries.sort { $0.0 < $1.0 }
        points = entries.map(\.0)
        owners = entries.map(\.1)
    }

    /// True when no endpoint has weight. Any thread.
    public var isEmpty: Bool { points.isEmpty }

    /// The endpoint index for `hash`, or nil for an empty ring. Any thread.
    public func endpoint(for hash: UInt64) -> Int? {
        guard !points.isEmpty else { return nil }
        var low = 0, high = points.count
        while low < high {
            let middle = (low + high) / 2
            if points[middle] < hash { low = middle + 1 } else { high = middle }
        }
        return Int(owners[low == points.count ? 0 : low])
    }
}
