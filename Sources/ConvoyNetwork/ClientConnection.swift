import ConvoyDispatcher

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A ``Connection`` this side opens: Envoy's `ClientConnection`.
///
/// Create it, attach callbacks and filters, then ``connect()``. The connect is non-blocking;
/// ``ConnectionEvent/connected`` arrives when it completes. A refused connect or any other failure
/// — even one the kernel reports at once — arrives as ``ConnectionEvent/remoteClose`` in a later
/// iteration, never from inside `connect()`, so callbacks attached after it still see it;
/// ``Connection/failure`` says why. If ``connectTimeout`` passes first, the connection closes with
/// ``ConnectionEvent/localClose`` and an `ETIMEDOUT` failure. Bytes written while connecting are
/// sent once connected.
///
/// Confined to its dispatcher's thread.
public final class ClientConnection: Connection {
    /// How long connecting may take (nil: no limit beyond the kernel's). Dispatcher thread.
    public let connectTimeout: Duration?

    private var connectTimer: TimerEvent?
    private var immediateFailure: NetworkError?

    /// Creates the socket for a connection to `remoteAddress`. Dispatcher thread.
    /// - Throws: ``NetworkError`` when the socket cannot be created (for instance, out of file
    ///   descriptors), or ``DispatcherError`` when it cannot be registered.
    public init(dispatcher: Dispatcher, remoteAddress: SocketAddress, connectTimeout: Duration? = .seconds(5)) throws {
        self.connectTimeout = connectTimeout
        let fd = try Syscalls.streamSocket(family: remoteAddress.family, for: remoteAddress)
        try super.init(dispatcher: dispatcher, fd: fd, localAddress: nil, remoteAddress: remoteAddress)
    }

    /// Starts connecting. Dispatcher thread; once.
    public func connect() {
        checkThread("connect()")
        trapUnless(!isConnecting && immediateFailure == nil, "ClientConnection \(id): connect() called twice")
        guard state == .open, let remoteAddress else { return }
        isConnecting = true
        do {
            _ = try Syscalls.connect(fd, to: remoteAddress)
        } catch {
            immediateFailure = error
            fileEvent?.activate(.write)  // reported in the next iteration
            return
        }
        if let connectTimeout {
            connectTimer = try? TimerEvent(dispatcher: dispatcher) { [unowned self] in
                self.failure = NetworkError(operation: "connect to \(remoteAddress) (timed out after \(connectTimeout))", errno: ETIMEDOUT)
                self.closeSocket(.localClose)
            }
            connectTimer?.enable(after: connectTimeout)
        }
    }

    override func completeConnect() {
        if let immediateFailure {
            failure = immediateFailure
            closeSocket(.remoteClose)
            return
        }
        let pending = Syscalls.pendingError(fd)
        guard pending == 0 else {
            failure = NetworkError(operation: "connect to \(remoteAddress.map(String.init(describing:)) ?? "?")", errno: pending)
            closeSocket(.remoteClose)
            return
        }
        connectTimer = nil
        raiseConnected()
    }

    override func willCloseSocket() {
        connectTimer = nil
    }
}
