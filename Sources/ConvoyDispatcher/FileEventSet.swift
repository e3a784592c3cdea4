internal import CLibevent

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One-shot "readable or closed by the peer" watches on many descriptors, sharing one callback,
/// for holding thousands of idle sockets cheaply. A watch fires once, when its descriptor becomes
/// readable, hangs up or has an error, and is removed before the callback runs, which gets the
/// descriptor.
///
/// On Linux the set is an epoll instance of its own, registered with the dispatcher as one
/// ``FileEvent``: a watch costs the kernel's registration and a few bytes of bookkeeping, against
/// about a kilobyte for a `FileEvent` with its Swift object and closure per descriptor. Elsewhere
/// each watch is one bare libevent event (about 150 bytes).
///
/// Level-triggered: a descriptor that is already readable when watched fires in the next
/// iteration. Descriptors are not owned: stop watching one (``remove(_:)``) before closing it.
///
/// Confined to its dispatcher's thread: every member traps when called from another thread.
public final class FileEventSet {
    /// The dispatcher whose thread runs the callback.
    public let dispatcher: Dispatcher

    private let callback: (Int32) -> Void
    #if os(Linux)
    private let epollDescriptor: Int32
    private var epollEvent: FileEvent?
    @exclusivity(unchecked) private var watched: Set<Int32> = []
    #else
    @exclusivity(unchecked) private var events: [Int32: OpaquePointer] = [:]
    #endif

    /// An empty set; `callback` runs with each descriptor that fires. Dispatcher thread.
    /// - Throws: ``DispatcherError/libeventCallFailed(operation:errno:)`` when the set's own
    ///   epoll instance cannot be made or registered.
    public init(dispatcher: Dispatcher, _ callback: @escaping (Int32) -> Void) throws {
        dispatcher.preconditionOnThread("FileEventSet.init")
        self.dispatcher = dispatcher
        self.callback = callback
        #if os(Linux)
        epollDescriptor = epoll_create1(Int32(EPOLL_CLOEXEC))
        guard epollDescriptor >= 0 else {
            throw DispatcherError.libeventCallFailed(operation: "epoll_create1 for a FileEventSet on '\(dispatcher.name)'", errno: errno)
        }
        epollEvent = try FileEvent(dispatcher: dispatcher, fileDescriptor: epollDescriptor, trigger: .level, events: .read) {
            [unowned self] _ in self.collectReady()
        }
        #endif
    }

    deinit {
        #if os(Linux)
        epollEvent = nil
        if epollDescriptor >= 0 { close(epollDescriptor) }
        #else
        for event in events.values { event_free(event) }
        #endif
    }

    /// The descriptors being watched. Dispatcher thread.
    public var count: Int {
        #if os(Linux)
        watched.count
        #else
        events.count
        #endif
    }

    /// True when `fileDescriptor` is being watched. Dispatcher thread.
    public func contains(_ fileDescriptor: Int32) -> Bool {
        #if os(Linux)
        watched.contains(fileDescriptor)
        #else
        events[fileDescriptor] != nil
        #endif
    }

    /// Starts watching `fileDescriptor` (not already in the set). Dispatcher thread.
    /// - Throws: ``DispatcherError/libeventCallFailed(operation:errno:)`` when the descriptor
    ///   cannot be registered (for instance, it is not open).
    public func watch(_ fileDescriptor: Int32) throws {
        dispatcher.preconditionOnThread("FileEventSet.watch(_:)")
        trapUnless(!contains(fileDescriptor), "FileEventSet.watch(_:): fd \(fileDescriptor) is already watched on '\(dispatcher.name)'")
        #if os(Linux)
        var event = epoll_event()
        event.events = EPOLLIN.rawValue | EPOLLRDHUP.rawValue
        event.data.fd = fileDescriptor
        guard epoll_ctl(epollDescriptor, EPOLL_CTL_ADD, fileDescriptor, &event) == 0 else {
            throw DispatcherError.libeventCallFailed(operation: "epoll_ctl(ADD) for fd \(fileDescriptor) on '\(dispatcher.name)'", errno: errno)
        }
        watched.insert(fileDescriptor)
        #else
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
        #endif
    }

    /// Stops watching `fileDescriptor`; a no-op when it is not watched. Dispatcher thread.
    public func remove(_ fileDescriptor: Int32) {
        dispatcher.preconditionOnThread("FileEventSet.remove(_:)")
        #if os(Linux)
        if watched.remove(fileDescriptor) != nil { epoll_ctl(epollDescriptor, EPOLL_CTL_DEL, fileDescriptor, nil) }
        #else
        if let event = events.removeValue(forKey: fileDescriptor) { event_free(event) }
        #endif
    }

    #if os(Linux)
    /// The set's epoll descriptor is readable: take every ready watch out, then report each.
    private func collectReady() {
        var ready = [epoll_event](repeating: epoll_event(), count: 64)
        let count = epoll_wait(epollDescriptor, &ready, Int32(ready.count), 0)
        guard count > 0 else { return }
        for index in 0..<Int(count) {
            let fileDescriptor = ready[index].data.fd
            guard watched.remove(fileDescriptor) != nil else { continue }
            epoll_ctl(epollDescriptor, EPOLL_CTL_DEL, fileDescriptor, nil)
            callback(fileDescriptor)
        }
    }
    #else
    fileprivate func fired(_ fileDescriptor: Int32) {
        // A one-shot event is no longer pending when its callback runs: free it, then report.
        guard let event = events.removeValue(forKey: fileDescriptor) else { return }
        event_free(event)
        callback(fileDescriptor)
    }
    #endif
}

@available(*, unavailable)
extension FileEventSet: Sendable {}

#if !os(Linux)
private func fileEventSetTrampoline(_ fileDescriptor: Int32, _: Int16, _ context: UnsafeMutableRawPointer?) {
    let set = Unmanaged<FileEventSet>.fromOpaque(context!).takeUnretainedValue()
    set.fired(fileDescriptor)
}
#endif
