import ConvoyRouter

/// A decoded Istio DestinationRule: traffic policy for a host, its subsets (label selections with
/// their own policy) and per-port overrides. Confined to the loading thread.
struct DestinationRuleSpec {
    /// The parts of a `trafficPolicy` convoy applies; nil fields fall back to the enclosing policy.
    struct TrafficPolicy {
        var loadBalancer: LoadBalancerPolicy?
        var connectionPool: ConnectionPoolSettings?
        var retryBudget: RetryBudget?
        var outlierDetection: OutlierDetectionPolicy?
        var slowStart: SlowStart?
        var portLevel: [UInt16: TrafficPolicy] = [:]

        /// `self` with unset parts taken from `outer` (Istio: a subset's policy overrides the
        /// service's part by part).
        func over(_ outer: TrafficPolicy) -> TrafficPolicy {
            TrafficPolicy(loadBalancer: loadBalancer ?? outer.loadBalancer, connectionPool: connectionPool ?? outer.connectionPool,
                          retryBudget: retryBudget ?? outer.retryBudget, outlierDetection: outlierDetection ?? outer.outlierDetection,
                          slowStart: loadBalancer == nil ? outer.slowStart : slowStart)
        }
    }

    struct Subset {
        let name: String
        let labels: [String: String]
        let policy: TrafficPolicy
        let node: ConfigNode
    }

    let name: String
    let host: String
    let policy: TrafficPolicy
    let subsets: [Subset]
    let node: ConfigNode
    let hostNode: ConfigNode


    init?(_ document: ConfigDocument) {
        let spec = document.spec
        guard let fields = spec.fields(
            ["host", "trafficPolicy", "subsets", "workloadSelector"], notApplied: ["exportTo": "there are no namespaces to export to"])
        else { return nil }
        if let selector = fields["workloadSelector"] { selector.error("'workloadSelector' needs a Kubernetes cluster; remove it") }
        guard let hostNode = fields["host"], let host = hostNode.string() else {
            if fields["host"] == nil { spec.error("a DestinationRule needs 'host'") }
            return nil
        }
        let policy = fields["trafficPolicy"].map { Self.trafficPolicy($0, allowPortLevel: true) } ?? TrafficPolicy()
        var subsets: [Subset] = []
        var seen: Set<String> = []
        for node in fields["subsets"]?.list() ?? [] {
            guard let subset = node.fields(["name", "labels", "trafficPolicy"]) else { continue }
            guard let name = subset["name"]?.string() else {
                if subset["name"] == nil { node.error("missing 'name'") }
                continue
            }
            if !seen.insert(name).inserted { subset["name"]!.error("subset '\(name)' is defined twice") }
            var labels: [String: String] = [:]
            for entry in subset["labels"]?.stringMap() ?? [] { labels[entry.key] = entry.value }
            let own = subset["trafficPolicy"].map { Self.trafficPolicy($0, allowPortLevel: false) } ?? TrafficPolicy()
            subsets.append(Subset(name: name, labels: labels, policy: own, node: node))
        }
        self.name = document.name
        self.host = host.lowercased()
        self.policy = policy
        self.subsets = subsets
        self.node = document.root
        self.hostNode = hostNode
    }

    private static func trafficPolicy(_ node: ConfigNode, allowPortLevel: Bool) -> TrafficPolicy {
        var known = ["loadBalancer", "connectionPool", "outlierDetection"]
        if allowPortLevel { known += ["portLevelSettings", "retryBudget"] }
        guard let fields = node.fields(known, notApplied: [
            "tls": "upstream TLS is not supported yet", "tunnel": "tunnelling is for TCP routes", "proxyProtocol": "PROXY protocol is not supported yet",
        ]) else { return TrafficPolicy() }
        var policy = TrafficPolicy()
        (policy.loadBalancer, policy.slowStart) = fields["loadBalancer"].map(loadBalancing) ?? (nil, nil)
        policy.connectionPool = fields["connectionPool"].flatMap(connectionPool)
        policy.outlierDetection = fields["outlierDetection"].flatMap(outlierDetection)
        if let budgetNode = fields["retryBudget"], let budget = budgetNode.fields(["percent", "minRetryConcurrency"], notApplied: [
            "budgetInterval": "the budget counts requests in flight (Istio's default, 0s)",
        ]) {
            let percent = budget["percent"].flatMap { $0.fields(["value"]) }?["value"]?.double(in: 0...100)
            policy.retryBudget = RetryBudget(
                percent: percent ?? 20, minRetryConcurrency: budget["minRetryConcurrency"]?.int(in: 0...Int(UInt32.max)) ?? 3)
        }
        for portNode in fields["portLevelSettings"]?.list() ?? [] {
            guard let portFields = portNode.fields(["port", "loadBalancer", "connectionPool", "outlierDetection"], notApplied: [
                "tls": "upstream TLS is not supported yet",
            ]) else { continue }
            guard let portSelector = portFields["port"]?.fields(["number"]), let number = portSelector["number"]?.port() else {
                if portFields["port"] == nil { portNode.error("missing 'port'") }
                continue
            }
            let balancing = portFields["loadBalancer"].map(loadBalancing) ?? (nil, nil)
            policy.portLevel[number] = TrafficPolicy(
                loadBalancer: balancing.0, connectionPool: portFields["connectionPool"].flatMap(connectionPool),
                outlierDetection: portFields["outlierDetection"].flatMap(outlierDetection), slowStart: balancing.1)
        }
        return policy
    }

