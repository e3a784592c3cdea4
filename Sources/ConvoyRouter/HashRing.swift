/// A consistent-hash ring (ketama style): each endpoint gets points in proportion to its weight,
/// at least `minimumSize` in all, at hashes of its stable key; a request
/// goes to the first point at or after its hash. Adding or removing one of N endpoints moves about
/// 1/N of the keys. Immutable; any thread.
public struct HashRing: Sendable {
    private let points: [UInt64]
    private let owners: [Int32]

    /// A ring over endpoints identified by `keys` (e.g. `10.0.0.1:8080`) with `weights`. Any thread.
    public init(keys: [String], weights: [UInt32], minimumSize: Int = 1024) {
        precondition(keys.count == weights.count, "HashRing: one weight per key")
        // Ketama's 160 points per unit of weight (relative to the lightest endpoint), scaled up by
        // a whole factor until the ring reaches `minimumSize`. An endpoint's points do not depend
        // on the others (unless the factor changes), so keys of the endpoints that stay never move.
        var entries: [(UInt64, Int32)] = []
        let lightest = weights.filter { $0 > 0 }.min() ?? 0
        if lightest > 0 {
            let base = weights.map { $0 == 0 ? 0 : (160 * UInt64($0) + UInt64(lightest) - 1) / UInt64(lightest) }
            let total = base.reduce(0, +)
            let factor = max(1, (UInt64(minimumSize) + total - 1) / total)
            let cap = UInt64(8 << 20)
            let scale = min(factor, max(1, cap / total))
            entries.reserveCapacity(Int(total * scale))
            for (index, key) in keys.enumerated() where base[index] > 0 {
                for replica in 0..<(base[index] * scale) {
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
