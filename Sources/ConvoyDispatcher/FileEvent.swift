internal import CLibevent

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Readiness notifications for one file descriptor: Envoy's `Event::FileEvent`.
///
/// The callback receives the ready bits (``FileReadyType``). Edge-triggered events report each
/// change once (the consumer reads or writes until `EAGAIN`); level-triggered ones report every
/// iteration while the condition holds. ``activate(_:)`` injects readiness without the kernel,
/// delivered in the next iteration and merged with any real readiness that arrives first. The
/// event is registered from creation; releasing the last reference unregisters it, which is also
/// allowed from inside its own callback. The descriptor is not owned: closing it is the caller's
/// job, after releasing the event.
///
/// Confined to its dispatcher's thread: every member traps when called from another thread.
public final class FileEvent {
    /// The dispatcher whose thread runs the callback.
    public let dispatcher: Dispatcher
    /// The watched descriptor (not owned). Dispatcher thread.
    public let fileDescriptor: Int32
    /// Edge or level triggering, fixed at creation. Dispatcher thread.
    public let trigger: FileTriggerType
    /// The readiness currently asked for. Dispatcher thread.
    @exclusivity(unchecked) public private(set) var enabledEvents: FileReadyType

    private let callback: (FileReadyType) -> Void
    private var event: OpaquePointer?
    @exclusivity(unchecked) private var activationEvent: OpaquePointer?
    @exclusivity(unchecked) private var injectedEvents: FileReadyType = []

    /// Starts watching `fileDescriptor` for `events`. Dispatcher thread.
    /// - Throws: ``DispatcherError/libeventCallFailed(operation:errno:)`` when libevent cannot
    ///   allocate or register the event (for instance, the descriptor is not open).
    public init(
        dispatcher: Dispatcher,
        fileDescriptor: Int32,
        trigger: FileTriggerType,
        events: FileReadyType,
        _ callback: @escaping (FileReadyType) -> Void
    ) throws {
        dispatcher.preconditionOnThread("FileEvent.init")
        self.dispatcher = dispatcher
        self.fileDescriptor = fileDescriptor
        self.trigger = trigger
        self.enabledEvents = events
        self.callback = callback
        event = event_new(dispatcher.base, fileDescriptor, libeventFlags(for: events), fileEventTrampoline, context)
        guard event != nil else {
            throw DispatcherError.libeventCallFailed(operation: "event_new for fd \(fileDescriptor) on '\(dispatcher.name)'", errno: errno)
        }
        if !events.isEmpty, event_add(event, nil) != 0 {
            throw DispatcherError.libeventCallFailed(operation: "event_add for fd \(fileDescriptor) on '\(dispatcher.name)'", errno: errno)
        }
    }

    deinit {
        if let activationEvent { event_free(activationEvent) }
        if let event { event_free(event) }
    }

    /// Replaces the interest set. Clears readiness injected by ``activate(_:)`` that has not been
    /// delivered yet, and re-registers with the kernel, which for edge triggering reports the
    /// descriptor's current state afresh. An empty set stops all notifications. Dispatcher thread.
    public func setEnabled(_ events: FileReadyType) {
        dispatcher.preconditionOnThread("FileEvent.setEnabled(_:)")
        if !injectedEvents.isEmpty {
            injectedEvents = []
            event_del(activationEvent)
        }
        event_del(event)
        event_assign(event, dispatcher.base, fileDescriptor, libeventFlags(for: events), fileEventTrampoline, context)
        enabledEvents = events
        if !events.isEmpty {
            let result = event_add(event, nil)
            trapUnless(result == 0, "FileEvent.setEnabled(_:): event_add failed for fd \(fileDescriptor) on '\(dispatcher.name)' (was it closed under the event?)")
        }
    }

