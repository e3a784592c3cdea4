/// A point on a monotonic clock, in nanoseconds since that clock's arbitrary origin.
/// A plain value: any thread.
public struct MonotonicInstant: Comparable, Hashable, Sendable, CustomStringConvertible {
    /// Nanoseconds since the clock's origin (boot, for ``SystemTimeSource``). Any thread.
    public var nanoseconds: UInt64

    /// Creates an instant. Any thread.
    public init(nanoseconds: UInt64) { self.nanoseconds = nanoseconds }

    /// Orders instants. Any thread.
    public static func < (lhs: MonotonicInstant, rhs: MonotonicInstant) -> Bool {
        lhs.nanoseconds < rhs.nanoseconds
    }

    /// The instant `duration` later; negative durations move earlier, saturating at the origin and
    /// at `UInt64.max`. Any thread.
    public static func + (lhs: MonotonicInstant, rhs: Duration) -> MonotonicInstant {
        let delta = rhs.nanosecondsClamped
        if delta >= 0 {
            let (sum, overflow) = lhs.nanoseconds.addingReportingOverflow(UInt64(delta))
            return MonotonicInstant(nanoseconds: overflow ? .max : sum)
        }
        let magnitude = delta.magnitude
        return MonotonicInstant(nanoseconds: lhs.nanoseconds > magnitude ? lhs.nanoseconds - magnitude : 0)
    }

    /// The signed time from `rhs` to `lhs`. Any thread.
    public static func - (lhs: MonotonicInstant, rhs: MonotonicInstant) -> Duration {
        if lhs >= rhs {
            return .nanoseconds(Int64(clamping: lhs.nanoseconds - rhs.nanoseconds))
        }
        return .nanoseconds(-Int64(clamping: rhs.nanoseconds - lhs.nanoseconds))
    }

    /// Seconds with nanosecond decimals. Any thread.
    public var description: String {
        let fraction = String(nanoseconds % 1_000_000_000)
        return "\(nanoseconds / 1_000_000_000).\(String(repeating: "0", count: 9 - fraction.count))\(fraction)s"
    }
}

extension Duration {
    /// The duration in whole nanoseconds (rounded toward zero), clamped to `Int64`'s range.
    /// Straight from Duration's two stored words: `components` costs about 200 instructions of
    /// 128-bit arithmetic, and timers convert a duration on every arm.
    var nanosecondsClamped: Int64 {
        if _high == 0 { return Int64(_low / 1_000_000_000) }  // under 2^64 attoseconds, about 18 s
        let attoseconds = Int128(_high) << 64 | Int128(_low)
        return Int64(clamping: attoseconds / 1_000_000_000)
    }
}
