internal import CLibevent

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A one-shot timer on a ``Dispatcher``: Envoy's `Event::Timer`.
///
/// `enable(after:)` arms it (re-arming an armed timer moves its deadline), the callback runs once
/// on the dispatcher's thread when the deadline passes, and the timer may be re-armed or released
/// from inside its own callback. A zero delay fires in the next loop iteration, never the current
/// one, so a timer that keeps re-arming itself with zero cannot starve I/O. Releasing the last
/// reference disarms it.
///
/// Confined to its dispatcher's thread: every member traps when called from another thread.
public final class TimerEvent {
    /// The longest delay honoured; longer ones are clipped to it (about 68 years). Any thread.
    public static let maximumDelay = Duration.seconds(Int64(Int32.max))

    /// The dispatcher whose thread runs the callback.
    public let dispatcher: Dispatcher

    private let callback: () -> Void
    private var event: OpaquePointer?
    /// Set while armed on a simulated clock; owned by ``SimulatedTimerQueue``.
    @exclusivity(unchecked) var simulatedDeadline: MonotonicInstant?
    var simulatedSequence: UInt64 = 0

    /// Creates a disarmed timer. Dispatcher thread.
    /// - Throws: ``DispatcherError/libeventCallFailed(operation:errno:)`` when libevent cannot
    ///   allocate the event.
    public init(dispatcher: Dispatcher, _ callback: @escaping () -> Void) throws {
        dispatcher.preconditionOnThread("TimerEvent.init")
        self.dispatcher = dispatcher
        self.callback = callback
        event = event_new(dispatcher.base, -1, 0, timerTrampoline, Unmanaged.passUnretained(self).toOpaque())
        guard event != nil else {
            throw DispatcherError.libeventCallFailed(operation: "event_new for a timer on '\(dispatcher.name)'", errno: errno)
        }
    }

    deinit {
        if simulatedDeadline != nil { dispatcher.simulatedTimers?.remove(self) }
        if let event { event_free(event) }
    }

    /// Arms the timer to fire once after `delay`, replacing any earlier deadline. Negative delays
    /// count as zero, delays above ``maximumDelay`` are clipped to it; zero fires in the next loop
    /// iteration. Dispatcher thread.
    public func enable(after delay: Duration) {
        dispatcher.preconditionOnThread("TimerEvent.enable(after:)")
        if let simulatedTimers = dispatcher.simulatedTimers, let clock = dispatcher.simulatedClock {
            event_del(event)
            let clipped = delay < .zero ? .zero : min(delay, Self.maximumDelay)
            if clipped > .zero {
                simulatedTimers.schedule(self, deadline: clock.now() + clipped)
                return
            }
            if simulatedDeadline != nil { simulatedTimers.remove(self) }
        }
        var interval = Self.libeventInterval(for: delay)
        let result = event_add(event, &interval)
        trapUnless(result == 0, "TimerEvent.enable(after:): event_add failed on dispatcher '\(dispatcher.name)'")
    }

    /// Disarms the timer; a no-op when it is not armed. Dispatcher thread.
    public func disable() {
        dispatcher.preconditionOnThread("TimerEvent.disable()")
        if simulatedDeadline != nil { dispatcher.simulatedTimers?.remove(self) }
        event_del(event)
    }

    /// True from `enable(after:)` until the callback starts or `disable()` runs. Dispatcher thread.
    public var isEnabled: Bool {
        dispatcher.preconditionOnThread("TimerEvent.isEnabled")
        return simulatedDeadline != nil || event_pending(event, LibeventFlags.timeout, nil) != 0
    }

    /// `delay` as a `timeval`, clipped to `0...maximumDelay`. Delays under 2^64 attoseconds (about
    /// 18 s) — nearly all of them — take a fast path on Duration's two stored words:
    /// `Duration.components` costs about 200 instructions of 128-bit arithmetic.
    @inline(__always)
    static func libeventInterval(for delay: Duration) -> timeval {
        if delay._high == 0 {
            let microseconds = delay._low / 1_000_000_000_000
            return timeval(tv_sec: .init(microseconds / 1_000_000), tv_usec: .init(microseconds % 1_000_000))
        }
        if delay._high < 0 { return timeval(tv_sec: 0, tv_usec: 0) }
        return timeval(clippedDuration: min(delay, maximumDelay))
    }

    /// Queues the callback for the current loop iteration; used by the simulated clock when the
    /// deadline has been reached.
    func activateForSimulatedDeadline() {
        event_active(event, Int32(EV_TIMEOUT), 0)
    }

    fileprivate func fire() {
        callback()
    }
}

@available(*, unavailable)
extension TimerEvent: Sendable {}

private func timerTrampoline(_: Int32, _: Int16, _ context: UnsafeMutableRawPointer?) {
    // A strong reference for the duration of the call: the callback may drop the last other one.
    let timer = Unmanaged<TimerEvent>.fromOpaque(context!).takeUnretainedValue()
    timer.fire()
}
