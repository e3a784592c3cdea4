#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
internal import CLibevent

/// A lock guarding a value, for the dispatcher's post queue: on Linux a futex lock of our own
/// (`convoy_futex_lock` in the CLibevent header), elsewhere a default `pthread_mutex_t`.
///
/// Why not `Synchronization.Mutex`: on Linux it is a priority-inheritance futex that hands the
/// lock straight to a sleeping waiter. With more posting threads than cores that turns into a lock
/// convoy: 8 producers on 2 cores took 22.8 s for 800 000 posts, against 0.15 s for one or two
/// producers. A default pthread mutex lets the running thread re-take the lock, so throughput
/// stays flat as producers are added; so does the futex lock, which also takes an uncontended
/// lock with one compare-and-swap (glibc's mutex spends about 50 instructions per lock and
/// unlock checking its type and owner), as Envoy's `absl::Mutex` does.
///
/// All members: any thread.
final class QueueLock<Value: ~Copyable>: @unchecked Sendable {
#if os(Linux)
    private let mutex: UnsafeMutablePointer<UInt32>
#else
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
#endif
    // Only touched with the mutex held, never re-entrantly: the dynamic exclusivity check is pure cost.
    @exclusivity(unchecked) private var value: Value

    init(_ value: consuming Value) {
        self.value = value
        mutex = .allocate(capacity: 1)
#if os(Linux)
        mutex.initialize(to: 0)
#else
        mutex.initialize(to: pthread_mutex_t())
        let result = pthread_mutex_init(mutex, nil)
        trapUnless(result == 0, "pthread_mutex_init failed (\(result))")
#endif
    }

    deinit {
#if !os(Linux)
        pthread_mutex_destroy(mutex)
#endif
        mutex.deallocate()
    }

    /// Takes the lock. Pair with ``unlock()``; touch ``lockedValue`` only in between. Any thread.
    @inline(__always)
    func lock() {
#if os(Linux)
        convoy_futex_lock(mutex)
#else
        pthread_mutex_lock(mutex)
#endif
    }

    /// Releases the lock. Any thread (the one that locked).
    @inline(__always)
    func unlock() {
#if os(Linux)
        convoy_futex_unlock(mutex)
#else
        pthread_mutex_unlock(mutex)
#endif
    }

    /// The guarded value; only between ``lock()`` and ``unlock()``. Lets a hot path move a value
    /// in without capturing it in a closure (a capture costs a retain/release pair).
    var lockedValue: Value {
        _read { yield value }
        _modify { yield &value }
    }

    /// Runs `body` with the lock held. Any thread; not re-entrant.
    @inline(__always)
    func withLock<Result>(_ body: (inout Value) -> Result) -> Result {
        lock()
        defer { unlock() }
        return body(&value)
    }
}
