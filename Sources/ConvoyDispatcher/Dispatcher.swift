internal import CLibevent

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// An event loop bound to one OS thread: Envoy's `Event::Dispatcher` over a libevent
/// `event_base`.
///
/// Everything a dispatcher runs — file events, timers, scheduled callbacks, signals, posted tasks
/// and deferred deletions — runs on the thread that calls ``run(_:)``. Objects created against a
/// dispatcher (``FileEvent``, ``TimerEvent``, ``ScheduledCallback``, ``SignalEvent``) are confined
/// to that thread and trap when used from another one.
///
/// ## Threads
/// Only ``post(_:)``, ``exit()``, ``isThreadSafe`` and ``name`` may be used from any thread. Every
/// other member must be called on the dispatcher's thread: the thread that ran it, or, before it
/// has ever run, any thread (set-up happens before the loop starts).
///
/// ## One loop iteration
/// 1. Wait for readiness (epoll), bounded by the earliest timer; `run(.nonBlock)` does not wait.
/// 2. Run ready file events, then expired timers, zero-delay timers, ``FileEvent/activate(_:)``
///    injections and ``ScheduledCallback/scheduleNextIteration()`` callbacks.
/// 3. Run what was scheduled for the current iteration while step 2 ran: the deferred-delete
///    list is cleared (FIFO), posted tasks run (FIFO, after clearing the deferred list again), and
///    ``ScheduledCallback/scheduleCurrentIteration()`` callbacks run.
///
/// libevent 2.1 has no prepare/check hooks, so the dispatcher drives one
/// `event_base_loop(EVLOOP_ONCE)` per iteration itself; ``approximateMonotonicTime`` is read from
/// the ``TimeSource`` at most once per iteration, on first use after the wait.
public final class Dispatcher: @unchecked Sendable {
    // Thread-safety: `name`, `timeSource`, `base` and the internal events are immutable after
    // init; `postQueue`, `runThread` and `exitRequested` are synchronised; every other stored
    // property is confined to the dispatcher's thread. Those are `@exclusivity(unchecked)`: one
    // thread touches them and no access overlaps another (batches are swapped into locals before
    // they are walked), while the dynamic checks cost ~120 instructions per posted task.

    /// How long ``run(_:)`` keeps looping. Any thread.
    public enum RunMode: Sendable {
        /// Loop until nothing is registered any more (no enabled events, no pending work) or
        /// ``exit()`` is called.
        case block
        /// Run one iteration without waiting: whatever is ready now runs, then `run` returns.
        case nonBlock
        /// Loop, waiting even when nothing is registered, until ``exit()`` is called.
        case untilExit
    }

    /// The dispatcher's name, e.g. `main_thread` or `worker_1`: a stats and log prefix. Any thread.
    public let name: String

    /// The clock timers and ``approximateMonotonicTime`` use. Any thread.
    public let timeSource: any TimeSource

    let base: OpaquePointer
    let simulatedClock: SimulatedTimeSource?
    let simulatedTimers: SimulatedTimerQueue?

    private let runThread = Atomic<UInt>(0)
    private let exitRequested = Atomic<Bool>(false)
    private let postQueue = QueueLock(DrainableVector<PostedTask>())
    @exclusivity(unchecked) private var spareTaskBatch = DrainableVector<PostedTask>()
    @exclusivity(unchecked) private var postEvent: OpaquePointer?
    @exclusivity(unchecked) private var deferredDeleteEvent: OpaquePointer?
    /// Other threads write a byte here to wake the loop (post, exit); the loop reads it back.
    private let wakePipe: (read: Int32, write: Int32)
    @exclusivity(unchecked) private var wakeEvent: OpaquePointer?
    @exclusivity(unchecked) private var pendingDeletes = DrainableVector<any DeferredDeletable>()
    @exclusivity(unchecked) private var spareDeleteBatch = DrainableVector<any DeferredDeletable>()
    @exclusivity(unchecked) private var iterationEndQueue = DrainableVector<any IterationEndWork>()
    @exclusivity(unchecked) private var spareIterationEndBatch = DrainableVector<any IterationEndWork>()
    @exclusivity(unchecked) private var isClearingDeletes = false
    @exclusivity(unchecked) private var isRunning = false
    @usableFromInline @exclusivity(unchecked) var cachedTime: MonotonicInstant
    @usableFromInline @exclusivity(unchecked) var cachedTimeIsFresh = true
    @exclusivity(unchecked) private var statistics = DispatcherStats()

