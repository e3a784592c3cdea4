internal import CLibevent

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One-shot "readable or closed by the peer" watches on many descriptors, sharing one callback,
/// at the cost of one bare libevent event each (about 150 bytes, against roughly a kilobyte for
/// a ``FileEvent`` with a Swift object and closure per descriptor). Made for holding thousands of
/// idle sockets: a watch fires once, when the descriptor becomes readable, hangs up or has an
/// error, and is removed before the callback runs, which gets the descriptor.
///
/// Level-triggered: a descriptor that is already readable when watched fires in the next
/// iteration. Descriptors are not owned: stop watching one (``remove(_:)``) before closing it.
///
/// Confined to its dispatcher's thread: every member traps when called from another thread.
public final class FileEventSet {
    /// The dispatcher whose thread runs the callback.
    public let dispatcher: Dispatcher

    private let callback: (Int32) -> Void
    @exclusivity(unchecked) private var events: [Int32: OpaquePointer] = [:]

    /// An empty set; `callback` runs with each descriptor that fires. Dispatcher thread.
    public init(dispatcher: Dispatcher, _ callback: @escaping (Int32) -> Void) {
        dispatcher.preconditionOnThread("FileEventSet.init")
        self.dispatcher = dispatcher
        self.callback = callback
    }

    deinit {
        for event in events.values { event_free(event) }
    }

    /// The descriptors being watched. Dispatcher thread.
    public var count: Int { events.count }

    /// True when `fileDescriptor` is being watched. Dispatcher thread.
    public func contains(_ fileDescriptor: Int32) -> Bool {
        events[fileDescriptor] != nil
    }

    /// Starts watching `fileDescriptor` (not already in the set). Dispatcher thread.
    /// - Throws: ``DispatcherError/libeventCallFailed(operation:errno:)`` when libevent cannot
    ///   allocate or register the event (for instance, the descriptor is not open).
    public func watch(_ fileDescriptor: Int32) throws {
        dispatcher.preconditionOnThread("FileEventSet.watch(_:)")
        trapUnless(events[fileDescriptor] == nil, "FileEventSet.watch(_:): fd \(fileDescriptor) is already watched on '\(dispatcher.name)'")
        let context = Unmanaged.passUnretained(self).toOpaque()
        guard let event = event_new(dispatcher.base, fileDescriptor, LibeventFlags.read | LibeventFlags.closed, fileEventSetTrampoline, context) else {
            throw DispatcherError.libeventCallFailed(operation: "event_new for fd \(fileDescriptor) on '\(dispatcher.name)'", errno: errno)
        }
        guard event_add(event, nil) == 0 else {
            let code = errno
            event_free(event)
            throw DispatcherError.libeventCallFailed(operation: "event_add for fd \(fileDescriptor) on '\(dispatcher.name)'", errno: code)
        }
        events[fileDescriptor] = event
    }

    /// Stops watching `fileDescriptor`; a no-op when it is not watched. Dispatcher thread.
    public func remove(_ fileDescriptor: Int32) {
        dispatcher.preconditionOnThread("FileEventSet.remove(_:)")
        if let event = events.removeValue(forKey: fileDescriptor) { event_free(event) }
    }

    fileprivate func fired(_ fileDescriptor: Int32) {
        // A one-shot event is no longer pending when its callback runs: free it, then report.
        guard let event = events.removeValue(forKey: fileDescriptor) else { return }
        event_free(event)
        callback(fileDescriptor)
    }
}

@available(*, unavailable)
extension FileEventSet: Sendable {}

private func fileEventSetTrampoline(_ fileDescriptor: Int32, _: Int16, _ context: UnsafeMutableRawPointer?) {
    let set = Unmanaged<FileEventSet>.fromOpaque(context!).takeUnretainedValue()
    set.fired(fileDescriptor)
}
