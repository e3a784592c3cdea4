/// The parser's limits and its one leniency. Defaults are Envoy's. Any thread.
public struct HTTP1ParserLimits: Sendable, Hashable {
    /// Bytes of request line (or status line) plus headers; more → 431. The same limit applies to
    /// a trailer section. Any thread.
    public var maxHeadBytes: Int
    /// Header fields in one head or trailer section; more → 431. Any thread.
    public var maxHeaderCount: Int
    /// Bytes of the request target; more → 414. Any thread.
    public var maxTargetLength: Int
    /// Body bytes of one message; more → 413. `nil`: unlimited (bodies stream). Any thread.
    public var maxBodyBytes: Int?
    /// Bytes of one chunk-size line including extensions; more → 400. Any thread.
    public var maxChunkLineBytes: Int
    /// Accept a bare LF as a line ending (off by default: RFC 9112 §2.2 allows it, but a proxy
    /// that does so can disagree with the next hop about where a message ends). Any thread.
    public var allowBareLineFeed: Bool

    /// Limits with the given values; the defaults are Envoy's (60 KiB and 100 headers). Any thread.
    public init(
        maxHeadBytes: Int = 60 * 1024,
        maxHeaderCount: Int = 100,
        maxTargetLength: Int = 16 * 1024,
        maxBodyBytes: Int? = nil,
        maxChunkLineBytes: Int = 4 * 1024,
        allowBareLineFeed: Bool = false
    ) {
        self.maxHeadBytes = maxHeadBytes
        self.maxHeaderCount = maxHeaderCount
        self.maxTargetLength = maxTargetLength
        self.maxBodyBytes = maxBodyBytes
        self.maxChunkLineBytes = maxChunkLineBytes
        self.allowBareLineFeed = allowBareLineFeed
    }

    /// Defaults for parsing requests (server side). Any thread.
    public static let requests = HTTP1ParserLimits()
    /// Defaults for parsing responses (client side): 80 KiB of head, as Envoy. Any thread.
    public static let responses = HTTP1ParserLimits(maxHeadBytes: 80 * 1024)
}