    /// Creates a dispatcher with its own libevent base. Any thread; the dispatcher then belongs to
    /// the first thread that runs it.
    /// - Parameters:
    ///   - name: a short name used in logs, stats and trap messages.
    ///   - timeSource: the clock; pass a ``SimulatedTimeSource`` in tests.
    /// - Throws: ``DispatcherError/libeventCallFailed(operation:errno:)`` when libevent cannot
    ///   create the base or its internal events.
    public init(name: String, timeSource: any TimeSource = SystemTimeSource()) throws {
        trapUnless(LibeventRuntime.isInitialized, "evthread_use_pthreads() failed: libevent was built without thread support")
        // No lock inside the base: only the dispatcher's thread touches it. The two calls that
        // may come from other threads, post and exit, wake the loop through `wakePipe` instead.
        guard let config = event_config_new() else {
            throw DispatcherError.libeventCallFailed(operation: "event_config_new for dispatcher '\(name)'", errno: errno)
        }
        event_config_set_flag(config, Int32(EVENT_BASE_FLAG_NOLOCK.rawValue))
        let newBase = event_base_new_with_config(config)
        event_config_free(config)
        guard let base = newBase else {
            throw DispatcherError.libeventCallFailed(operation: "event_base_new for dispatcher '\(name)'", errno: errno)
        }
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else {
            let code = errno
            event_base_free(base)
            throw DispatcherError.libeventCallFailed(operation: "pipe for dispatcher '\(name)'", errno: code)
        }
        for fd in fds {
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        }
        wakePipe = (fds[0], fds[1])
        self.name = name
        self.timeSource = timeSource
        self.base = base
        self.simulatedClock = timeSource as? SimulatedTimeSource
        self.simulatedTimers = simulatedClock == nil ? nil : SimulatedTimerQueue()
        self.cachedTime = timeSource.now()

        let context = Unmanaged.passUnretained(self).toOpaque()
        postEvent = event_new(base, -1, 0, dispatcherPostTrampoline, context)
        deferredDeleteEvent = event_new(base, -1, 0, dispatcherDeferredDeleteTrampoline, context)
        wakeEvent = event_new(base, wakePipe.read, Int16(EV_READ | EV_PERSIST), dispatcherWakeTrampoline, context)
        guard postEvent != nil, deferredDeleteEvent != nil, wakeEvent != nil, event_add(wakeEvent, nil) == 0 else {
            throw DispatcherError.libeventCallFailed(operation: "event_new for dispatcher '\(name)' internals", errno: errno)
        }
        simulatedClock?.register(self)
    }

    deinit {
        while !pendingDeletes.isEmpty { clearDeferredDeleteList() }
        postQueue.withLock { $0.drain { _ in } }
        if let postEvent { event_free(postEvent) }
        if let deferredDeleteEvent { event_free(deferredDeleteEvent) }
        if let wakeEvent { event_free(wakeEvent) }
        event_base_free(base)
        close(wakePipe.read)
        close(wakePipe.write)
    }

    // MARK: - Any thread

    /// True when the caller may use this dispatcher's thread-confined API: the dispatcher has
    /// never run, or the caller is the thread that runs it. Any thread.
    @inline(__always)
    public var isThreadSafe: Bool {
        let owner = runThread.load(ordering: .relaxed)
        return owner == 0 || owner == ThreadIdentity.current
    }

    /// True when the caller is the thread running this dispatcher now (not merely allowed to
    /// touch it because it never ran).
    var isRunningOnCurrentThread: Bool {
        let owner = runThread.load(ordering: .relaxed)
        return owner != 0 && owner == ThreadIdentity.current
    }

    /// Queues `task` to run on the dispatcher's thread, in FIFO order with the other posted tasks.
    /// Any thread, including the dispatcher's own and from inside a posted task (such a task runs
    /// in a later pass). The loop is woken once per batch: only the post that finds the queue
    /// empty signals it. Tasks run with the queue's lock released. Tasks still queued when the
    /// dispatcher is destroyed are dropped without running.
    public func post(_ task: consuming @escaping @Sendable () -> Void) {
        postQueue.lock()
        postQueue.lockedValue.append(PostedTask(run: task))
        let wasEmpty = postQueue.lockedValue.count == 1
        postQueue.unlock()
        if wasEmpty {
            if isRunningOnCurrentThread {
                event_active(postEvent, Int32(EV_TIMEOUT), 0)
            } else {
                wake()
            }
        }
    }

    /// Makes the loop's next (or current) wait return. Any thread.
    private func wake() {
        var byte: UInt8 = 1
        while write(wakePipe.write, &byte, 1) < 0 && errno == EINTR {}
        // EAGAIN: the pipe is full of wake-ups the loop has not read yet; one more adds nothing.
    }

