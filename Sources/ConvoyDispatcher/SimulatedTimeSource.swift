import Synchronization

/// A clock that only moves when told to, for tests: timers on a ``Dispatcher`` created with it
/// fire when ``advance(by:)`` (or ``advance(to:)``) passes their deadline, not when wall time
/// passes. Tests never sleep.
///
/// Advancing moves the clock, then posts to every dispatcher using this clock a task that fires
/// its timers that are now due, in deadline order; they run when that dispatcher next runs an
/// iteration. A zero-delay timer fires in the next iteration without any advance.
///
/// All members: any thread.
public final class SimulatedTimeSource: TimeSource {
    private struct State {
        var now: MonotonicInstant
        var dispatchers: [WeakDispatcher]
    }

    private struct WeakDispatcher {
        weak var dispatcher: Dispatcher?
    }

    private let state: Mutex<State>

    /// Starts the clock at `start` (default: one second past its origin). Any thread.
    public init(start: MonotonicInstant = MonotonicInstant(nanoseconds: 1_000_000_000)) {
        state = Mutex(State(now: start, dispatchers: []))
    }

    /// The simulated time. Any thread.
    public func now() -> MonotonicInstant {
        state.withLock { $0.now }
    }

    /// Moves the clock forward by `duration` (negative durations trap) and lets due timers fire.
    /// Any thread.
    public func advance(by duration: Duration) {
        trapUnless(duration >= .zero, "SimulatedTimeSource.advance(by:) needs a non-negative duration, got \(duration)")
        advance(to: now() + duration)
    }

    /// Moves the clock forward to `instant` (moving backwards traps) and lets due timers fire.
    /// Any thread.
    public func advance(to instant: MonotonicInstant) {
        let dispatchers: [Dispatcher] = state.withLock { state in
            trapUnless(instant >= state.now, "SimulatedTimeSource.advance(to:) cannot move time backwards (\(state.now) → \(instant))")
            state.now = instant
            state.dispatchers.removeAll { $0.dispatcher == nil }
            return state.dispatchers.compactMap(\.dispatcher)
        }
        for dispatcher in dispatchers {
            dispatcher.post { [weak dispatcher] in dispatcher?.fireDueSimulatedTimers() }
        }
    }

    func register(_ dispatcher: Dispatcher) {
        state.withLock { $0.dispatchers.append(WeakDispatcher(dispatcher: dispatcher)) }
    }
}

/// The armed timers of one dispatcher whose clock is simulated. Dispatcher thread only.
final class SimulatedTimerQueue {
    private var armed: [ObjectIdentifier: Unmanaged<TimerEvent>] = [:]
    private var nextSequence: UInt64 = 0

    func schedule(_ timer: TimerEvent, deadline: MonotonicInstant) {
        timer.simulatedDeadline = deadline
        timer.simulatedSequence = nextSequence
        nextSequence &+= 1
        armed[ObjectIdentifier(timer)] = .passUnretained(timer)
    }

    func remove(_ timer: TimerEvent) {
        timer.simulatedDeadline = nil
        armed[ObjectIdentifier(timer)] = nil
    }

    /// Queues every timer whose deadline is at or before `now` for this iteration, earliest first.
    func fireDue(at now: MonotonicInstant) {
        let due = armed.values
            .map { $0.takeUnretainedValue() }
            .filter { $0.simulatedDeadline! <= now }
            .sorted { ($0.simulatedDeadline!, $0.simulatedSequence) < ($1.simulatedDeadline!, $1.simulatedSequence) }
        for timer in due {
            remove(timer)
            timer.activateForSimulatedDeadline()
        }
    }
}
