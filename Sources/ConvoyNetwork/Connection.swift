import ConvoyDispatcher
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A non-blocking stream connection on a dispatcher: Envoy's `Network::ConnectionImpl`.
///
/// - **Reading**: one edge-triggered ``FileEvent`` for read and write. On readiness the connection
///   reads until the socket is drained (`EAGAIN` or a short read), end of stream, or just past
///   ``bufferLimit`` unconsumed bytes, and hands the read buffer to the read filters. End of
///   stream is delivered once.
/// - **Writing**: ``write(_:endStream:)`` runs the write filters, moves the bytes into the write
///   buffer and activates the write event for later in the current iteration: everything written
///   while this iteration's events run goes out in one `writev`, before the loop waits again.
/// - **Flow control**: a read buffer above ``bufferLimit`` disables reading (the kernel then
///   throttles the peer) until the consumer drains it to half; a write buffer above
///   ``bufferLimit`` + 1 tells every ``ConnectionCallbacks`` so the producer can `readDisable` its
///   source, and again when it drains to half. ``readDisable(_:)`` is reference-counted.
/// - **Closing**: ``close(_:)`` with a ``ConnectionCloseType``; half-close when enabled. The
///   ``ConnectionEvent`` for the close reaches every callback exactly once. A closed connection
///   releases itself through ``Dispatcher/deferredDelete(_:)``, never inside its own callback. An
///   open connection keeps itself alive, so nobody has to hold it; one that is no longer wanted
///   must be closed, not just dropped.
///
/// Confined to its dispatcher's thread.
public class Connection: DeferredDeletable, IterationEndWork {
    private static let nextID = Atomic<UInt64>(1)

    /// The default ``bufferLimit``: 1 MiB, as Envoy's per-connection buffer limit. Any thread.
    public static let defaultBufferLimit = 1 << 20

    /// The dispatcher whose thread runs this connection.
    public final let dispatcher: Dispatcher
    /// A process-wide unique id, for logs. Dispatcher thread.
    public final let id: UInt64
    /// This side's address. Dispatcher thread.
    public final var localAddress: SocketAddress? { boundAddress }
    @exclusivity(unchecked) final var boundAddress: SocketAddress?
    /// The peer's address. Dispatcher thread.
    public final let remoteAddress: SocketAddress?
    /// Open, closing (flushing) or closed. Dispatcher thread.
    public final var state: ConnectionState { currentState }
    // Behind a getter: other modules reading a public stored property check exclusivity dynamically.
    @exclusivity(unchecked) private final var currentState: ConnectionState = .open
    /// Bytes read and not yet consumed by the read filters. Dispatcher thread.
    public final let readBuffer = IOBuffer()
    /// Bytes waiting to be written. Dispatcher thread.
    public final let writeBuffer = IOBuffer()
    /// I/O counters. Dispatcher thread.
    public final var stats: ConnectionStats { ioStats }
    // Behind a getter: other modules reading a public stored property check exclusivity dynamically.
    @exclusivity(unchecked) final var ioStats = ConnectionStats()
    /// Why the connection failed, when it did (a reset, a refused or timed-out connect). Dispatcher thread.
    public final internal(set) var failure: NetworkError?
    /// How long a ``ConnectionCloseType/flushWriteAndDelay`` close waits for the peer (default 1 s;
    /// zero: do not wait). Dispatcher thread.
    public final var delayedCloseTimeout: Duration = .seconds(1)
    /// The most bytes buffered per direction before flow control acts (default 1 MiB). Dispatcher thread.
    @exclusivity(unchecked) public final private(set) var bufferLimit: Int

