import ConvoyHTTP1
import ConvoyNetwork
import ConvoyRouter

#if canImport(Glibc)
import Glibc
#endif

/// convoy's own settings (`kind: Bootstrap`, `apiVersion: convoy/v1alpha1`); every field has a
/// default, so the object is optional. Immutable; any thread.
public struct BootstrapSettings: Sendable {
    /// Access log output.
    public struct AccessLog: Sendable, Equatable {
        /// `text` (Envoy's default format) or `json` (one object per line).
        public enum Format: String, Sendable, Equatable { case text, json }
        /// A file path, or `/dev/stdout`. Any thread.
        public var path: String
        /// The line format. Any thread.
        public var format: Format
        /// For `text`: a line template with Envoy's `%…%` operators (nil: Envoy's default format). Any thread.
        public var textFormat: String?

        /// An access log. Any thread.
        public init(path: String, format: Format, textFormat: String? = nil) {
            self.path = path
            self.format = format
            self.textFormat = textFormat
        }
    }

    /// The admin listener (Istio's sidecar default 127.0.0.1:15000). Any thread.
    public var adminAddress = SocketAddress(ip: "127.0.0.1", port: 15000)!
    /// Worker threads (default: one per CPU core). Any thread.
    public var concurrency = BootstrapSettings.cpuCount
    /// Access log, if any. Any thread.
    public var accessLog: AccessLog?
    /// Request parsing limits (Envoy's: 60 KiB and 100 headers). Any thread.
    public var requestLimits = HTTP1ParserLimits.requests
    /// How long a graceful drain waits for in-flight requests (default 5 s). Any thread.
    public var drainDuration: Duration = .seconds(5)
    /// How long a graceful drain keeps accepting connections before it stops listening (default
    /// 0: at once, as nginx does). Meanwhile every response closes its connection and the process
    /// does not exit. In Kubernetes, set it to the time endpoint removal takes to reach every
    /// client, so none of them meets a refused connection (Istio's `MINIMUM_DRAIN_DURATION`).
    /// Any thread.
    public var minimumDrainDuration: Duration = .zero
    /// How request paths are normalized before routing (Istio's MeshConfig `pathNormalization`;
    /// default `BASE`, dot segments resolved). Any thread.
    public var pathNormalization: PathNormalization = .base
    /// Proxies in front of convoy whose `x-forwarded-for` entries are trusted (Istio's
    /// `gatewayTopology.numTrustedProxies`, Envoy's `xff_num_trusted_hops`; default 0): the client
    /// is the Nth address from the right of `x-forwarded-for`, for source-IP hashing and the access
    /// log. Any thread.
    public var numTrustedProxies = 0
    /// Every downstream connection starts with a PROXY protocol header, v1 or v2 (Istio's
    /// `gatewayTopology.proxyProtocol: {}`, behind a TCP load balancer such as an AWS NLB): its
    /// source address is the client's (for `x-forwarded-for`, source-IP hashing and the access
    /// log), and a connection without a valid one is closed. Default off. Any thread.
    public var proxyProtocol = false
    /// A request's head must arrive within this (nginx's `client_header_timeout`, 60 s). Any thread.
    public var requestHeadersTimeout: Duration? = .seconds(60)
    /// A request with no activity either way for this long gets 408 or is reset (Envoy's 5 min). Any thread.
    public var streamIdleTimeout: Duration? = .seconds(300)
    /// A downstream connection with no request for this long is closed (Envoy's 1 h). Any thread.
    public var connectionIdleTimeout: Duration? = .seconds(3600)
    /// Bytes buffered per connection before reading pauses (Envoy's 1 MiB). Any thread.
    public var connectionBufferLimit = 1 << 20
    /// Give each request a new span id for this hop (`traceparent` parent id, B3 span id). Any thread.
    public var newSpanPerHop = false
    /// Active health checks by ServiceEntry host (and port, when given). Any thread.
    public var healthChecks: [HealthCheckTarget] = []

    /// Active health checking for a service's endpoints (`healthChecks[]`). Any thread.
    public struct HealthCheckTarget: Sendable {
        /// The ServiceEntry host whose clusters are checked. Any thread.
        public var host: String
        /// Only the clusters of this service port (nil: every port). Any thread.
        public var port: UInt16?
        /// How to check. Any thread.
        public var policy: HealthCheckPolicy

        /// A health check for `host` (`port`: nil for every port). Any thread.
        public init(host: String, port: UInt16? = nil, policy: HealthCheckPolicy) {
            self.host = host
            self.port = port
            self.policy = policy
        }
    }

    /// Defaults. Any thread.
    public init() {}

