/// A timeout that is moved far more often than it fires — an idle timeout pushed back on every
/// request, a per-request deadline cancelled when the response ends — at the price of a store.
///
/// `enable(after:)` and `disable()` only record the deadline. The underlying ``TimerEvent`` is
/// armed when nothing earlier is armed; when it fires before the recorded deadline (the deadline
/// moved later meanwhile) it re-arms for the rest, and when the deadline was cleared it does
/// nothing. So a connection serving thousands of requests within one idle period touches
/// libevent's timer heap once per period instead of twice per request. The callback runs at the
/// deadline or slightly after (never before), on the dispatcher's thread; it may re-enable or
/// release the timer.
///
/// Deadlines are measured on the dispatcher's ``Dispatcher/approximateMonotonicTime`` (its
/// ``TimeSource``, so simulated clocks drive it in tests).
///
/// Confined to its dispatcher's thread.
public final class DeadlineTimer {
    /// The dispatcher whose thread runs the callback.
    public let dispatcher: Dispatcher

    private var timer: TimerEvent!
    private let callback: () -> Void
    /// When the callback is due; nil while disabled.
    @exclusivity(unchecked) private var deadline: MonotonicInstant?
    /// When the underlying timer will fire; nil while it is not armed.
    @exclusivity(unchecked) private var wakeup: MonotonicInstant?

    /// Creates a disabled timer. Dispatcher thread.
    /// - Throws: ``DispatcherError/libeventCallFailed(operation:errno:)`` when libevent cannot
    ///   allocate the event.
    public init(dispatcher: Dispatcher, _ callback: @escaping () -> Void) throws {
        self.dispatcher = dispatcher
        self.callback = callback
        timer = try TimerEvent(dispatcher: dispatcher) { [unowned self] in self.wokeUp() }
    }

    /// Sets the deadline to `delay` from now (negative counts as zero), replacing any earlier one.
    /// Dispatcher thread.
    public func enable(after delay: Duration) {
        let now = dispatcher.approximateMonotonicTime
        let due = now + max(delay, .zero)
        deadline = due
        if let wakeup, wakeup <= due { return }  // it fires first and re-arms for the rest
        wakeup = due
        timer.enable(after: due - now)
    }

    /// Sets the deadline to `deadline` on the dispatcher's clock (one already past fires in the
    /// next iteration), replacing any earlier one. Dispatcher thread.
    public func enable(at deadline: MonotonicInstant) {
        self.deadline = deadline
        if let wakeup, wakeup <= deadline { return }  // it fires first and re-arms for the rest
        wakeup = deadline
        let now = dispatcher.approximateMonotonicTime
        timer.enable(after: deadline > now ? deadline - now : .zero)
    }

    /// Clears the deadline; a no-op when there is none. Dispatcher thread.
    @inline(__always)
    public func disable() {
        deadline = nil
    }

    /// True from `enable(after:)` until the callback starts or `disable()` runs. Dispatcher thread.
    public var isEnabled: Bool { deadline != nil }

    private func wokeUp() {
        wakeup = nil
        guard let deadline else { return }
        dispatcher.updateApproximateMonotonicTime()  // fresh: a simulated clock fires timers from a posted task
        let now = dispatcher.approximateMonotonicTime
        if now < deadline {
            wakeup = deadline
            timer.enable(after: deadline - now)
            return
        }
        self.deadline = nil
        callback()
    }
}

@available(*, unavailable)
extension DeadlineTimer: Sendable {}
