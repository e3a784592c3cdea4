/// What happened to a ``Connection``; each is delivered at most once per connection. Any thread.
public enum ConnectionEvent: Sendable, Equatable {
    /// A ``ClientConnection`` finished connecting.
    case connected
    /// The peer closed, reset, or the connection failed (read/write/connect error).
    case remoteClose
    /// This side closed it (``Connection/close(_:)``, a delayed-close or connect timeout).
    case localClose
}

/// How ``Connection/close(_:)`` treats bytes still waiting to be written. Any thread.
public enum ConnectionCloseType: Sendable, Equatable {
    /// Write everything buffered, then close.
    case flushWrite
    /// Close now; buffered bytes are dropped.
    case noFlush
    /// Write everything, then wait (``Connection/delayedCloseTimeout``, restarted whenever writing
    /// progresses) for the peer to close first, so it can read a final response before any RST.
    case flushWriteAndDelay
    /// Drop buffered bytes and reset the connection (RST, via `SO_LINGER` 0).
    case abort
}

/// The lifecycle of a ``Connection``. Any thread.
public enum ConnectionState: Sendable, Equatable {
    /// Reading and writing.
    case open
    /// A flushing close is in progress: no more reading, writing out what is buffered.
    case closing
    /// The socket is closed; the connection is waiting to be released.
    case closed
}

/// Per-connection I/O counters. A plain value.
public struct ConnectionStats: Sendable, Equatable {
    /// Bytes read from the socket. Any thread.
    public var bytesRead: UInt64 = 0
    /// Bytes written to the socket. Any thread.
    public var bytesWritten: UInt64 = 0
    /// `readv` calls that returned data. Any thread.
    public var reads: UInt64 = 0
    /// `readv` calls that found nothing to read (`EAGAIN`): the cost of edge triggering, kept
    /// low by treating a short read as draining the socket. Any thread.
    public var emptyReads: UInt64 = 0
    /// `writev` calls that wrote data. Any thread.
    public var writes: UInt64 = 0
    /// Delayed closes ended by their timer rather than by the peer. Any thread.
    public var delayedCloseTimeouts: UInt64 = 0

    /// All zero. Any thread.
    public init() {}
}

/// Receives a connection's events and write-buffer watermark crossings. Several may be attached;
/// each gets every event. Called on the connection's dispatcher thread.
public protocol ConnectionCallbacks: AnyObject {
    /// The connection connected, or closed (once, with the side that closed it).
    func onEvent(_ event: ConnectionEvent)
    /// The write buffer rose above its high watermark: stop producing (readDisable the source).
    func onAboveWriteBufferHighWatermark()
    /// The write buffer drained to its low watermark: resume producing.
    func onBelowWriteBufferLowWatermark()
}

extension ConnectionCallbacks {
    /// Does nothing. Dispatcher thread.
    public func onAboveWriteBufferHighWatermark() {}
    /// Does nothing. Dispatcher thread.
    public func onBelowWriteBufferLowWatermark() {}
}

/// Whether a filter lets the rest of the chain see what it saw. Any thread.
public enum FilterStatus: Sendable, Equatable {
    /// Pass on to the next filter.
    case `continue`
    /// Stop here: later filters do not see this data.
    case stopIteration
}

/// A network read filter: sees a connection's incoming bytes, first-added first. Called on the
/// connection's dispatcher thread. A TCP proxy and the HTTP codec plug into a connection as one.
public protocol ReadFilter: AnyObject {
    /// The connection is starting (``Connection/initializeReadFilters()``).
    func onNewConnection(_ connection: Connection) -> FilterStatus
    /// Bytes arrived (in the connection's read buffer: drain what is consumed), or the peer ended
    /// its side (`endStream`, delivered once).
    func onData(_ data: IOBuffer, endStream: Bool) -> FilterStatus
}

extension ReadFilter {
    /// Continues. Dispatcher thread.
    public func onNewConnection(_ connection: Connection) -> FilterStatus { .continue }
}

/// A network write filter: sees outgoing bytes before they are buffered, last-added first.
/// Called on the connection's dispatcher thread.
public protocol WriteFilter: AnyObject {
    /// `data` is about to be written; a filter may change it. `.stopIteration` keeps it from the
    /// socket (the filter took it over).
    func onWrite(_ data: IOBuffer, endStream: Bool) -> FilterStatus
}
