#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Where a ``Dispatcher`` reads the time. Production code uses ``SystemTimeSource``; tests pass a
/// ``SimulatedTimeSource`` so that timers fire when the test advances time, never by sleeping.
/// Implementations must be safe to call from any thread.
public protocol TimeSource: Sendable {
    /// The current monotonic time. Any thread.
    func now() -> MonotonicInstant
}

/// The operating system's monotonic clock (`CLOCK_MONOTONIC`). Any thread.
public struct SystemTimeSource: TimeSource {
    /// Creates the system clock. Any thread.
    public init() {}

    /// Reads `CLOCK_MONOTONIC`. Any thread.
    @inline(__always)
    public func now() -> MonotonicInstant {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return MonotonicInstant(nanoseconds: UInt64(spec.tv_sec) &* 1_000_000_000 &+ UInt64(spec.tv_nsec))
    }
}
