/// A request method. Only the methods Envoy accepts by default are known; any other token is
/// rejected by the parser with 400 (custom methods are a smuggling and cache-poisoning risk).
/// Any thread.
public enum HTTPMethod: String, Sendable, CaseIterable {
    case acl = "ACL", bind = "BIND", checkout = "CHECKOUT", connect = "CONNECT", copy = "COPY"
    case delete = "DELETE", get = "GET", head = "HEAD", link = "LINK", lock = "LOCK"
    case merge = "MERGE", mkactivity = "MKACTIVITY", mkcalendar = "MKCALENDAR", mkcol = "MKCOL"
    case move = "MOVE", msearch = "M-SEARCH", notify = "NOTIFY", options = "OPTIONS"
    case patch = "PATCH", post = "POST", propfind = "PROPFIND", proppatch = "PROPPATCH"
    case purge = "PURGE", put = "PUT", rebind = "REBIND", report = "REPORT", search = "SEARCH"
    case source = "SOURCE", subscribe = "SUBSCRIBE", trace = "TRACE", unbind = "UNBIND"
    case unlink = "UNLINK", unlock = "UNLOCK", unsubscribe = "UNSUBSCRIBE"

    /// The method spelled by `bytes` (exact case), or nil. Any thread.
    @inline(__always)
    static func parse(_ bytes: UnsafePointer<UInt8>, count: Int) -> HTTPMethod? {
        // The common methods without building a string.
        switch count {
        case 3:
            if bytes[0] == 0x47, bytes[1] == 0x45, bytes[2] == 0x54 { return .get }
            if bytes[0] == 0x50, bytes[1] == 0x55, bytes[2] == 0x54 { return .put }
        case 4:
            if bytes[0] == 0x50, bytes[1] == 0x4F, bytes[2] == 0x53, bytes[3] == 0x54 { return .post }
            if bytes[0] == 0x48, bytes[1] == 0x45, bytes[2] == 0x41, bytes[3] == 0x44 { return .head }
        default:
            break
        }
        guard count <= 16 else { return nil }
        let raw = UnsafeRawBufferPointer(start: bytes, count: count)
        for method in allCases {
            var name = method.rawValue
            if name.withUTF8({ $0.elementsEqual(raw) }) { return method }
        }
        return nil
    }

    /// GET, PUT, POST or HEAD from the first four bytes of a request line (little-endian), when
    /// they spell `GET `, `PUT `, `POST` or `HEAD`; the caller checks the space after the last
    /// two. Any thread.
    @inline(__always)
    static func commonWithSpace(_ firstFour: UInt32) -> HTTPMethod? {
        switch UInt32(littleEndian: firstFour) {
        case 0x2054_4547: .get  // "GET "
        case 0x2054_5550: .put  // "PUT "
        case 0x5453_4F50: .post  // "POST"
        case 0x4441_4548: .head  // "HEAD"
        default: nil
        }
    }

    /// True for methods whose requests never carry a body by convention (used for framing of
    /// bodyless requests on the client side). Any thread.
    public var isSafe: Bool {
        switch self {
        case .get, .head, .options, .trace: true
        default: false
        }
    }

    /// True for methods a client may repeat without changing the outcome (RFC 9110 §9.2.2). Any thread.
    public var isIdempotent: Bool {
        switch self {
        case .get, .head, .options, .trace, .put, .delete: true
        default: false
        }
    }
}

/// An HTTP version: `HTTP/<major>.<minor>`. Any thread.
public struct HTTPVersion: Sendable, Hashable, CustomStringConvertible {
    /// The major digit. Any thread.
    public var major: UInt8
    /// The minor digit. Any thread.
    public var minor: UInt8

    /// A version. Any thread.
    public init(major: UInt8, minor: UInt8) {
        self.major = major
        self.minor = minor
    }

    /// HTTP/1.1. Any thread.
    public static let http11 = HTTPVersion(major: 1, minor: 1)
    /// HTTP/1.0. Any thread.
    public static let http10 = HTTPVersion(major: 1, minor: 0)

    /// `HTTP/1.1`. Any thread.
    public var description: String { "HTTP/\(major).\(minor)" }
}
