import ConvoyRouter

/// A decoded Istio ServiceEntry: the hosts it names, their ports, and the endpoints behind them.
/// Confined to the loading thread.
struct ServiceEntrySpec {
    struct Port {
        let number: UInt16
        let name: String?
        let targetPort: UInt16?
    }

    struct Endpoint {
        let address: String
        let ports: [String: UInt16]
        let labels: [String: String]
        let weight: UInt32
    }

    let name: String
    let hosts: [String]
    let ports: [Port]
    let discovery: ClusterConfig.Discovery
    let endpoints: [Endpoint]
    let node: ConfigNode

    init?(_ document: ConfigDocument) {
        let spec = document.spec
        let notApplied = [
            "addresses": "convoy routes by Host header, not by virtual IP",
            "location": "convoy treats every entry alike",
            "exportTo": "there are no namespaces to export to",
            "subjectAltNames": "upstream TLS is not supported yet",
        ]
        guard let fields = spec.fields(["hosts", "ports", "resolution", "endpoints", "workloadSelector"], notApplied: notApplied) else { return nil }
        if let selector = fields["workloadSelector"] {
            selector.error("'workloadSelector' needs a Kubernetes cluster; list 'endpoints' instead")
        }
        let hosts = fields["hosts"]?.stringList() ?? []
        if fields["hosts"] == nil { spec.error("a ServiceEntry needs 'hosts'") } else if hosts.isEmpty { fields["hosts"]!.error("must list at least one host") }
        var ports: [Port] = []
        if let portNodes = fields["ports"]?.list() {
            for node in portNodes {
                guard let port = node.fields(["number", "protocol", "name", "targetPort"]) else { continue }
                guard let number = port["number"]?.port() else {
                    if port["number"] == nil { node.error("missing 'number'") }
                    continue
                }
                if let proto = port["protocol"], let value = proto.string() {
                    switch value.uppercased() {
                    case "HTTP", "HTTP1": break
                    case "HTTP2", "GRPC", "GRPC-WEB", "TCP", "TLS", "HTTPS", "MONGO", "MYSQL", "REDIS":
                        proto.error("protocol '\(value)' is not supported: convoy proxies HTTP/1.1")
                    default:
                        proto.error("unknown protocol '\(value)'; use HTTP")
                    }
                }
                ports.append(Port(number: number, name: port["name"]?.string(), targetPort: port["targetPort"]?.port()))
            }
            if portNodes.isEmpty { fields["ports"]!.error("must list at least one port") }
        } else if fields["ports"] == nil {
            spec.error("a ServiceEntry needs 'ports'")
        }
        var discovery = ClusterConfig.Discovery.static
        if let resolution = fields["resolution"], let value = resolution.string() {
            switch value {
            case "STATIC": discovery = .static
            case "DNS", "DNS_ROUND_ROBIN", "DYNAMIC_DNS": discovery = .dns(refresh: .seconds(5))
            case "NONE": resolution.error("resolution NONE (pass-through to the original destination) is not supported; use STATIC or DNS")
            default: resolution.error("unknown resolution '\(value)'; use STATIC or DNS")
            }
        } else if fields["resolution"] == nil {
            spec.error("missing 'resolution' (STATIC or DNS)")
        }
        var endpoints: [Endpoint] = []
        if let endpointNodes = fields["endpoints"]?.list() {
            for node in endpointNodes {
                guard let endpoint = node.fields(
                    ["address", "ports", "labels", "weight"],
                    notApplied: ["network": "there is one network", "locality": "locality load balancing is not supported",
                                 "serviceAccount": "there is no mesh identity"]) else { continue }
                guard let addressNode = endpoint["address"], let address = addressNode.string() else {
                    if endpoint["address"] == nil { node.error("missing 'address'") }
                    continue
                }
                if discovery == .static, !SocketAddressParsing.isIPAddress(address) {
                    addressNode.error("'\(address)' is not an IP address; resolution STATIC needs IP addresses (use DNS for names)")
                }
                var endpointPorts: [String: UInt16] = [:]
                if let portsNode = endpoint["ports"], let entries = portsNode.entries() {
                    for entry in entries { if let number = entry.value.port() { endpointPorts[entry.key] = number } }
                }
                var labels: [String: String] = [:]
                for entry in endpoint["labels"]?.stringMap() ?? [] { labels[entry.key] = entry.value }
                let weight = endpoint["weight"]?.int(in: 1...Int(UInt32.max)).map(UInt32.init) ?? 1
                endpoints.append(Endpoint(address: address, ports: endpointPorts, labels: labels, weight: weight))
            }
        } else if fields["endpoints"] == nil, discovery == .static, fields["resolution"] != nil {
            spec.error("resolution STATIC needs 'endpoints'")
        }
        self.name = document.name
        self.hosts = hosts
        self.ports = ports
        self.discovery = discovery
        self.endpoints = endpoints
        self.node = document.root
    }
}
