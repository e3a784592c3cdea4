import ConvoyDispatcher

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A listening socket that accepts connections on a dispatcher: Envoy's `TcpListenerImpl`.
///
/// Binds with `SO_REUSEADDR` (and `SO_REUSEPORT` when asked, so each worker can own a socket for
/// the same port), listens with the given backlog, and on readiness (level-triggered) accepts until
/// `EAGAIN`, handing each new ``Connection`` to `onAccept`. With a connection limit it stops
/// accepting at the limit and resumes when a connection closes. ``disable()`` stops accepting
/// (draining) without closing the socket. When accepting fails for lack of resources (`EMFILE`,
/// `ENFILE`, `ENOBUFS`, `ENOMEM`) it pauses for 100 ms instead of spinning. Releasing the last
/// reference closes the socket.
///
/// Confined to its dispatcher's thread.
public final class Listener {
    /// The dispatcher whose thread accepts.
    public let dispatcher: Dispatcher
    /// The bound address (with the kernel's port when asked for port 0). Dispatcher thread.
    public let localAddress: SocketAddress
    /// The most connections open at once from this listener (nil: no limit). Dispatcher thread.
    public let connectionLimit: Int?
    /// Connections accepted and not yet closed. Dispatcher thread.
    public private(set) var activeConnections = 0
    /// Connections accepted in total. Dispatcher thread.
    public private(set) var acceptedConnections: UInt64 = 0
    /// Accept calls that failed (each logged through `onAcceptError`). Dispatcher thread.
    public private(set) var acceptErrors: UInt64 = 0
    /// Called with each accept failure; the listener keeps going. Default: ignore. Dispatcher thread.
    public var onAcceptError: ((NetworkError) -> Void)?

    private let fd: Int32
    private var fileEvent: FileEvent?
    private var isEnabled = true
    private var isPaused = false
    private var resumeTimer: TimerEvent?
    private let onAccept: (Connection) -> Void
    private lazy var tracker = ListenerConnectionTracker(listener: self)

    /// Binds and listens on `address`. Dispatcher thread.
    /// - Throws: ``NetworkError`` naming the failed step (socket, bind, listen), or
    ///   ``DispatcherError`` when the socket cannot be registered.
    public init(
        dispatcher: Dispatcher,
        address: SocketAddress,
        backlog: Int32 = SOMAXCONN,
        reusePort: Bool = false,
        connectionLimit: Int? = nil,
        onAccept: @escaping (Connection) -> Void
    ) throws {
        self.dispatcher = dispatcher
        self.connectionLimit = connectionLimit
        self.onAccept = onAccept
        let fd = try Syscalls.streamSocket(family: address.family, for: address)
        do {
            if address.port != nil {
                try Syscalls.setOption(fd, level: SOL_SOCKET, name: SO_REUSEADDR, value: 1, what: "SO_REUSEADDR on \(address)")
                if reusePort {
                    try Syscalls.setOption(fd, level: SOL_SOCKET, name: SO_REUSEPORT, value: 1, what: "SO_REUSEPORT on \(address)")
                }
            }
            try Syscalls.bind(fd, to: address)
            try Syscalls.listen(fd, backlog: backlog, address: address)
        } catch {
            Glibc.close(fd)
            throw error
        }
        self.fd = fd
        self.localAddress = Syscalls.localAddress(fd) ?? address
        fileEvent = try FileEvent(dispatcher: dispatcher, fileDescriptor: fd, trigger: .level, events: .read) {
            [unowned self] _ in self.acceptReady()
        }
        // No catch closing the socket: every property is set by now, so a throw runs deinit,
        // which closes it (a second close could hit a descriptor another thread just opened).
    }

    deinit {
        fileEvent = nil
        Glibc.close(fd)
    }

    /// Starts accepting again after ``disable()``. Dispatcher thread.
    public func enable() {
        trapUnless(dispatcher.isThreadSafe, "Listener.enable() called off the thread of dispatcher '\(dispatcher.name)'")
        isEnabled = true
        updateInterest()
    }

    /// Stops accepting; queued connections wait in the backlog. Dispatcher thread.
    public func disable() {
        trapUnless(dispatcher.isThreadSafe, "Listener.disable() called off the thread of dispatcher '\(dispatcher.name)'")
        isEnabled = false
        updateInterest()
    }

    private var isAtLimit: Bool {
        if let connectionLimit { return activeConnections >= connectionLimit }
        return false
    }

    private func updateInterest() {
        fileEvent?.setEnabled(isEnabled && !isPaused && !isAtLimit ? .read : [])
    }

    private func acceptReady() {
        while isEnabled, !isPaused, !isAtLimit {
            let accepted: (fd: Int32, peer: SocketAddress?)?
            do {
                accepted = try Syscalls.accept(fd)
            } catch {
                acceptErrors &+= 1
                onAcceptError?(error)
                if [EMFILE, ENFILE, ENOBUFS, ENOMEM].contains(error.errno) { pauseAccepting() }
                return
            }
            guard let accepted else { return }
            let connection: Connection
            do {
                connection = try Connection(
                    dispatcher: dispatcher, fd: accepted.fd, localAddress: Syscalls.localAddress(accepted.fd),
                    remoteAddress: accepted.peer)
            } catch {
                acceptErrors &+= 1
                continue
            }
            activeConnections += 1
            acceptedConnections &+= 1
            connection.addCallbacks(tracker)
            onAccept(connection)
        }
        if isAtLimit { updateInterest() }
    }

    private func pauseAccepting() {
        isPaused = true
        updateInterest()
        if resumeTimer == nil {
            resumeTimer = try? TimerEvent(dispatcher: dispatcher) { [unowned self] in
                self.isPaused = false
                self.updateInterest()
            }
        }
        resumeTimer?.enable(after: .milliseconds(100))
    }

    fileprivate func connectionClosed() {
        let wasAtLimit = isAtLimit
        activeConnections -= 1
        if wasAtLimit, !isAtLimit { updateInterest() }
    }
}

@available(*, unavailable)
extension Listener: Sendable {}

/// Counts a listener's open connections down as they close.
final class ListenerConnectionTracker: ConnectionCallbacks {
    weak var listener: Listener?
    init(listener: Listener) { self.listener = listener }

    func onEvent(_ event: ConnectionEvent) {
        if event != .connected { listener?.connectionClosed() }
    }
}
