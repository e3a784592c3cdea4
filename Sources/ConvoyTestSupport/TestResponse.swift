/// A response a ``BlockingHTTPClient`` read: status, header fields in order, and the whole body
/// (or just its size for large bodies). A plain value: any thread.
public struct TestResponse: Sendable {
    /// The status code. Any thread.
    public var status: Int
    /// Header fields as received. Any thread.
    public var headers: [(name: String, value: String)]
    /// The body (empty when the client was asked only to count it). Any thread.
    public var body: [UInt8]
    /// Body bytes received. Any thread.
    public var bodyLength: Int

    /// The first value of `name` (any case). Any thread.
    public func header(_ name: String) -> String? {
        headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }

    /// The body as UTF-8 text. Any thread.
    public var text: String { String(decoding: body, as: UTF8.self) }
}