    /// The pipe was written: drain it and run what was posted. Dispatcher thread.
    fileprivate func wokenUp() {
        var buffer = (UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0))
        while withUnsafeMutableBytes(of: &buffer, { read(wakePipe.read, $0.baseAddress, $0.count) }) == MemoryLayout.size(ofValue: buffer) {}
        runPostedTasks()
    }

    /// Asks the loop to return after the current iteration. Any thread. If the dispatcher is not
    /// running, the next ``run(_:)`` returns after its first iteration.
    public func exit() {
        exitRequested.store(true, ordering: .sequentiallyConsistent)
        if isRunningOnCurrentThread {
            event_base_loopexit(base, nil)
        } else {
            wake()
        }
    }

    // MARK: - Dispatcher thread

    /// Runs the loop on the calling thread, which from then on is the dispatcher's thread.
    /// Traps when called from another thread than an earlier `run`, or re-entrantly from a
    /// callback.
    public func run(_ mode: RunMode) {
        trapUnless(isThreadSafe, "Dispatcher '\(name)': run(_:) called on a thread other than the one that ran it before")
        trapUnless(!isRunning, "Dispatcher '\(name)': run(_:) called re-entrantly from one of its own callbacks")
        runThread.store(ThreadIdentity.current, ordering: .sequentiallyConsistent)
        isRunning = true
        defer {
            isRunning = false
            exitRequested.store(false, ordering: .sequentiallyConsistent)
        }
        switch mode {
        case .nonBlock:
            runIteration(flags: EVLOOP_NONBLOCK | EVLOOP_ONCE)
        case .block:
            repeat {
                // Work queued outside the loop runs first: it may be all there is to do.
                runQueuedIterationEndWork()
                guard hasWorkBesidesWakeups else {
                    // Nothing registered but the wake-up pipe's event: one last iteration that
                    // does not wait (as libevent's own loop makes when it finds nothing), done.
                    runIteration(flags: EVLOOP_NONBLOCK | EVLOOP_ONCE)
                    break
                }
                runIteration(flags: EVLOOP_ONCE)
            } while !exitRequested.load(ordering: .relaxed)
        case .untilExit:
            repeat {
                runIteration(flags: EVLOOP_ONCE | EVLOOP_NO_EXIT_ON_EMPTY)
            } while !exitRequested.load(ordering: .relaxed)
        }
    }

    /// Registered or active events other than the wake-up pipe's, or posted tasks waiting.
    private var hasWorkBesidesWakeups: Bool {
        let counted = event_base_get_num_events(base, EVENT_BASE_COUNT_ADDED | EVENT_BASE_COUNT_ACTIVE | EVENT_BASE_COUNT_VIRTUAL)
        if counted > 1 { return true }
        postQueue.lock()
        defer { postQueue.unlock() }
        return !postQueue.lockedValue.isEmpty
    }

    @discardableResult
    private func runIteration(flags: Int32) -> Int32 {
        cachedTimeIsFresh = false
        statistics.iterations &+= 1
        runQueuedIterationEndWork()  // queued outside the loop: before it waits
        let result = event_base_loop(base, flags)
        trapUnless(result >= 0, "Dispatcher '\(name)': event_base_loop failed")
        runQueuedIterationEndWork()
        return result
    }

    /// Runs `work` as soon as the current callback is over: right after the callback of a ready
    /// descriptor returns (before the next descriptor is handled), or, for work queued by timers,
    /// posted tasks and scheduled callbacks, once the loop iteration's events have run and before
    /// the loop waits again (outside the loop: first thing in the next iteration). Each call
    /// queues one run; work queued while the queue runs runs in the same round. Dispatcher thread.
    package func runAtIterationEnd(_ work: any IterationEndWork) {
        assert(isThreadSafe, "Dispatcher '\(name)': runAtIterationEnd(_:) called off its thread")
        iterationEndQueue.append(work)
    }

    /// Runs what ``runAtIterationEnd(_:)`` queued, now: after each ready descriptor's callback
    /// (so what one event wrote leaves before the next event is handled, as nginx's writes do)
    /// and around each `event_base_loop`. Dispatcher thread.
    @inline(__always)
    func runQueuedIterationEndWork() {
        if !iterationEndQueue.isEmpty { runIterationEndWork() }
    }

    private func runIterationEndWork() {
        while !iterationEndQueue.isEmpty {
            var batch = DrainableVector<any IterationEndWork>()
            batch.exchange(with: &spareIterationEndBatch)
            batch.exchange(with: &iterationEndQueue)
            batch.drain { work in work.runAtIterationEnd() }
            batch.exchange(with: &spareIterationEndBatch)
        }
    }

    /// A monotonic time read at most once per loop iteration (on first use after the wait), so
    /// hot paths can ask for "now" for free. Dispatcher thread.
    ///
    /// Inlined into callers: the common case is two loads, without a call that would also have
    /// the caller retain and release the dispatcher around it.
    @inlinable
    public var approximateMonotonicTime: MonotonicInstant {
        assert(isThreadSafe, "Dispatcher '\(name)': approximateMonotonicTime read off its thread")
        if !cachedTimeIsFresh { refreshCachedTime() }
        return cachedTime
    }

    /// Reads the clock into the cache. Dispatcher thread.
    @usableFromInline
    func refreshCachedTime() {
        cachedTime = timeSource.now()
        cachedTimeIsFresh = true
    }

    /// Re-reads the clock into ``approximateMonotonicTime`` now. Dispatcher thread.
    public func updateApproximateMonotonicTime() {
        trapUnless(isThreadSafe, "Dispatcher '\(name)': updateApproximateMonotonicTime() called off its thread")
        refreshCachedTime()
    }

    /// Loop counters: iterations, posted tasks run, deferred deletions. Dispatcher thread, or any
    /// thread once `run` has returned and the caller synchronised with it.
    public var stats: DispatcherStats { statistics }

    /// Keeps `object` alive until the end of the current loop iteration, then releases the
    /// dispatcher's reference — strictly in the order objects were handed over. Calls the object's
    /// ``DeferredDeletable/deleteIsPending()`` at once. An object deferred while the list is being
    /// cleared (say, from a `deinit`) is released by the next clear. Dispatcher thread.
    public func deferredDelete(_ object: consuming any DeferredDeletable) {
        trapUnless(isThreadSafe, "Dispatcher '\(name)': deferredDelete(_:) called off its thread")
        let object = consume object  // an owned binding: the call below borrows it, append moves it
        object.deleteIsPending()
        pendingDeletes.append(object)
        if pendingDeletes.count == 1 {
            event_active(deferredDeleteEvent, Int32(EV_TIMEOUT), 0)
        }
    }

    /// Releases every object queued by ``deferredDelete(_:)`` now, FIFO. Re-entrant calls (from a
    /// `deinit` it triggers) return at once. Dispatcher thread.
    public func clearDeferredDeleteList() {
        assert(isThreadSafe, "Dispatcher '\(name)': clearDeferredDeleteList() called off its thread")
        guard !isClearingDeletes, !pendingDeletes.isEmpty else { return }
        isClearingDeletes = true
        // Swap the list out so that objects deferred by a deinit during the clear land in
        // `pendingDeletes` (the next clear) and never in the batch being walked.
        var batch = DrainableVector<any DeferredDeletable>()
        batch.exchange(with: &spareDeleteBatch)
        batch.exchange(with: &pendingDeletes)
        let released = UInt64(batch.count)
        batch.drain { _ in }  // each object is released here, in the order it was deferred
        statistics.deferredDeletions &+= released
        batch.exchange(with: &spareDeleteBatch)
        isClearingDeletes = false
    }

    fileprivate func runPostedTasks() {
        clearDeferredDeleteList()
        var batch = DrainableVector<PostedTask>()
        batch.exchange(with: &spareTaskBatch)
        postQueue.withLock { queue in queue.exchange(with: &batch) }
        let ran = UInt64(batch.count)
        batch.drain { task in task.run() }  // each task is destroyed before the next one runs
        statistics.postedTasksRun &+= ran
        batch.exchange(with: &spareTaskBatch)
    }

    /// Fires the simulated timers that are due; posted by ``SimulatedTimeSource`` after it moves.
    func fireDueSimulatedTimers() {
        guard let simulatedClock, let simulatedTimers else { return }
        simulatedTimers.fireDue(at: simulatedClock.now())
    }

    /// Traps with a message naming `operation` when the caller is not on this dispatcher's thread.
    @inline(__always)
    func preconditionOnThread(_ operation: @autoclosure () -> String) {
        trapUnless(isThreadSafe, "\(operation()) called off the thread of dispatcher '\(name)'")
    }
}

/// A posted closure, wrapped so that generic storage holds it at its natural abstraction: a bare
/// `() -> Void` stored in a generic container is re-abstracted through a thunk whose context is a
/// heap allocation per task.
private struct PostedTask {
    let run: @Sendable () -> Void
}

private func dispatcherPostTrampoline(_: Int32, _: Int16, _ context: UnsafeMutableRawPointer?) {
    Unmanaged<Dispatcher>.fromOpaque(context!).takeUnretainedValue().runPostedTasks()
}

private func dispatcherWakeTrampoline(_: Int32, _: Int16, _ context: UnsafeMutableRawPointer?) {
    Unmanaged<Dispatcher>.fromOpaque(context!).takeUnretainedValue().wokenUp()
}

private func dispatcherDeferredDeleteTrampoline(_: Int32, _: Int16, _ context: UnsafeMutableRawPointer?) {
    Unmanaged<Dispatcher>.fromOpaque(context!).takeUnretainedValue().clearDeferredDeleteList()
}
