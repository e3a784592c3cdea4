/// Why the parser rejected a message. Each kind maps to the status a server answers with and to
/// a stable detail code (Envoy's response-code-details style) for logs and stats. After any of
/// these the connection must be closed: no later byte is parsed. Any thread.
public struct HTTPParseError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What was wrong. Any thread.
    public enum Kind: String, Sendable, Hashable, CaseIterable {
        case headersTooLarge = "http1.headers_too_large"
        case tooManyHeaders = "http1.too_many_headers"
        case targetTooLong = "http1.uri_too_long"
        case bodyTooLarge = "http1.body_too_large"
        case invalidMethod = "http1.invalid_method"
        case invalidTarget = "http1.invalid_url"
        case invalidVersion = "http1.invalid_version"
        case unsupportedVersion = "http1.unsupported_version"
        case invalidRequestLine = "http1.invalid_request_line"
        case invalidStatusLine = "http1.invalid_status_line"
        case invalidHeaderName = "http1.invalid_header_name"
        case invalidHeaderValue = "http1.invalid_characters"
        case missingColon = "http1.missing_colon"
        case obsoleteLineFolding = "http1.obs_fold"
        case bareLineFeed = "http1.bare_lf"
        case invalidContentLength = "http1.invalid_content_length"
        case conflictingContentLength = "http1.multiple_content_length"
        case contentLengthAndTransferEncoding = "http1.content_length_and_chunked_not_allowed"
        case unsupportedTransferEncoding = "http1.invalid_transfer_encoding"
        case chunkedNotFinal = "http1.chunked_not_final"
        case transferEncodingInHTTP10 = "http1.transfer_encoding_in_http10"
        case invalidChunkSize = "http1.invalid_chunk_size"
        case invalidChunkExtension = "http1.invalid_chunk_extension"
        case invalidChunkTerminator = "http1.invalid_chunk_terminator"
        case missingHost = "http1.missing_host_header"
        case multipleHost = "http1.multiple_host_headers"
        case invalidHost = "http1.invalid_host"
        case invalidConnectionHeader = "http1.connection_header_rejected"
        case bodyNotAllowed = "http1.body_disallowed"
        case incompleteMessage = "http1.incomplete_message"
        case unexpectedData = "http1.extraneous_data"

        /// The status a server answers with. Any thread.
        public var status: Int {
            switch self {
            case .headersTooLarge, .tooManyHeaders: 431
            case .targetTooLong: 414
            case .bodyTooLarge: 413
            case .unsupportedVersion: 505
            case .unsupportedTransferEncoding: 501
            default: 400
            }
        }
    }

    /// What was wrong. Any thread.
    public let kind: Kind
    /// Where it was found: bytes of the message consumed before the error, for logs. Any thread.
    public let offset: Int

    /// An error of `kind` found `offset` bytes into the message. Any thread.
    public init(_ kind: Kind, offset: Int = 0) {
        self.kind = kind
        self.offset = offset
    }

    /// The status a server answers with (400, 413, 414, 431, 501 or 505). Any thread.
    public var status: Int { kind.status }

    /// `http1.<detail>` and the status. Any thread.
    public var description: String { "\(kind.rawValue) (\(status))" }
}
