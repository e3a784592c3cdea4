/// A request line and its headers. The target is kept as bytes until read as a `String`.
/// Not `Sendable`: it belongs to the thread that parsed or built it.
public struct HTTPRequestHead {
    /// The method. The owning thread.
    public var method: HTTPMethod
    /// The version from the request line. The owning thread.
    public var version: HTTPVersion
    /// The header fields, in order. The owning thread.
    public var headers: HTTPHeaders
    /// How the body is delimited, as the parser determined it (a built head: `.none`). The owning thread.
    public internal(set) var framing: HTTPBodyFraming = .none
    /// Whether the connection stays open after this exchange (HTTP/1.1 unless `Connection: close`;
    /// HTTP/1.0 only with `Connection: keep-alive`). The owning thread.
    public internal(set) var keepAlive = true
    /// `Expect: 100-continue` was sent. The owning thread.
    public internal(set) var expectsContinue = false
    /// `Connection: upgrade` with an `Upgrade` header, or CONNECT: after this request's body the
    /// connection carries raw bytes (if the response agrees). The owning thread.
    public internal(set) var isUpgrade = false

    /// A request head with `target` (origin-form `/path?query`, or what the method needs). Any thread.
    public init(method: HTTPMethod, target: String, version: HTTPVersion = .http11, headers: HTTPHeaders = HTTPHeaders()) {
        self.method = method
        self.version = version
        self.headers = headers
        self.target = target
    }

    init(method: HTTPMethod, version: HTTPVersion, headers: HTTPHeaders) {
        self.method = method
        self.version = version
        self.headers = headers
    }

    /// The request target as sent (`/path?query`, `host:port` for CONNECT, `*`, or absolute-form). The owning thread.
    public var target: String {
        get { headers.storage.string(start: headers.storage.lineTextStart, length: headers.storage.lineTextLength) }
        set { headers.setLineText(newValue) }
    }

    /// False when the parsed target has no `.`, `%` or `\`, so no path normalization but slash
    /// merging can change it (a set or built target: true). The owning thread.
    public var targetMayNeedNormalizing: Bool { headers.storage.targetMayNeedNormalizing }

    /// Calls `body` with the target's bytes, valid only during the call. The owning thread.
    public func withTargetBytes<Result>(_ body: (UnsafeRawBufferPointer) throws -> Result) rethrows -> Result {
        try body(headers.storage.bufferPointer(start: headers.storage.lineTextStart, length: headers.storage.lineTextLength))
    }
}

/// A status line and its headers. Not `Sendable`: it belongs to the thread that parsed or built it.
public struct HTTPResponseHead {
    /// The status code (100–999). The owning thread.
    public var status: Int
    /// The version from the status line. The owning thread.
    public var version: HTTPVersion
    /// The header fields, in order. The owning thread.
    public var headers: HTTPHeaders
    /// How the body is delimited, as the parser determined it (a built head: `.none`). The owning thread.
    public internal(set) var framing: HTTPBodyFraming = .none
    /// Whether the connection stays open after this response. The owning thread.
    public internal(set) var keepAlive = true
    /// 101, or a 2xx answer to CONNECT: the connection now carries raw bytes. The owning thread.
    public internal(set) var isUpgrade = false

    /// A response head; an empty `reason` is replaced by the standard phrase when encoded. Any thread.
    public init(status: Int, reason: String = "", version: HTTPVersion = .http11, headers: HTTPHeaders = HTTPHeaders()) {
        self.status = status
        self.version = version
        self.headers = headers
        if !reason.isEmpty { self.reason = reason }
    }

    init(status: Int, version: HTTPVersion, headers: HTTPHeaders) {
        self.status = status
        self.version = version
        self.headers = headers
    }

    /// The reason phrase as received (may be empty). The owning thread.
    public var reason: String {
        get { headers.storage.string(start: headers.storage.lineTextStart, length: headers.storage.lineTextLength) }
        set { headers.setLineText(newValue) }
    }

    /// True for 1xx other than 101: an interim response, followed by the final one. The owning thread.
    public var isInformational: Bool { status >= 100 && status < 200 && status != 101 }
}
