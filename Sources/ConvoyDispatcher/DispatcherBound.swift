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
}