    /// The number of online CPUs. Any thread.
    public static var cpuCount: Int { max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))) }

    /// Reads a Bootstrap document; `healthCheckNodes` gets the node of each health check, in
    /// order, for the checks that need the rest of the configuration.
    init(_ document: ConfigDocument, healthCheckNodes: inout [ConfigNode]) {
        let spec = document.spec
        guard let fields = spec.fields(["admin", "concurrency", "accessLog", "limits", "drainDuration", "minimumDrainDuration", "timeouts", "connectionBufferLimitBytes", "healthChecks", "tracing", "pathNormalization", "gatewayTopology"]) else { return }
        if let admin = fields["admin"]?.fields(["address"]), let node = admin["address"], let text = node.string() {
            if let address = SocketAddress(text) { adminAddress = address } else { node.error("'\(text)' is not an address (e.g. 127.0.0.1:15000)") }
        }
        if let value = fields["concurrency"]?.int(in: 0...1024) { concurrency = value == 0 ? Self.cpuCount : value }
        if let log = fields["accessLog"], let logFields = log.fields(["path", "format", "textFormat"]) {
            var format = AccessLog.Format.text
            if let formatNode = logFields["format"], let text = formatNode.string() {
                if let parsed = AccessLog.Format(rawValue: text) { format = parsed } else { formatNode.error("format must be text or json") }
            }
            var template: String?
            if let node = logFields["textFormat"], let text = node.string() {
                if case .failure(let unknown) = AccessLogFormat.compile(text) {
                    node.error("unknown access-log operator %\(unknown.name)%")
                } else if format == .json {
                    node.error("'textFormat' is for format: text")
                }
                template = text.hasSuffix("\n") ? text : text + "\n"
            }
            if let path = logFields["path"]?.string() {
                accessLog = AccessLog(path: path, format: format, textFormat: template)
            } else if logFields["path"] == nil {
                log.error("missing 'path' (a file, or /dev/stdout)")
            }
        }
        if let limits = fields["limits"]?.fields(["maxRequestHeadersKb", "maxRequestHeaders", "maxRequestBodyBytes", "maxUriLength"]) {
            if let kb = limits["maxRequestHeadersKb"]?.int(in: 1...8192) { requestLimits.maxHeadBytes = kb * 1024 }
            if let count = limits["maxRequestHeaders"]?.int(in: 1...10_000) { requestLimits.maxHeaderCount = count }
            if let bytes = limits["maxRequestBodyBytes"]?.int(in: 0...Int.max) { requestLimits.maxBodyBytes = bytes }
            if let length = limits["maxUriLength"]?.int(in: 16...1_048_576) { requestLimits.maxTargetLength = length }
        }
        if let value = fields["drainDuration"]?.duration(minimum: .zero) { drainDuration = value }
        if let node = fields["minimumDrainDuration"], let value = node.duration(minimum: .zero) {
            minimumDrainDuration = value
            if value > drainDuration { node.error("longer than drainDuration (\(drainDuration)), the drain's deadline") }
        }
        if let timeouts = fields["timeouts"]?.fields(["requestHeaders", "streamIdle", "connectionIdle"]) {
            if let node = timeouts["requestHeaders"], let value = node.duration(minimum: .zero) { requestHeadersTimeout = value == .zero ? nil : value }
            if let node = timeouts["streamIdle"], let value = node.duration(minimum: .zero) { streamIdleTimeout = value == .zero ? nil : value }
            if let node = timeouts["connectionIdle"], let value = node.duration(minimum: .zero) { connectionIdleTimeout = value == .zero ? nil : value }
        }
        if let value = fields["connectionBufferLimitBytes"]?.int(in: 16384...(1 << 30)) { connectionBufferLimit = value }
        if let mode = fields["pathNormalization"]?.fields(["normalization"])?["normalization"]?.choice([
            "NONE": PathNormalization.none, "BASE": .base, "DEFAULT": .base, "MERGE_SLASHES": .mergeSlashes,
            "DECODE_AND_MERGE_SLASHES": .decodeAndMergeSlashes,
        ]) {
            pathNormalization = mode
        }
        if let topology = fields["gatewayTopology"]?.fields(["numTrustedProxies", "proxyProtocol"], notApplied: [
            "forwardClientCertDetails": "there is no client TLS here",
        ]) {
            if let value = topology["numTrustedProxies"]?.int(in: 0...64) { numTrustedProxies = value }
            if let node = topology["proxyProtocol"], node.fields([]) != nil { proxyProtocol = true }
        }
        if let tracing = fields["tracing"]?.fields(["newSpanPerHop"]), let value = tracing["newSpanPerHop"]?.bool() {
            newSpanPerHop = value
        }
        for node in fields["healthChecks"]?.list() ?? [] {
            guard let check = node.fields(["host", "port", "path", "interval", "timeout", "healthyThreshold", "unhealthyThreshold"]) else { continue }
            guard let host = check["host"]?.string(), let path = check["path"]?.string() else {
                for key in ["host", "path"] where check[key] == nil { node.error("missing '\(key)'") }
                continue
            }
            if !path.hasPrefix("/") { check["path"]!.error("a health-check path starts with '/'") }
            var policy = HealthCheckPolicy(path: path)
            if let value = check["interval"]?.duration() { policy.interval = value }
            if let value = check["timeout"]?.duration() { policy.timeout = value }
            if let value = check["healthyThreshold"]?.int(in: 1...1000) { policy.healthyThreshold = value }
            if let value = check["unhealthyThreshold"]?.int(in: 1...1000) { policy.unhealthyThreshold = value }
            healthChecks.append(HealthCheckTarget(host: host.lowercased(), port: check["port"]?.port(), policy: policy))
            healthCheckNodes.append(node)
        }
    }
}