    /// `loadBalancer`: the policy and its warm-up (`warmup`, or the older `warmupDurationSecs`).
    private static func loadBalancing(_ node: ConfigNode) -> (LoadBalancerPolicy?, SlowStart?) {
        guard let fields = node.fields(["simple", "consistentHash", "warmup", "warmupDurationSecs"], notApplied: [
            "localityLbSetting": "locality load balancing is not supported", "zoneAwareLbSetting": "zone-aware routing is not supported",
        ]) else { return (nil, nil) }
        let policy = loadBalancer(node, fields)
        var slowStart: SlowStart?
        if let warmup = fields["warmup"], let warmupFields = warmup.fields(["duration", "minimumPercent", "aggression"]) {
            if let legacy = fields["warmupDurationSecs"] { legacy.error("'warmup' and 'warmupDurationSecs' are exclusive; give one") }
            if let window = warmupFields["duration"]?.duration(minimum: .milliseconds(1)) {
                slowStart = SlowStart(
                    window: window, minimumPercent: warmupFields["minimumPercent"].flatMap { $0.fields(["value"]) }?["value"]?.double(in: 0...100) ?? 10,
                    aggression: warmupFields["aggression"].flatMap { $0.fields(["value"]) }?["value"]?.double(in: 0.01...1000) ?? 1)
            } else if warmupFields["duration"] == nil {
                warmup.error("missing 'duration'")
            }
        } else if let legacy = fields["warmupDurationSecs"], let window = legacy.duration(minimum: .milliseconds(1)) {
            slowStart = SlowStart(window: window)
        }
        if slowStart != nil, let policy, policy != .roundRobin, policy != .leastRequest {
            (fields["warmup"] ?? fields["warmupDurationSecs"])!.warning("not applied: warm-up works with ROUND_ROBIN and LEAST_REQUEST only")
            return (policy, nil)
        }
        return (policy, slowStart)
    }

    private static func loadBalancer(_ node: ConfigNode, _ fields: [String: ConfigNode]) -> LoadBalancerPolicy? {
        if fields["simple"] != nil && fields["consistentHash"] != nil {
            node.error("'simple' and 'consistentHash' are exclusive; give one")
            return nil
        }
        if let simple = fields["simple"], let value = simple.string() {
            switch value {
            case "ROUND_ROBIN": return .roundRobin
            case "LEAST_REQUEST", "LEAST_CONN", "UNSPECIFIED": return .leastRequest
            case "RANDOM": return .random
            case "PASSTHROUGH": simple.error("PASSTHROUGH needs the original destination, which a gateway does not have")
            default: simple.error("unknown policy '\(value)'; use ROUND_ROBIN, LEAST_REQUEST or RANDOM")
            }
            return nil
        }
        guard let hashNode = fields["consistentHash"], let hash = hashNode.fields(
            ["httpHeaderName", "httpCookie", "useSourceIp", "httpQueryParameterName", "ringHash", "minimumRingSize", "maglev"])
        else { return nil }
        var size = 1024
        if let ring = hash["ringHash"], let ringFields = ring.fields(["minimumRingSize"]) {
            size = ringFields["minimumRingSize"]?.int(in: 1...8_388_608) ?? size
        }
        if let minimum = hash["minimumRingSize"]?.int(in: 1...8_388_608) { size = minimum }
        if let maglev = hash["maglev"] { maglev.error("Maglev is not supported; use 'ringHash'") }
        var keys: [HashKey] = []
        if let header = hash["httpHeaderName"]?.string() { keys.append(.header(header.lowercased())) }
        if let cookie = hash["httpCookie"], let cookieFields = cookie.fields(["name", "path", "ttl", "attributes"]) {
            if let name = cookieFields["name"]?.string() { keys.append(.cookie(name)) } else if cookieFields["name"] == nil { cookie.error("missing 'name'") }
            if let ttl = cookieFields["ttl"] { ttl.warning("'ttl' has no effect: convoy hashes an existing cookie but does not set one") }
        }
        if hash["useSourceIp"]?.bool() == true { keys.append(.sourceIP) }
        if let parameter = hash["httpQueryParameterName"]?.string() { keys.append(.queryParameter(parameter)) }
        guard keys.count == 1 else {
            hashNode.error(keys.isEmpty
                ? "give one hash key: httpHeaderName, httpCookie, useSourceIp or httpQueryParameterName"
                : "give only one hash key (httpHeaderName, httpCookie, useSourceIp, httpQueryParameterName)")
            return nil
        }
        return .ringHash(key: keys[0], minimumRingSize: size)
    }