    /// Injects readiness: the callback runs in the next loop iteration with `events` (merged with
    /// anything else injected or really ready by then), whatever the interest set — also when it
    /// is empty. Dispatcher thread.
    public func activate(_ events: FileReadyType) {
        dispatcher.preconditionOnThread("FileEvent.activate(_:)")
        trapUnless(!events.isEmpty, "FileEvent.activate(_:) needs at least one readiness bit")
        if injectedEvents.isEmpty {
            if activationEvent == nil {
                activationEvent = event_new(dispatcher.base, -1, 0, fileEventActivationTrampoline, context)
                trapUnless(activationEvent != nil, "FileEvent.activate(_:): event_new failed on '\(dispatcher.name)'")
            }
            var zero = timeval(tv_sec: 0, tv_usec: 0)
            event_add(activationEvent, &zero)
        }
        injectedEvents.formUnion(events)
    }

    /// Injects readiness like ``activate(_:)``, but the callback runs later in the current loop
    /// iteration, after the callbacks already queued, instead of in the next one; bits injected
    /// again before it runs are merged into the same call, as is real readiness reported in this
    /// iteration. A connection flushes its writes this way: everything written while this
    /// iteration's events run still leaves in one syscall, and the loop does not go round once
    /// more (one `epoll_wait`) for it. Dispatcher thread.
    public func activateInCurrentIteration(_ events: FileReadyType) {
        dispatcher.preconditionOnThread("FileEvent.activateInCurrentIteration(_:)")
        trapUnless(!events.isEmpty, "FileEvent.activateInCurrentIteration(_:) needs at least one readiness bit")
        // libevent queues the descriptor's own event as active (or ORs the bits into it when it
        // already is): no second event per descriptor.
        var flags: Int32 = 0
        if events.contains(.read) { flags |= Int32(LibeventFlags.read) }
        if events.contains(.write) { flags |= Int32(LibeventFlags.write) }
        if events.contains(.closed) { flags |= Int32(LibeventFlags.closed) }
        event_active(event, flags, 0)
    }

    private var context: UnsafeMutableRawPointer { Unmanaged.passUnretained(self).toOpaque() }

    private func libeventFlags(for events: FileReadyType) -> Int16 {
        var flags = LibeventFlags.persist
        if trigger == .edge { flags |= LibeventFlags.edgeTriggered }
        if events.contains(.read) { flags |= LibeventFlags.read }
        if events.contains(.write) { flags |= LibeventFlags.write }
        if events.contains(.closed) { flags |= LibeventFlags.closed }
        return flags
    }

    fileprivate func onKernelReadiness(_ what: Int16) {
        var ready: FileReadyType = []
        if what & LibeventFlags.read != 0 { ready.insert(.read) }
        if what & LibeventFlags.write != 0 { ready.insert(.write) }
        if what & LibeventFlags.closed != 0 { ready.insert(.closed) }
        if !injectedEvents.isEmpty {
            ready.formUnion(injectedEvents)
            injectedEvents = []
            event_del(activationEvent)
        }
        callback(ready)
    }

    fileprivate func onInjectedReadiness() {
        let ready = injectedEvents
        injectedEvents = []
        if !ready.isEmpty { callback(ready) }
    }
}

@available(*, unavailable)
extension FileEvent: Sendable {}

private func fileEventTrampoline(_: Int32, _ what: Int16, _ context: UnsafeMutableRawPointer?) {
    let fileEvent = Unmanaged<FileEvent>.fromOpaque(context!).takeUnretainedValue()
    // The event may be gone after its callback; its dispatcher is not (it is running this loop).
    let dispatcher = Unmanaged.passUnretained(fileEvent.dispatcher)
    fileEvent.onKernelReadiness(what)
    dispatcher._withUnsafeGuaranteedRef { $0.runQueuedIterationEndWork() }
}

private func fileEventActivationTrampoline(_: Int32, _: Int16, _ context: UnsafeMutableRawPointer?) {
    let fileEvent = Unmanaged<FileEvent>.fromOpaque(context!).takeUnretainedValue()
    let dispatcher = Unmanaged.passUnretained(fileEvent.dispatcher)  // as above
    fileEvent.onInjectedReadiness()
    dispatcher._withUnsafeGuaranteedRef { $0.runQueuedIterationEndWork() }
}
