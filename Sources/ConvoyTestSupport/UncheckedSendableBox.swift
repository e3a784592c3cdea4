/// Smuggles a non-`Sendable` value into a `@Sendable` closure *on purpose*: for tests that prove
/// a thread-confined object traps when touched from the wrong thread. Never use it to share
/// state for real; ``ConvoyDispatcher/DispatcherBound`` is the checked way.
public struct UncheckedSendableBox<Value>: @unchecked Sendable {
    /// The carried value. Any thread.
    public let value: Value
    /// Wraps `value`. Any thread.
    public init(_ value: Value) { self.value = value }
}
