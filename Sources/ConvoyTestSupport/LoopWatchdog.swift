import ConvoyDispatcher

/// Guards a test's `run(.untilExit)` against hanging: if the loop is still running after
/// `timeout` of the dispatcher's clock, the watchdog records that it fired and makes the loop
/// exit, so the test fails with a message instead of stalling CI. Dispatcher thread.
public final class LoopWatchdog {
    /// True once the timeout passed before the test stopped the loop itself. Dispatcher thread.
    public private(set) var fired = false
    private var timer: TimerEvent?

    /// Arms the watchdog on `dispatcher` (real clock: use a generous timeout; it is a hang guard,
    /// not a timing assertion). Dispatcher thread.
    public init(dispatcher: Dispatcher, timeout: Duration = .seconds(60)) throws {
        timer = try TimerEvent(dispatcher: dispatcher) { [unowned self, unowned dispatcher] in
            self.fired = true
            dispatcher.exit()
        }
        timer?.enable(after: timeout)
    }

    /// Disarms the watchdog. Dispatcher thread.
    public func cancel() {
        timer?.disable()
        timer = nil
    }
}
