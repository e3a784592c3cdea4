internal import CLibevent

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Process-wide libevent set-up, done once before the first `event_base` exists.
///
/// - `evthread_use_pthreads()` gives every base a lock and a notification fd, so `event_active`
///   from another thread (what `Dispatcher.post` and `Dispatcher.exit` rely on) wakes a loop that
///   is blocked in `epoll_wait`. A base created before this call would silently break `post`.
/// - SIGPIPE is ignored so a write to a closed socket surfaces as `EPIPE` instead of killing the
///   process.
/// - `CONVOY_EVENT_DEBUG=1` turns on libevent's debug mode (catches misuse of event structures).
enum LibeventRuntime {
    /// Touch this before creating a base; the initialiser runs exactly once (Swift's lazy globals
    /// are thread-safe).
    static let isInitialized: Bool = {
        if let debug = getenv("CONVOY_EVENT_DEBUG"), debug.pointee != 0, debug.pointee != UInt8(ascii: "0") {
            event_enable_debug_mode()
        }
        let result = evthread_use_pthreads()
        signal(SIGPIPE, SIG_IGN)
        return result == 0
    }()
}

/// The identity of the calling OS thread, as a number that is never 0 for a live thread.
enum ThreadIdentity {
    @inline(__always)
    static var current: UInt {
        #if canImport(Darwin)
        return UInt(bitPattern: pthread_self())
        #else
        return UInt(pthread_self())
        #endif
    }
}

extension timeval {
    /// A `timeval` for a non-negative duration already clipped by the caller.
    init(clippedDuration duration: Duration) {
        let (seconds, attoseconds) = duration.components
        self.init(tv_sec: .init(seconds), tv_usec: .init(attoseconds / 1_000_000_000_000))
    }
}

/// libevent's event flags as the `Int16` its API takes.
enum LibeventFlags {
    static let timeout = Int16(EV_TIMEOUT)
    static let read = Int16(EV_READ)
    static let write = Int16(EV_WRITE)
    static let signal = Int16(EV_SIGNAL)
    static let persist = Int16(EV_PERSIST)
    static let edgeTriggered = Int16(EV_ET)
    static let closed = Int16(EV_CLOSED)
}

/// Traps with `message` when `condition` is false, in every build configuration. Swift's
/// `precondition` drops its message in optimized builds; a misuse trap that does not say what was
/// misused is useless to the person reading the crash.
@inline(__always)
func trapUnless(_ condition: Bool, _ message: @autoclosure () -> String, file: StaticString = #fileID, line: UInt = #line) {
    if !condition { fatalError(message(), file: file, line: line) }
}