    // Everything below is confined to the dispatcher's thread and never accessed re-entrantly;
    // unchecked exclusivity removes a dynamic check from every access on the I/O path.
    @exclusivity(unchecked) final var fd: Int32
    @exclusivity(unchecked) final var fileEvent: FileEvent?
    @exclusivity(unchecked) final var isConnecting = false
    /// Written bytes wait in the dispatcher's queue (``runAtIterationEnd()``) until the current
    /// callback is over.
    @exclusivity(unchecked) private final var writeQueued = false
    @exclusivity(unchecked) private final var readDisableCount = 0
    @exclusivity(unchecked) private final var isHalfCloseEnabled = false
    @exclusivity(unchecked) private final var readEnded = false
    @exclusivity(unchecked) private final var endOfStreamDelivered = false
    @exclusivity(unchecked) private final var writeEndRequested = false
    @exclusivity(unchecked) private final var writeShutDown = false
    @exclusivity(unchecked) private final var pendingClose: ConnectionCloseType?
    @exclusivity(unchecked) private final var redispatchBufferedData = false
    @exclusivity(unchecked) private final var delayedCloseTimer: TimerEvent?
    @exclusivity(unchecked) private final var callbacks: [any ConnectionCallbacks] = []
    @exclusivity(unchecked) private final var readFilters: [any ReadFilter] = []
    @exclusivity(unchecked) private final var writeFilters: [any WriteFilter] = []
    private final var keepAlive: Connection?

    /// Wraps an open, non-blocking socket that this connection now owns. Dispatcher thread.
    init(dispatcher: Dispatcher, fd: Int32, localAddress: SocketAddress?, remoteAddress: SocketAddress?) throws {
        self.dispatcher = dispatcher
        self.id = Self.nextID.wrappingAdd(1, ordering: .relaxed).oldValue
        self.fd = fd
        self.boundAddress = localAddress
        self.remoteAddress = remoteAddress
        self.bufferLimit = Self.defaultBufferLimit
        do {
            fileEvent = try FileEvent(dispatcher: dispatcher, fileDescriptor: fd, trigger: .edge, events: [.read, .write, .closed]) {
                [unowned self] ready in self.onFileEvent(ready)
            }
        } catch {
            Glibc.close(fd)
            self.fd = -1
            currentState = .closed
            throw error
        }
        if remoteAddress?.port != nil {
            try? Syscalls.setOption(fd, level: Int32(IPPROTO_TCP), name: TCP_NODELAY, value: 1, what: "TCP_NODELAY")
        }
        readBuffer.onAboveHighWatermark = { [unowned self] in self.readDisable(true) }
        readBuffer.onBelowLowWatermark = { [unowned self] in self.readDisable(false) }
        writeBuffer.onAboveHighWatermark = { [unowned self] in
            for callback in self.callbacks { callback.onAboveWriteBufferHighWatermark() }
        }
        writeBuffer.onBelowLowWatermark = { [unowned self] in
            for callback in self.callbacks { callback.onBelowWriteBufferLowWatermark() }
        }
        setBufferLimit(Self.defaultBufferLimit)
        keepAlive = self
    }

    deinit {
        if fd >= 0 { Glibc.close(fd) }
    }

    // MARK: - Configuration

    /// Attaches `callbacks`; they receive every later event. Dispatcher thread.
    public final func addCallbacks(_ callbacks: any ConnectionCallbacks) {
        checkThread("addCallbacks(_:)")
        self.callbacks.append(callbacks)
    }

    /// Attaches a closure that receives every later event. Dispatcher thread.
    public final func addEventHandler(_ handler: @escaping (ConnectionEvent) -> Void) {
        checkThread("addEventHandler(_:)")
        callbacks.append(ConnectionEventHandler(handler))
    }

    /// Appends a read filter (read filters run first-added first). Dispatcher thread.
    public final func addReadFilter(_ filter: any ReadFilter) {
        checkThread("addReadFilter(_:)")
        readFilters.append(filter)
    }

    /// Appends a write filter (write filters run last-added first). Dispatcher thread.
    public final func addWriteFilter(_ filter: any WriteFilter) {
        checkThread("addWriteFilter(_:)")
        writeFilters.append(filter)
    }

