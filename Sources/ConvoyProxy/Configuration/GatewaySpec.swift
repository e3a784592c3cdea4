/// A decoded Istio Gateway: the ports to listen on and the hosts each exposes. Confined to the
/// loading thread.
struct GatewaySpec {
    struct Server {
        let port: UInt16
        let bind: String
        let hosts: [String]
        /// `tls.httpsRedirect`: every request gets a 301 to its `https://` URL.
        let httpsRedirect: Bool
        let node: ConfigNode
    }

    let name: String
    let namespace: String
    let servers: [Server]
    let node: ConfigNode

    init?(_ document: ConfigDocument) {
        let spec = document.spec
        guard let fields = spec.fields(["selector", "servers"]) else { return nil }
        _ = fields["selector"]?.stringMap()
        guard let serverNodes = fields["servers"]?.list(), !serverNodes.isEmpty else {
            if fields["servers"] == nil { spec.error("a Gateway needs 'servers'") } else { fields["servers"]!.error("must list at least one server") }
            return nil
        }
        var servers: [Server] = []
        for node in serverNodes {
            guard let server = node.fields(["port", "bind", "hosts", "name", "defaultEndpoint", "tls"]) else { continue }
            var httpsRedirect = false
            if let tls = server["tls"], let tlsFields = tls.entries() {
                // Only the redirect is plain HTTP; terminating TLS is not done here.
                for entry in tlsFields where entry.key != "httpsRedirect" {
                    entry.value.error("TLS is not supported yet: convoy serves plain HTTP/1.1 on Gateway servers (only 'httpsRedirect' is)")
                }
                httpsRedirect = tlsFields.first { $0.key == "httpsRedirect" }?.value.bool() ?? false
            }
            _ = server["name"]?.string()
            if let endpoint = server["defaultEndpoint"] {
                endpoint.warning("'defaultEndpoint' has no effect: convoy forwards only to ServiceEntry destinations")
            }
            var portNumber: UInt16?
            if let port = server["port"] {
                if let portFields = port.fields(["number", "protocol", "name", "targetPort"]) {
                    portNumber = portFields["number"]?.int(in: 0...65535).map { UInt16($0) }  // 0: any free port (tests)
                    if portFields["number"] == nil { port.error("missing 'number'") }
                    if let proto = portFields["protocol"], let value = proto.string(), value.uppercased() != "HTTP" {
                        proto.error("protocol '\(value)' is not supported; convoy serves HTTP (HTTP/1.1)")
                    }
                    _ = portFields["name"]?.string()
                    _ = portFields["targetPort"]?.port()
                }
            } else {
                node.error("missing 'port'")
            }
            var bind = "0.0.0.0"
            if let bindNode = server["bind"], let value = bindNode.string() {
                if SocketAddressParsing.isIPAddress(value) { bind = value } else { bindNode.error("'\(value)' is not an IP address") }
            }
            var hosts: [String] = []
            if let hostsNode = server["hosts"] {
                hosts = hostsNode.stringList() ?? []
                if hosts.isEmpty { hostsNode.error("must list at least one host") }
            } else {
                node.error("missing 'hosts' (use \"*\" for every host)")
            }
            if let portNumber, !hosts.isEmpty {
                servers.append(Server(port: portNumber, bind: bind, hosts: hosts.map(Self.stripNamespace), httpsRedirect: httpsRedirect, node: node))
            }
        }
        self.name = document.name
        self.namespace = document.namespace
        self.servers = servers
        self.node = document.root
    }

    /// `ns/host` and `./host` name the host; the namespace part has no meaning without a cluster.
    static func stripNamespace(_ host: String) -> String {
        guard let slash = host.firstIndex(of: "/") else { return host }
        return String(host[host.index(after: slash)...])
    }
}
