import ConvoyDispatcher

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Idle connections held as bare sockets: nginx's trick of freeing a keep-alive connection's
/// buffers while it waits, taken one step further.
///
/// ``park(_:context:closeAt:)`` takes the socket out of an idle ``Connection`` (which then closes
/// silently and releases itself, with everything its owner hung on it) and watches the socket
/// through a ``FileEventSet``: about a hundred bytes per parked connection on Linux instead of the
/// several kilobytes a live connection with its protocol state costs. When the peer sends something,
/// hangs up or errs, the park builds a new `Connection` around the same socket and hands it to
/// `onWake` with the context given at parking, so the owner can set it up again as after an
/// accept (the pending bytes are read as soon as it registers). A parked socket whose deadline
/// passes is closed, and `onClose` gets its context; so does every socket ``closeAll()`` closes.
///
/// A socket accepted by a ``Listener`` stays counted as open by that listener while parked.
///
/// Confined to its dispatcher's thread.
public final class ConnectionPark {
    /// The dispatcher whose thread runs the park.
    public let dispatcher: Dispatcher

    private struct Parked {
        var context: AnyObject
        var tracker: ListenerConnectionTracker?
        var deadline: UInt64
        var generation: UInt32
    }

    private let onWake: (Connection, AnyObject) -> Void
    private let onClose: (AnyObject) -> Void
    @exclusivity(unchecked) private var parked: [Int32: Parked] = [:]
    @exclusivity(unchecked) private var expiries = DeadlineHeap()
    @exclusivity(unchecked) private var expiryCount = 0
    @exclusivity(unchecked) private var nextGeneration: UInt32 = 0
    @exclusivity(unchecked) private var sockets: FileEventSet!
    @exclusivity(unchecked) private var expiryTimer: DeadlineTimer?

    /// Connections parked so far, woken so far, and closed by their deadline. Dispatcher thread.
    public private(set) var parkedTotal = 0
    public private(set) var wokenTotal = 0
    public private(set) var expiredTotal = 0

    /// An empty park. `onWake` gets a woken connection (open, its pending bytes about to be read)
    /// and the context it was parked with; `onClose` the context of a parked socket that was
    /// closed (deadline, ``closeAll()``, or a wake that could not build a connection).
    /// Dispatcher thread.
    /// - Throws: ``DispatcherError`` when the ``FileEventSet`` cannot be made.
    public init(dispatcher: Dispatcher, onWake: @escaping (Connection, AnyObject) -> Void, onClose: @escaping (AnyObject) -> Void) throws {
        self.dispatcher = dispatcher
        self.onWake = onWake
        self.onClose = onClose
        sockets = try FileEventSet(dispatcher: dispatcher) { [unowned self] fd in self.wake(fd) }
    }

    deinit {
        for fd in parked.keys {
            sockets.remove(fd)
            Glibc.close(fd)
        }
    }

    /// Connections parked now. Dispatcher thread.
    public var count: Int { parked.count }

    /// Deadlines in the expiry heap, stale ones (of sockets woken since) included. Dispatcher thread.
    package var pendingExpiries: Int { expiryCount }

    /// Parks `connection` if it is open and idle — connected, nothing buffered either way,
    /// reading enabled, no close or end of stream under way — and returns true; the connection
    /// object is then closed (without events) and must not be used again. Otherwise returns false
    /// and changes nothing. The socket is closed at `deadline` if nothing wakes it first.
    /// Dispatcher thread.
    public func park(_ connection: Connection, context: AnyObject, closeAt deadline: MonotonicInstant?) -> Bool {
        trapUnless(dispatcher.isThreadSafe, "ConnectionPark.park(_:context:closeAt:) called off the thread of dispatcher '\(dispatcher.name)'")
        guard connection.dispatcher === dispatcher, let (fd, tracker) = connection.detachIdleSocket() else { return false }
        do {
            try sockets.watch(fd)
        } catch {
            // Cannot watch it: it is closed like an expired one.
            Glibc.close(fd)
            tracker?.onEvent(.localClose)
            onClose(context)
            return true
        }
        nextGeneration &+= 1
        let due = deadline?.nanoseconds ?? .max
        parked[fd] = Parked(context: context, tracker: tracker, deadline: due, generation: nextGeneration)
        parkedTotal += 1
        if due != .max {
            expiries.insert(.init(deadline: due, key: fd, generation: nextGeneration))
            expiryCount += 1
            compactExpiriesIfMostlyStale()
            armExpiry()
        }
        return true
    }

    /// Closes every parked socket, calling `onClose` for each. Dispatcher thread.
    public func closeAll() {
        trapUnless(dispatcher.isThreadSafe, "ConnectionPark.closeAll() called off the thread of dispatcher '\(dispatcher.name)'")
        for fd in Array(parked.keys) { close(fd) }
        expiries.removeAll()
        expiryCount = 0
    }

    private func wake(_ fd: Int32) {
        guard let entry = parked.removeValue(forKey: fd) else { return }
        wokenTotal += 1
        let connection: Connection
        do {
            connection = try Connection(
                dispatcher: dispatcher, fd: fd, localAddress: Syscalls.localAddress(fd), remoteAddress: Syscalls.peerAddress(fd))
        } catch {
            // The connection closed the socket.
            entry.tracker?.onEvent(.localClose)
            onClose(entry.context)
            return
        }
        if let tracker = entry.tracker { connection.addCallbacks(tracker) }
        onWake(connection, entry.context)
    }

    private func close(_ fd: Int32) {
        guard let entry = parked.removeValue(forKey: fd) else { return }
        sockets.remove(fd)
        Glibc.close(fd)
        entry.tracker?.onEvent(.localClose)
        onClose(entry.context)
    }

    /// Sets the expiry timer to the earliest deadline (a `DeadlineTimer` only touches libevent
    /// when that moves earlier).
    private func armExpiry() {
        guard let first = expiries.first else { return expiryTimer?.disable() ?? () }
        if expiryTimer == nil {
            expiryTimer = try? DeadlineTimer(dispatcher: dispatcher) { [unowned self] in self.expire() }
        }
        expiryTimer?.enable(at: MonotonicInstant(nanoseconds: first.deadline))
    }

    private func expire() {
        let now = dispatcher.approximateMonotonicTime.nanoseconds
        while let first = expiries.first, first.deadline <= now {
            _ = expiries.removeFirst()
            expiryCount -= 1
            guard let entry = parked[first.key], entry.generation == first.generation else { continue }
            expiredTotal += 1
            close(first.key)
        }
        armExpiry()
    }

    /// Entries of sockets woken since stay in the heap until they surface; rebuild it from the
    /// parked ones when they are the minority, so a connection parked and woken again and again
    /// within one idle timeout cannot grow it without bound.
    private func compactExpiriesIfMostlyStale() {
        guard expiryCount > 64, expiryCount > 2 * parked.count else { return }
        expiries.removeAll()
        expiryCount = 0
        for (fd, entry) in parked where entry.deadline != .max {
            expiries.insert(.init(deadline: entry.deadline, key: fd, generation: entry.generation))
            expiryCount += 1
        }
    }
}

@available(*, unavailable)
extension ConnectionPark: Sendable {}