    /// Calls each read filter's `onNewConnection` in order until one stops; returns false when
    /// there are no read filters. Dispatcher thread.
    @discardableResult
    public final func initializeReadFilters() -> Bool {
        checkThread("initializeReadFilters()")
        guard !readFilters.isEmpty else { return false }
        for filter in readFilters {
            guard state == .open, filter.onNewConnection(self) == .continue else { break }
        }
        return true
    }

    /// Sets the per-direction buffer limit: reading stops once more than `limit` bytes wait
    /// unconsumed, and the write buffer's high watermark is `limit + 1` (low at half). Dispatcher
    /// thread.
    public final func setBufferLimit(_ limit: Int) {
        checkThread("setBufferLimit(_:)")
        bufferLimit = max(1, limit)
        readBuffer.setWatermarks(high: bufferLimit)
        writeBuffer.setWatermarks(high: bufferLimit + 1)
    }

    /// With half-close on, the peer's end of stream reaches the read filters as `endStream` and
    /// the connection stays open for writing; `write(_:endStream: true)` then shuts down this
    /// side, and the connection closes once both sides have ended. Off by default. Dispatcher
    /// thread.
    public final func enableHalfClose(_ enabled: Bool) {
        isHalfCloseEnabled = enabled
    }

    /// Sets `TCP_NODELAY` (on by default for TCP). Dispatcher thread.
    public final func setNoDelay(_ enabled: Bool) {
        guard fd >= 0 else { return }
        try? Syscalls.setOption(fd, level: Int32(IPPROTO_TCP), name: TCP_NODELAY, value: enabled ? 1 : 0, what: "TCP_NODELAY")
    }

    /// Turns on TCP keep-alive probes (`SO_KEEPALIVE`): after `idle` without traffic, a probe
    /// every `interval`, and the connection closes after `probes` unanswered ones; nil keeps the
    /// kernel's setting (Linux: 7200 s, 75 s, 9). Dispatcher thread.
    public final func setKeepAlive(probes: Int? = nil, idle: Duration? = nil, interval: Duration? = nil) {
        guard fd >= 0 else { return }
        try? Syscalls.setOption(fd, level: SOL_SOCKET, name: SO_KEEPALIVE, value: 1, what: "SO_KEEPALIVE")
        if let probes {
            try? Syscalls.setOption(fd, level: Int32(IPPROTO_TCP), name: TCP_KEEPCNT, value: Int32(clamping: probes), what: "TCP_KEEPCNT")
        }
        if let idle {
            try? Syscalls.setOption(fd, level: Int32(IPPROTO_TCP), name: TCP_KEEPIDLE, value: Self.wholeSeconds(idle), what: "TCP_KEEPIDLE")
        }
        if let interval {
            try? Syscalls.setOption(fd, level: Int32(IPPROTO_TCP), name: TCP_KEEPINTVL, value: Self.wholeSeconds(interval), what: "TCP_KEEPINTVL")
        }
    }

    private static func wholeSeconds(_ duration: Duration) -> Int32 {
        Int32(clamping: max(1, duration.components.seconds))
    }

    /// An integer socket option, for tests. Dispatcher thread.
    package final func socketOption(level: Int32, name: Int32) -> Int32? {
        guard fd >= 0 else { return nil }
        var value: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        return getsockopt(fd, level, name, &value, &length) == 0 ? value : nil
    }

    /// Sets the kernel's send buffer (`SO_SNDBUF`) for this socket. Dispatcher thread.
    public final func setSendBufferSize(_ bytes: Int) {
        guard fd >= 0 else { return }
        try? Syscalls.setOption(fd, level: SOL_SOCKET, name: SO_SNDBUF, value: Int32(clamping: bytes), what: "SO_SNDBUF")
    }

    /// True while no ``readDisable(_:)`` is outstanding. Dispatcher thread.
    public final var isReadEnabled: Bool { readDisableCount == 0 }

    // MARK: - Reading

