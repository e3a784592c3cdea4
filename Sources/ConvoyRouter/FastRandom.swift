/// A small, fast pseudo-random generator (SplitMix64) for load balancing and weighted picks; one
/// per worker, seeded from the system generator. Not for secrets. The owning thread.
public struct FastRandom: RandomNumberGenerator {
    private var state: UInt64

    /// A generator seeded from `SystemRandomNumberGenerator`. Any thread.
    public init() {
        var system = SystemRandomNumberGenerator()
        state = system.next()
    }

    /// A generator with a fixed seed (tests). Any thread.
    public init(seed: UInt64) {
        state = seed
    }

    /// The next 64 random bits. The owning thread.
    @inline(__always)
    public mutating func next() -> UInt64 {
        state = state &+ 0x9e37_79b9_7f4a_7c15
        return StableHash.mix(state &- 0x9e37_79b9_7f4a_7c15)
    }

    /// True with probability `percentage` / 100 (0 never, 100 always). The owning thread.
    @inline(__always)
    public mutating func chance(percent percentage: Double) -> Bool {
        if percentage >= 100 { return true }
        guard percentage > 0 else { return false }
        return Double(next() >> 11) * (100.0 / 9_007_199_254_740_992.0) < percentage  // uniform in [0, 100)
    }

    /// A value in `0..<bound` (`bound` > 0), with negligible bias. The owning thread.
    @inline(__always)
    public mutating func below(_ bound: Int) -> Int {
        Int(truncatingIfNeeded: next().multipliedFullWidth(by: UInt64(bound)).high)
    }
}
