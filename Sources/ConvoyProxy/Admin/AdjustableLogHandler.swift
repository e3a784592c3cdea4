import Logging
import Synchronization

/// A log handler whose level can change while convoy runs (`POST /logging?level=`): it wraps
/// another handler and reads the level from a shared ``LogLevelControl``, so every copy of a
/// logger follows it. Any thread.
public struct AdjustableLogHandler: LogHandler {
    private var wrapped: any LogHandler
    /// The shared level. Any thread.
    public let control: LogLevelControl

    /// Wraps `handler`; its level comes from `control`. Any thread.
    public init(wrapping handler: any LogHandler, control: LogLevelControl) {
        wrapped = handler
        self.control = control
    }

    /// The shared level (setting it changes every logger on this control). Any thread.
    public var logLevel: Logger.Level {
        get { control.level }
        set { control.level = newValue }
    }

    /// Metadata of the wrapped handler. Any thread.
    public var metadata: Logger.Metadata {
        get { wrapped.metadata }
        set { wrapped.metadata = newValue }
    }

    /// One metadata value of the wrapped handler. Any thread.
    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { wrapped[metadataKey: key] }
        set { wrapped[metadataKey: key] = newValue }
    }

    /// Passes the message on. Any thread.
    public func log(event: LogEvent) {
        wrapped.log(event: event)
    }
}

/// The log level shared by ``AdjustableLogHandler``s. Any thread.
public final class LogLevelControl: Sendable {
    private let current: Mutex<Logger.Level>

    /// Starts at `level`. Any thread.
    public init(_ level: Logger.Level) {
        current = Mutex(level)
    }

    /// The level. Any thread.
    public var level: Logger.Level {
        get { current.withLock { $0 } }
        set { current.withLock { $0 = newValue } }
    }
}