    /// Stops (`true`) or resumes (`false`) reading; calls nest, so N disables need N enables.
    /// While disabled the kernel's receive window fills and the peer is throttled; the peer
    /// closing is still noticed. Re-enabling re-dispatches bytes already buffered. Tolerated on a
    /// closed connection. Dispatcher thread.
    public final func readDisable(_ disable: Bool) {
        checkThread("readDisable(_:)")
        if disable {
            readDisableCount += 1
            if readDisableCount == 1, state == .open {
                fileEvent?.setEnabled(isHalfCloseEnabled ? [.write] : [.write, .closed])
            }
        } else {
            trapUnless(readDisableCount > 0, "Connection \(id): readDisable(false) without a matching readDisable(true)")
            readDisableCount -= 1
            if readDisableCount == 0, state == .open {
                fileEvent?.setEnabled([.read, .write, .closed])
                if !readBuffer.isEmpty {
                    redispatchBufferedData = true
                    fileEvent?.activate(.read)
                }
            }
        }
    }

    private final func onFileEvent(_ ready: FileReadyType) {
        if isConnecting {
            completeConnect()
            return
        }
        if ready.contains(.closed), !ready.contains(.read) {
            closeSocket(.remoteClose)
            return
        }
        if ready.contains(.write) { onWriteReady() }
        if state != .closed, ready.contains(.read) { onReadReady(peerClosed: ready.contains(.closed)) }
    }

    /// Reads until the socket is drained: `EAGAIN`, or a read that did not fill the space offered
    /// (a stream socket then has nothing queued, and anything arriving later raises a new edge) —
    /// unless the peer's FIN was reported, which is then read through to the end of stream. This
    /// saves the `EAGAIN` read per event that edge triggering otherwise costs.
    private final func onReadReady(peerClosed: Bool) {
        guard state == .open else { return }
        if readDisableCount > 0 && !redispatchBufferedData { return }
        var bytesThisEvent = 0
        if readDisableCount == 0 {
            readLoop: while true {
                // Read at most one byte past the limit: crossing the read buffer's high watermark
                // disables reading until the consumer drains it (then reading resumes by itself).
                let room = bufferLimit + 1 - readBuffer.count
                if room <= 0 { break }
                switch readBuffer.read(from: fd, maxBytes: min(room, 16 * SlicePool.sliceSize)) {
                case .transferred(let count):
                    bytesThisEvent += count
                    ioStats.bytesRead &+= UInt64(count)
                    ioStats.reads &+= 1
                    if !peerClosed, !readBuffer.lastReadFilledOffer { break readLoop }
                case .wouldBlock:
                    ioStats.emptyReads &+= 1
                    break readLoop
                case .endOfStream:
                    readEnded = true
                    break readLoop
                case .failed(let error):
                    failure = error
                    closeSocket(.remoteClose)
                    return
                }
                if readDisableCount > 0 { break }  // the read buffer's high watermark fired
            }
        }
        let deliverEnd = readEnded && !endOfStreamDelivered
        if bytesThisEvent > 0 || deliverEnd || redispatchBufferedData {
            redispatchBufferedData = false
            if deliverEnd { endOfStreamDelivered = true }
            dispatchToReadFilters(endStream: deliverEnd)
        }
        guard state != .closed, readEnded else { return }
        if !isHalfCloseEnabled {
            closeSocket(.remoteClose)
        } else if writeShutDown, writeBuffer.isEmpty {
            closeSocket(.remoteClose)
        }
    }

    private final func dispatchToReadFilters(endStream: Bool) {
        guard !readBuffer.isEmpty || endStream else { return }
        for filter in readFilters {
            guard state != .closed else { return }
            if filter.onData(readBuffer, endStream: endStream) == .stopIteration { return }
        }
    }

    // MARK: - Writing

