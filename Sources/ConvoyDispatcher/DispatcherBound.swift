import Dispatch
import Synchronization

/// Carries a value that is not `Sendable` — a connection, a stream, a timer — through a
/// `@Sendable` closure such as the one given to ``Dispatcher/post(_:)``, and checks on every
/// access that the accessing thread is the dispatcher's.
///
/// Create it on any thread (the value is handed over with `sending`); read or change ``value``
/// only on the dispatcher's thread — any other thread traps with a message naming the dispatcher.
public struct DispatcherBound<Value>: @unchecked Sendable {
    /// The dispatcher whose thread may touch the value. Any thread.
    public let dispatcher: Dispatcher
    private var storage: Value

    /// Binds `value` to `dispatcher`. Any thread: the value is transferred, not shared.
    public init(_ value: sending Value, dispatcher: Dispatcher) {
        self.dispatcher = dispatcher
        self.storage = value
    }

    /// The bound value. Dispatcher thread.
    public var value: Value {
        get {
            dispatcher.preconditionOnThread("DispatcherBound.value (get)")
            return storage
        }
        set {
            dispatcher.preconditionOnThread("DispatcherBound.value (set)")
            storage = newValue
        }
    }

    /// Runs `body` with the value on the dispatcher's thread and waits for its result. Any
    /// thread but the one running the dispatcher (which would wait for itself: that traps); the
    /// dispatcher must run (now or soon), or this waits forever.
    public func sync<Result: Sendable>(_ body: @escaping @Sendable (Value) -> Result) -> Result {
        trapUnless(!dispatcher.isRunningOnCurrentThread, "DispatcherBound.sync called on '\(dispatcher.name)''s own thread: it would wait for itself")
        let answer = Mutex<Result?>(nil)
        let done = DispatchSemaphore(value: 0)
        dispatcher.post {
            let result = body(self.value)
            answer.withLock { $0 = result }
            done.signal()
        }
        done.wait()
        return answer.withLock { $0! }
    }
}
