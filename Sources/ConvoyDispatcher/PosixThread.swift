import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An OS thread running one closure: where a ``Dispatcher`` loop lives (a loop blocks, so it never
/// runs on Swift's cooperative pool). Start it with a closure that typically creates or runs a
/// dispatcher, and ``join()`` it after telling that dispatcher to ``Dispatcher/exit()``.
///
/// All members: any thread.
public final class PosixThread: Sendable {
    #if canImport(Darwin)
    private nonisolated(unsafe) let handle: pthread_t
    #else
    private let handle: pthread_t
    #endif
    private let joined = Atomic<Bool>(false)

    /// Starts a thread that runs `body`; `name` is used in errors (and, on Darwin, as the thread
    /// name debuggers show). Any thread.
    /// - Throws: ``StartError`` when `pthread_create` fails.
    public init(name: String, _ body: @escaping @Sendable () -> Void) throws {
        let start = ThreadStart(name: name, body: body)
        let context = Unmanaged.passRetained(start).toOpaque()
        #if canImport(Darwin)
        var thread: pthread_t?
        #else
        var thread = pthread_t()
        #endif
        let result = pthread_create(&thread, nil, { context in
            let start = Unmanaged<ThreadStart>.fromOpaque(context!).takeRetainedValue()
            #if canImport(Darwin)
            pthread_setname_np(String(start.name.utf8.prefix(15))!)
            #endif
            start.body()
            return nil
        }, context)
        guard result == 0 else {
            Unmanaged<ThreadStart>.fromOpaque(context).release()
            throw StartError(name: name, errno: result)
        }
        #if canImport(Darwin)
        handle = thread!
        #else
        handle = thread
        #endif
    }

    deinit {
        if !joined.load(ordering: .acquiring) { pthread_detach(handle) }
    }

    /// Waits for the thread's closure to return. Any thread but this one; calling it twice traps.
    public func join() {
        let (exchanged, _) = joined.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing)
        trapUnless(exchanged, "PosixThread.join() called twice")
        pthread_join(handle, nil)
    }

    /// `pthread_create` failed; `errno` is its result.
    public struct StartError: Error, CustomStringConvertible {
        /// The thread's name.
        public let name: String
        /// The error `pthread_create` returned.
        public let errno: Int32
        /// A one-line explanation. Any thread.
        public var description: String { "could not start thread '\(name)' (errno \(errno))" }
    }
}

private final class ThreadStart: Sendable {
    let name: String
    let body: @Sendable () -> Void
    init(name: String, body: @escaping @Sendable () -> Void) {
        self.name = name
        self.body = body
    }
}