    /// Runs the write filters, then moves `data`'s bytes (leaving it empty) into the write buffer
    /// and schedules one flush for this iteration. `endStream` shuts down the write side once
    /// everything is written (half-close). Writing after the end of stream traps; writing to a
    /// closed or closing connection is ignored. Dispatcher thread.
    public final func write(_ data: IOBuffer, endStream: Bool = false) {
        checkThread("write(_:endStream:)")
        guard state == .open else {
            data.drain(data.count)
            return
        }
        trapUnless(!writeEndRequested, "Connection \(id): write after the end of stream was written")
        if !writeFilters.isEmpty {
            for filter in writeFilters.reversed() {
                if filter.onWrite(data, endStream: endStream) == .stopIteration { return }
            }
        }
        writeBuffer.move(from: data)
        if endStream { writeEndRequested = true }
        scheduleFlush()
    }

    /// Lets `encode` append its bytes straight to the write buffer, then goes on as
    /// ``write(_:endStream:)`` does — one copy fewer for an encoder that would otherwise fill a
    /// buffer of its own first. With write filters installed, `encode` fills `scratch` (empty on
    /// entry and on return) and that goes through ``write(_:endStream:)``. Dispatcher thread.
    public final func write(through scratch: IOBuffer, endStream: Bool = false, _ encode: (IOBuffer) -> Void) {
        guard writeFilters.isEmpty, state == .open else {
            encode(scratch)
            return write(scratch, endStream: endStream)
        }
        checkThread("write(through:endStream:_:)")
        trapUnless(!writeEndRequested, "Connection \(id): write after the end of stream was written")
        let before = writeBuffer.count
        encode(writeBuffer)
        if endStream { writeEndRequested = true }
        if endStream || writeBuffer.count != before { scheduleFlush() }
    }

    @inline(__always)
    private final func scheduleFlush() {
        if !isConnecting, !writeQueued {
            writeQueued = true
            dispatcher.runAtIterationEnd(self)
        }
    }

    /// What the current callback (or iteration) wrote goes out in one `writev`. Dispatcher thread.
    package final func runAtIterationEnd() {
        writeQueued = false
        guard state != .closed, !isConnecting else { return }
        onWriteReady()
    }

    final func onWriteReady() {
        var progressed = false
        writeLoop: while !writeBuffer.isEmpty {
            switch writeBuffer.write(to: fd) {
            case .transferred(let count):
                progressed = true
                ioStats.bytesWritten &+= UInt64(count)
                ioStats.writes &+= 1
            case .wouldBlock, .endOfStream:
                break writeLoop  // the socket is full: the next writable edge resumes
            case .failed(let error):
                failure = error
                closeSocket(.remoteClose)
                return
            }
        }
        if progressed, let timer = delayedCloseTimer, timer.isEnabled {
            timer.enable(after: delayedCloseTimeout)  // it measures inactivity
        }
        guard writeBuffer.isEmpty else { return }
        if writeEndRequested, !writeShutDown {
            shutdown(fd, Int32(SHUT_WR))
            writeShutDown = true
            if readEnded {
                closeSocket(.localClose)
                return
            }
        }
        if let pendingClose {
            if pendingClose == .flushWrite || delayedCloseTimeout <= .zero {
                closeSocket(.localClose)
            } else if delayedCloseTimer == nil {
                armDelayedClose()
            }
        }
    }

    // MARK: - Closing

    /// Closes the connection as `type` says. A no-op once closed; a second flushing close while one
    /// is in progress only changes its type. Dispatcher thread.
    public final func close(_ type: ConnectionCloseType) {
        checkThread("close(_:)")
        guard state != .closed else { return }
        switch type {
        case .abort:
            Syscalls.setLingerZero(fd)
            writeBuffer.drain(writeBuffer.count)
            closeSocket(.localClose)
        case .noFlush:
            closeSocket(.localClose)
        case .flushWrite, .flushWriteAndDelay:
            if isConnecting {
                closeSocket(.localClose)
                return
            }
            pendingClose = type
            if state == .open {
                currentState = .closing
                fileEvent?.setEnabled(isHalfCloseEnabled ? [.write] : [.write, .closed])
            }
            if writeBuffer.isEmpty {
                if type == .flushWrite || delayedCloseTimeout <= .zero {
                    closeSocket(.localClose)
                } else {
                    armDelayedClose()
                }
            } else {
                if type == .flushWriteAndDelay, delayedCloseTimeout > .zero { armDelayedClose() }
                fileEvent?.activate(.write)
            }
        }
    }

