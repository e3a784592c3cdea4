internal import CLibevent

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A callback that runs when explicitly scheduled: Envoy's `SchedulableCallback`.
///
/// ``scheduleCurrentIteration()`` runs it later in the iteration that is running now (after the
/// work already queued); ``scheduleNextIteration()`` runs it in the next iteration, after that
/// iteration's I/O. Scheduling an already scheduled callback does nothing. It may be rescheduled
/// or released from inside its own callback; releasing it cancels it.
///
/// Confined to its dispatcher's thread: every member traps when called from another thread.
public final class ScheduledCallback {
    /// The dispatcher whose thread runs the callback.
    public let dispatcher: Dispatcher

    private let callback: () -> Void
    private var event: OpaquePointer?

    /// Creates an unscheduled callback. Dispatcher thread.
    /// - Throws: ``DispatcherError/libeventCallFailed(operation:errno:)`` when libevent cannot
    ///   allocate the event.
    public init(dispatcher: Dispatcher, _ callback: @escaping () -> Void) throws {
        dispatcher.preconditionOnThread("ScheduledCallback.init")
        self.dispatcher = dispatcher
        self.callback = callback
        event = event_new(dispatcher.base, -1, 0, scheduledCallbackTrampoline, Unmanaged.passUnretained(self).toOpaque())
        guard event != nil else {
            throw DispatcherError.libeventCallFailed(operation: "event_new for a scheduled callback on '\(dispatcher.name)'", errno: errno)
        }
    }

    deinit {
        if let event { event_free(event) }
    }

    /// Runs the callback later in the current loop iteration. Dispatcher thread.
    public func scheduleCurrentIteration() {
        dispatcher.preconditionOnThread("ScheduledCallback.scheduleCurrentIteration()")
        guard event_pending(event, LibeventFlags.timeout, nil) == 0 else { return }
        event_active(event, Int32(EV_TIMEOUT), 0)
    }

    /// Runs the callback in the next loop iteration. Dispatcher thread.
    public func scheduleNextIteration() {
        dispatcher.preconditionOnThread("ScheduledCallback.scheduleNextIteration()")
        guard event_pending(event, LibeventFlags.timeout, nil) == 0 else { return }
        var zero = timeval(tv_sec: 0, tv_usec: 0)
        let result = event_add(event, &zero)
        trapUnless(result == 0, "ScheduledCallback.scheduleNextIteration(): event_add failed on '\(dispatcher.name)'")
    }

    /// Unschedules the callback; a no-op when it is not scheduled. Dispatcher thread.
    public func cancel() {
        dispatcher.preconditionOnThread("ScheduledCallback.cancel()")
        event_del(event)
    }

    /// True while scheduled and not yet run. Dispatcher thread.
    public var isEnabled: Bool {
        dispatcher.preconditionOnThread("ScheduledCallback.isEnabled")
        return event_pending(event, LibeventFlags.timeout, nil) != 0
    }

    fileprivate func fire() {
        callback()
    }
}

@available(*, unavailable)
extension ScheduledCallback: Sendable {}

private func scheduledCallbackTrampoline(_: Int32, _: Int16, _ context: UnsafeMutableRawPointer?) {
    let scheduled = Unmanaged<ScheduledCallback>.fromOpaque(context!).takeUnretainedValue()
    scheduled.fire()
}
