/// What the access log records of one request, filled on the worker's thread (a class: a session
/// holds a reference, not the whole record, while no access log is configured).
final class AccessLogEntry {
    /// Wall-clock start, seconds and nanoseconds since the epoch.
    var startSeconds = 0
    var startNanoseconds = 0
    var method = ""
    var path = ""
    var proto = "HTTP/1.1"
    var authority = ""
    var userAgent = ""
    var forwardedFor = ""
    var requestID = ""
    var status = 0
    /// Envoy's response flags, comma-separated (`-` when none).
    var flags = ""
    var bytesReceived = 0
    var bytesSent = 0
    /// Milliseconds from the request head to the response's end.
    var durationMilliseconds = 0
    /// Milliseconds from the request going upstream to the response head (nil: no upstream answer).
    var upstreamServiceMilliseconds: Int?
    var upstreamHost = ""
    var upstreamCluster = ""
    var downstreamAddress = ""
    /// The socket's peer, whatever a PROXY header or `x-forwarded-for` said.
    var downstreamDirectAddress = ""
    var routeName = ""
    /// Request headers the format asks for by name (lower case), in the format's order.
    var requestHeaders: [String: String] = [:]
    /// Response headers the format asks for by name (lower case).
    var responseHeaders: [String: String] = [:]
}