    private final func armDelayedClose() {
        if delayedCloseTimer == nil {
            delayedCloseTimer = try? TimerEvent(dispatcher: dispatcher) { [unowned self] in
                self.ioStats.delayedCloseTimeouts &+= 1
                self.closeSocket(.localClose)
            }
        }
        delayedCloseTimer?.enable(after: delayedCloseTimeout)
    }

    /// Closes the socket and tells every callback, once.
    final func closeSocket(_ event: ConnectionEvent) {
        guard state != .closed else { return }
        currentState = .closed
        delayedCloseTimer = nil
        willCloseSocket()
        fileEvent = nil
        if fd >= 0 {
            Glibc.close(fd)
            fd = -1
        }
        writeBuffer.drain(writeBuffer.count)
        let notified = callbacks
        for callback in notified { callback.onEvent(event) }
        dropOwnersAndRelease()
    }

    /// Forgets every callback and filter (which may be what holds their owners), and hands the
    /// connection's hold on itself to the dispatcher's deferred-delete list.
    private final func dropOwnersAndRelease() {
        callbacks.removeAll()
        readFilters.removeAll()
        writeFilters.removeAll()
        if let keepAlive {
            self.keepAlive = nil
            dispatcher.deferredDelete(keepAlive)
        }
    }

    /// Gives the socket away (to a ``ConnectionPark``) when the connection is open and idle:
    /// connected, nothing buffered either way, reading enabled, no close or end of stream under
    /// way. The connection is then closed without telling anyone — its callbacks and filters are
    /// dropped unnotified, and it releases itself — and the caller owns the descriptor. Returns the
    /// descriptor and the listener's tracker (which still counts the socket as open), or nil,
    /// changing nothing, when the connection is not idle.
    final func detachIdleSocket() -> (fd: Int32, tracker: ListenerConnectionTracker?)? {
        guard state == .open, !isConnecting, fd >= 0, readBuffer.isEmpty, writeBuffer.isEmpty,
              readDisableCount == 0, !readEnded, !writeEndRequested, pendingClose == nil else { return nil }
        let tracker = callbacks.lazy.compactMap { $0 as? ListenerConnectionTracker }.first
        currentState = .closed
        fileEvent = nil
        let detached = fd
        fd = -1
        dropOwnersAndRelease()
        return (detached, tracker)
    }

    /// Traps, naming the call, when used off the dispatcher's thread.
    @inline(__always)
    final func checkThread(_ operation: StaticString) {
        trapUnless(dispatcher.isThreadSafe, "Connection.\(operation) called off the thread of dispatcher '\(dispatcher.name)'")
    }

    /// Hook for subclasses: the socket is about to close (stop connect timers).
    func willCloseSocket() {}

    /// Hook for ``ClientConnection``: the socket became ready while connecting.
    func completeConnect() {}

    /// Raises `.connected` to every callback, then flushes anything written meanwhile.
    final func raiseConnected() {
        isConnecting = false
        boundAddress = Syscalls.localAddress(fd)
        for callback in callbacks {
            guard state == .open else { return }
            callback.onEvent(.connected)
        }
        if state == .open, !writeBuffer.isEmpty { onWriteReady() }
    }
}

@available(*, unavailable)
extension Connection: Sendable {}

/// Adapts a closure to ``ConnectionCallbacks``.
private final class ConnectionEventHandler: ConnectionCallbacks {
    let handler: (ConnectionEvent) -> Void
    init(_ handler: @escaping (ConnectionEvent) -> Void) { self.handler = handler }
    func onEvent(_ event: ConnectionEvent) { handler(event) }
}
