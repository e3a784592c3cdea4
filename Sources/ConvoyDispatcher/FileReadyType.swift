/// Readiness of a file descriptor, as delivered to a ``FileEvent`` callback and as the interest
/// passed to ``FileEvent/setEnabled(_:)``. The raw values match Envoy's (`Read` 1, `Write` 2,
/// `Closed` 4). A plain value: any thread may create or inspect one.
public struct FileReadyType: OptionSet, Sendable, Hashable, CustomStringConvertible {
    /// The raw bit mask. Any thread.
    public let rawValue: UInt32

    /// Creates a mask from raw bits. Any thread.
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// The descriptor has bytes to read, or end of stream. Any thread.
    public static let read = FileReadyType(rawValue: 0x1)
    /// The descriptor can accept more bytes. Any thread.
    public static let write = FileReadyType(rawValue: 0x2)
    /// The peer closed its end (`EPOLLRDHUP`); used for early-close detection while reads are off. Any thread.
    public static let closed = FileReadyType(rawValue: 0x4)

    /// `read|write|closed` style text for logs. Any thread.
    public var description: String {
        var names: [String] = []
        if contains(.read) { names.append("read") }
        if contains(.write) { names.append("write") }
        if contains(.closed) { names.append("closed") }
        return names.isEmpty ? "none" : names.joined(separator: "|")
    }
}

/// How a ``FileEvent`` reports readiness. Any thread may use the value.
public enum FileTriggerType: Sendable, Hashable {
    /// Reported every loop iteration for as long as the condition holds (listeners use this).
    case level
    /// Reported once per change of readiness: the consumer must read or write until `EAGAIN`
    /// (connections use this).
    case edge
}