    /// `outlierDetection`, with Istio's defaults for what is left out.
    private static func outlierDetection(_ node: ConfigNode) -> OutlierDetectionPolicy? {
        guard let fields = node.fields(
            ["consecutive5xxErrors", "consecutiveGatewayErrors", "splitExternalLocalOriginErrors", "consecutiveLocalOriginFailures",
             "interval", "baseEjectionTime", "maxEjectionPercent", "minHealthPercent", "consecutiveErrors"],
            notApplied: ["outlierDetectionHttpErrorCodes": "every 5xx counts as an error"])
        else { return nil }
        var policy = OutlierDetectionPolicy()
        if let value = fields["consecutive5xxErrors"]?.int(in: 0...Int(UInt32.max)) { policy.consecutive5xxErrors = value }
        if let node = fields["consecutiveErrors"], let value = node.int(in: 0...Int(UInt32.max)) {
            node.warning("'consecutiveErrors' is deprecated: it counts as 'consecutiveGatewayErrors'")
            policy.consecutiveGatewayErrors = value
        }
        if let value = fields["consecutiveGatewayErrors"]?.int(in: 0...Int(UInt32.max)) { policy.consecutiveGatewayErrors = value }
        if let value = fields["splitExternalLocalOriginErrors"]?.bool() { policy.splitExternalLocalOriginErrors = value }
        if let value = fields["consecutiveLocalOriginFailures"]?.int(in: 0...Int(UInt32.max)) { policy.consecutiveLocalOriginFailures = value }
        if let value = fields["interval"]?.duration() { policy.interval = value }
        if let value = fields["baseEjectionTime"]?.duration() { policy.baseEjectionTime = value }
        if let value = fields["maxEjectionPercent"]?.int(in: 0...100) { policy.maxEjectionPercent = value }
        if let value = fields["minHealthPercent"]?.int(in: 0...100) { policy.minHealthPercent = value }
        return policy
    }

    private static func connectionPool(_ node: ConfigNode) -> ConnectionPoolSettings? {
        guard let fields = node.fields(["tcp", "http"]) else { return nil }
        var settings = ConnectionPoolSettings()
        if let tcp = fields["tcp"]?.fields(["maxConnections", "connectTimeout", "tcpKeepalive", "maxConnectionDuration"], notApplied: [
            "idleTimeout": "convoy's pool closes idle connections by 'http.idleTimeout'",
        ]) {
            if let value = tcp["maxConnectionDuration"]?.duration(minimum: .zero) { settings.maxConnectionDuration = value == .zero ? nil : value }
            if let value = tcp["maxConnections"]?.int(in: 1...Int(UInt32.max)) { settings.maxConnections = value }
            if let value = tcp["connectTimeout"]?.duration() { settings.connectTimeout = value }
            if let keepalive = tcp["tcpKeepalive"]?.fields(["probes", "time", "interval"]) {
                settings.tcpKeepalive = ConnectionPoolSettings.TCPKeepalive(
                    probes: keepalive["probes"]?.int(in: 1...127), time: keepalive["time"]?.duration(minimum: .seconds(1)),
                    interval: keepalive["interval"]?.duration(minimum: .seconds(1)))
            }
        }
        if let http = fields["http"]?.fields(["http1MaxPendingRequests", "maxRequestsPerConnection", "idleTimeout", "maxRetries"], notApplied: [
            "http2MaxRequests": "HTTP/2 is not supported", "maxConcurrentStreams": "HTTP/2 is not supported",
            "h2UpgradePolicy": "HTTP/2 is not supported", "useClientProtocol": "upstreams always get HTTP/1.1",
            "http2KeepAlive": "HTTP/2 is not supported",
        ]) {
            if let value = http["http1MaxPendingRequests"]?.int(in: 1...Int(UInt32.max)) { settings.maxPendingRequests = value }
            if let value = http["maxRequestsPerConnection"]?.int(in: 0...Int(Int32.max)) { settings.maxRequestsPerConnection = value == 0 ? nil : value }
            if let value = http["idleTimeout"]?.duration() { settings.idleTimeout = value }
            if let value = http["maxRetries"]?.int(in: 0...Int(UInt32.max)) { settings.maxRetries = value }
        }
        return settings
    }
}
