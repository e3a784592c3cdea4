import Synchronization

/// A value behind a mutex, shareable across threads: for tests that collect results from
/// several threads. All members: any thread.
public final class Locked<Value: Sendable>: Sendable {
    private let mutex: Mutex<Value>

    /// Wraps `value`. Any thread.
    public init(_ value: Value) { mutex = Mutex(value) }

    /// Runs `body` with exclusive access to the value. Any thread.
    public func withLock<Result>(_ body: (inout Value) throws -> Result) rethrows -> Result {
        try mutex.withLock { try body(&$0) }
    }

    /// A copy of the current value. Any thread.
    public var value: Value { mutex.withLock { $0 } }
}
