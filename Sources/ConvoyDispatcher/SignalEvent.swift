internal import CLibevent

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// Runs a callback on a dispatcher's thread each time the process receives a POSIX signal
/// (SIGHUP, SIGTERM, SIGINT, SIGUSR1 …): Envoy's `SignalEvent`. While it exists the signal's
/// default action is replaced; releasing the last reference restores it.
///
/// libevent handles signals process-wide, so only one dispatcher at a time may own signal events;
/// creating one on a second dispatcher throws
/// ``DispatcherError/signalsHandledByAnotherDispatcher(owner:)``.
///
/// Confined to its dispatcher's thread: every member traps when called from another thread.
public final class SignalEvent {
    /// The dispatcher whose thread runs the callback.
    public let dispatcher: Dispatcher
    /// The signal number, e.g. `SIGTERM`. Dispatcher thread.
    public let signalNumber: Int32

    private let callback: () -> Void
    private var event: OpaquePointer?
    private var ownsSignals = false

    /// Starts handling `signalNumber`. Dispatcher thread.
    /// - Throws: ``DispatcherError/signalsHandledByAnotherDispatcher(owner:)`` when another
    ///   dispatcher handles signals, ``DispatcherError/libeventCallFailed(operation:errno:)`` when
    ///   libevent cannot install the handler.
    public init(dispatcher: Dispatcher, signal signalNumber: Int32, _ callback: @escaping () -> Void) throws {
        dispatcher.preconditionOnThread("SignalEvent.init")
        self.dispatcher = dispatcher
        self.signalNumber = signalNumber
        self.callback = callback
        try SignalOwnership.acquire(for: dispatcher)
        ownsSignals = true
        event = event_new(
            dispatcher.base, signalNumber, LibeventFlags.signal | LibeventFlags.persist, signalTrampoline,
            Unmanaged.passUnretained(self).toOpaque())
        guard event != nil else {
            throw DispatcherError.libeventCallFailed(operation: "event_new for signal \(signalNumber) on '\(dispatcher.name)'", errno: errno)
        }
        guard event_add(event, nil) == 0 else {
            throw DispatcherError.libeventCallFailed(operation: "event_add for signal \(signalNumber) on '\(dispatcher.name)'", errno: errno)
        }
    }

    deinit {
        if let event { event_free(event) }
        if ownsSignals { SignalOwnership.release(for: dispatcher) }
    }

    fileprivate func fire() {
        callback()
    }
}

@available(*, unavailable)
extension SignalEvent: Sendable {}

private func signalTrampoline(_: Int32, _: Int16, _ context: UnsafeMutableRawPointer?) {
    let signalEvent = Unmanaged<SignalEvent>.fromOpaque(context!).takeUnretainedValue()
    signalEvent.fire()
}

/// Which dispatcher owns the process's signal events, counted per live ``SignalEvent``.
private enum SignalOwnership {
    private struct Owner {
        var dispatcher: ObjectIdentifier
        var name: String
        var eventCount: Int
    }

    private static let owner = Mutex<Owner?>(nil)

    static func acquire(for dispatcher: Dispatcher) throws {
        try owner.withLock { owner in
            if var current = owner {
                guard current.dispatcher == ObjectIdentifier(dispatcher) else {
                    throw DispatcherError.signalsHandledByAnotherDispatcher(owner: current.name)
                }
                current.eventCount += 1
                owner = current
            } else {
                owner = Owner(dispatcher: ObjectIdentifier(dispatcher), name: dispatcher.name, eventCount: 1)
            }
        }
    }

    static func release(for dispatcher: Dispatcher) {
        owner.withLock { owner in
            guard var current = owner, current.dispatcher == ObjectIdentifier(dispatcher) else { return }
            current.eventCount -= 1
            owner = current.eventCount == 0 ? nil : current
        }
    }
}
