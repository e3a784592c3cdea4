/// Counters a ``Dispatcher`` keeps about its own loop. Read them through ``Dispatcher/stats`` on
/// the dispatcher's thread (or after `run` returned); the value itself is a plain copy.
public struct DispatcherStats: Sendable, Equatable {
    /// Loop iterations started: one per pass of `event_base_loop(EVLOOP_ONCE)`. Any thread.
    public var iterations: UInt64 = 0
    /// Tasks given to ``Dispatcher/post(_:)`` that have run. Any thread.
    public var postedTasksRun: UInt64 = 0
    /// Objects given to ``Dispatcher/deferredDelete(_:)`` that have been released. Any thread.
    public var deferredDeletions: UInt64 = 0

    /// All zero. Any thread.
    public init() {}
}
