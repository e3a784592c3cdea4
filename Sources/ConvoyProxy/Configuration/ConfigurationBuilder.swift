import ConvoyNetwork
import ConvoyRouter

/// Turns decoded documents into a ``ProxyConfiguration``: checks names are unique and every
/// reference resolves (gateways, destination hosts, ports, subsets), merges Gateway servers into
/// listeners and VirtualServices into virtual hosts, and creates a cluster per destination
/// host, port and subset. Confined to the loading thread.
struct ConfigurationBuilder {
    let diagnostics: ConfigDiagnostics

    private struct ListenerDraft {
        let address: SocketAddress
        /// Domain → routes, in the order VirtualServices were given.
        var domains: [(domain: String, routes: [Route])] = []

        mutating func append(_ routes: [Route], for domain: String) {
            if let index = domains.firstIndex(where: { $0.domain == domain }) {
                domains[index].routes += routes
            } else {
                domains.append((domain, routes))
            }
        }
    }

    func build(_ documents: [ConfigDocument]) throws(ConfigurationError) -> ProxyConfiguration {
        var bootstrap = BootstrapSettings()
        var gateways: [String: GatewaySpec] = [:]
        var services: [String: ServiceEntrySpec] = [:]
        var rules: [String: DestinationRuleSpec] = [:]
        var virtualServices: [VirtualServiceSpec] = []
        var seenNames: Set<String> = []
        var bootstrapSeen = false
        var healthCheckNodes: [ConfigNode] = []

        for document in documents {
            if !seenNames.insert("\(document.kind)/\(document.namespace)/\(document.name)").inserted {
                document.root.error("a \(document.kind) named '\(document.name)' is already defined")
                continue
            }
            switch document.kind {
            case "Bootstrap":
                if bootstrapSeen { document.root.error("only one Bootstrap is allowed") }
                bootstrapSeen = true
                bootstrap = BootstrapSettings(document, healthCheckNodes: &healthCheckNodes)
            case "Gateway":
                if let gateway = GatewaySpec(document) { gateways[gateway.name] = gateway }
            case "ServiceEntry":
                guard let service = ServiceEntrySpec(document) else { continue }
                for host in service.hosts {
                    if let other = services[host.lowercased()] {
                        service.node.error("host '\(host)' is already declared by ServiceEntry '\(other.name)'")
                    } else {
                        services[host.lowercased()] = service
                    }
                }
            case "DestinationRule":
                guard let rule = DestinationRuleSpec(document) else { continue }
                if let other = rules[rule.host] {
                    rule.hostNode.error("host '\(rule.host)' already has DestinationRule '\(other.name)'")
                } else {
                    rules[rule.host] = rule
                }
            default:
                if let service = VirtualServiceSpec(document) { virtualServices.append(service) }
            }
        }
        for rule in rules.values.sorted(by: { $0.name < $1.name }) where services[rule.host] == nil {
            rule.hostNode.warning("no ServiceEntry declares host '\(rule.host)'; the rule applies to nothing")
        }

        var clusters = ClusterRegistry(services: services, rules: rules)
        var listeners: [String: ListenerDraft] = [:]
        var listenerOrder: [String] = []
        for gateway in gateways.values.sorted(by: { $0.name < $1.name }) {
            for server in gateway.servers {
                guard let address = SocketAddress(ip: server.bind, port: server.port) else { continue }
                let key = address.description
                if listeners[key] == nil {
                    listeners[key] = ListenerDraft(address: address)
                    listenerOrder.append(key)
                }
            }
        }
        if gateways.isEmpty && !documents.isEmpty {
            diagnostics.add(ConfigDiagnostic(.warning, file: documents[0].root.file, line: 0, column: 0, path: "", message: "no Gateway: convoy will not listen for traffic"))
        }

        for service in virtualServices {
            let routes = service.http.map { resolve($0, clusters: &clusters) }
            var attached = false
            for gatewayName in service.gateways {
                if gatewayName == "mesh" { continue }
                guard let gateway = gateways[gatewayName] else {
                    (service.gatewaysNode ?? service.node).error(
                        "gateway '\(gatewayName)' is not defined (defined: \(gateways.keys.sorted().joined(separator: ", ")))")
                    continue
                }
                for server in gateway.servers {
                    guard let address = SocketAddress(ip: server.bind, port: server.port) else { continue }
                    let domains = Self.domains(serviceHosts: service.hosts, serverHosts: server.hosts)
                    if domains.isEmpty { continue }
                    attached = true
                    for domain in domains {
                        listeners[address.description]!.append(server.httpsRedirect ? [Self.httpsRedirectRoute] : routes, for: domain)
                    }
                }
                if !attached {
                    (service.gatewaysNode ?? service.node).error(
                        "none of hosts \(service.hosts) is exposed by gateway '\(gatewayName)' (its hosts: \(gateway.servers.flatMap(\.hosts)))")
                }
            }
            if service.gateways == ["mesh"] {
                service.node.warning("no 'gateways': Istio then applies the rules to sidecars ('mesh') only, so convoy routes nothing with them; list the Gateway")
            }
        }

        for (check, node) in zip(bootstrap.healthChecks, healthCheckNodes) {
            guard let service = clusters.services[check.host] else {
                node.error("health check for host '\(check.host)', which has no ServiceEntry")
                continue
            }
            if let port = check.port, !service.ports.contains(where: { $0.number == port }) {
                node.error("ServiceEntry '\(service.name)' has no port \(port)")
            }
        }
        let clusterList = clusters.clusters.map { cluster in
            let check = bootstrap.healthChecks.first { $0.host == cluster.serviceHost && ($0.port == nil || $0.port == cluster.port) }
            return check.map { cluster.with(healthCheck: $0.policy) } ?? cluster
        }

        if diagnostics.hasErrors { throw ConfigurationError(diagnostics: diagnostics.all) }
        let built = listenerOrder.map { key in
            let draft = listeners[key]!
            let hosts = draft.domains.map { VirtualHost(name: $0.domain, domains: [$0.domain], routes: $0.routes) }
            return ListenerConfig(address: draft.address, routes: RouteTable(virtualHosts: hosts))
        }
        return ProxyConfiguration(
            bootstrap: bootstrap, listeners: built, clusters: clusterList,
            warnings: diagnostics.all.filter { $0.severity == .warning })
    }

    /// A Gateway server's `tls.httpsRedirect`: every request gets a 301 to the same host (without
    /// a port) and target over `https`, as Envoy's `require_tls: ALL` answers.
    private static let httpsRedirectRoute = Route(
        name: "https-redirect", action: .redirect(Redirect(derivedPort: .protocolDefault, scheme: "https", code: 301)))

    private func resolve(_ route: VirtualServiceSpec.HTTPRoute, clusters: inout ClusterRegistry) -> Route {
        let action: RouteAction
        if let redirect = route.redirect {
            action = .redirect(redirect)
        } else if let direct = route.directResponse {
            action = .directResponse(status: direct.status, body: direct.body)
        } else {
            let equalShares = route.destinations.allSatisfy { $0.weight == UInt32.max }
            var destinations: [WeightedDestination] = []
            for destination in route.destinations {
                guard let index = clusters.cluster(for: destination) else { continue }
                destinations.append(WeightedDestination(
                    clusterIndex: index, clusterName: clusters.clusters[index].name,
                    weight: equalShares ? 1 : destination.weight,
                    requestHeaders: destination.requestHeaders, responseHeaders: destination.responseHeaders))
            }
            action = destinations.isEmpty
                ? .directResponse(status: 503, body: Array("no healthy upstream\n".utf8))
                : .forward(WeightedDestinations(destinations))
        }
        return Route(
            name: route.name, matchers: route.matchers, action: action, rewrite: route.rewrite, timeout: route.timeout,
            retryPolicy: route.retryPolicy, fault: route.fault,
            mirrors: route.mirrors.compactMap { mirror in
                clusters.cluster(for: mirror.destination).map {
                    MirrorPolicy(clusterIndex: $0, clusterName: clusters.clusters[$0].name, percentage: mirror.percentage)
                }
            },
            requestHeaders: route.requestHeaders, responseHeaders: route.responseHeaders, cors: route.cors)
    }

    /// The domains a VirtualService gets on a gateway server: each VS host that one of the
    /// server's hosts covers, or the server host when the VS host is the wider wildcard.
    static func domains(serviceHosts: [String], serverHosts: [String]) -> [String] {
        var result: [String] = []
        for serviceHost in serviceHosts {
            for serverHost in serverHosts {
                var domain: String?
                if covers(serverHost, serviceHost) {
                    domain = serviceHost
                } else if covers(serviceHost, serverHost) {
                    domain = serverHost
                }
                if let domain, !result.contains(domain) { result.append(domain) }
            }
        }
        return result
    }

    /// True when wildcard-or-exact host `pattern` covers every name `host` covers.
    static func covers(_ pattern: String, _ host: String) -> Bool {
        let pattern = pattern.lowercased(), host = host.lowercased()
        if pattern == "*" || pattern == host { return true }
        if pattern.hasPrefix("*.") {
            let suffix = pattern.dropFirst()
            return host.hasSuffix(suffix) && host.count > suffix.count
        }
        return false
    }
}

/// The clusters created while resolving destinations, one per host, port and subset. Confined to
/// the loading thread.
struct ClusterRegistry {
    let services: [String: ServiceEntrySpec]
    let rules: [String: DestinationRuleSpec]
    private(set) var clusters: [ClusterConfig] = []
    private var indexByName: [String: Int] = [:]

    init(services: [String: ServiceEntrySpec], rules: [String: DestinationRuleSpec]) {
        self.services = services
        self.rules = rules
    }

    mutating func cluster(for destination: VirtualServiceSpec.Destination) -> Int? {
        let node = destination.node
        guard let service = services[destination.host] else {
            node.error("destination host '\(destination.host)' has no ServiceEntry (declared hosts: \(services.keys.sorted().joined(separator: ", ")))")
            return nil
        }
        let port: ServiceEntrySpec.Port
        if let number = destination.port {
            guard let found = service.ports.first(where: { $0.number == number }) else {
                node.error("ServiceEntry '\(service.name)' has no port \(number) (ports: \(service.ports.map { String($0.number) }.joined(separator: ", ")))")
                return nil
            }
            port = found
        } else {
            guard service.ports.count == 1 else {
                if !service.ports.isEmpty {
                    node.error("ServiceEntry '\(service.name)' has several ports; give 'port.number'")
                }
                return nil
            }
            port = service.ports[0]
        }
        let name = ClusterConfig.name(host: destination.host, port: port.number, subset: destination.subset)
        if let index = indexByName[name] { return index }

        let rule = rules[destination.host]
        var subsetLabels: [String: String] = [:]
        var policy = rule.map { ($0.policy.portLevel[port.number] ?? $0.policy) } ?? DestinationRuleSpec.TrafficPolicy()
        if let subsetName = destination.subset {
            guard let rule else {
                node.error("subset '\(subsetName)' needs a DestinationRule for host '\(destination.host)', and there is none")
                return nil
            }
            guard let subset = rule.subsets.first(where: { $0.name == subsetName }) else {
                node.error("DestinationRule '\(rule.name)' has no subset '\(subsetName)' (subsets: \(rule.subsets.map(\.name).joined(separator: ", ")))")
                return nil
            }
            subsetLabels = subset.labels
            policy = subset.policy.over(policy)
        }
        var endpoints: [EndpointConfig] = []
        if service.endpoints.isEmpty, case .dns = service.discovery {
            endpoints = [EndpointConfig(address: destination.host, port: port.targetPort ?? port.number)]
        }
        for endpoint in service.endpoints where subsetLabels.allSatisfy({ endpoint.labels[$0.key] == $0.value }) {
            let number = port.name.flatMap { endpoint.ports[$0] } ?? port.targetPort ?? port.number
            endpoints.append(EndpointConfig(address: endpoint.address, port: number, labels: endpoint.labels, weight: endpoint.weight))
        }
        if endpoints.isEmpty {
            node.warning("\(name) has no endpoints (the subset's labels select none): its requests get 503")
        }
        let cluster = ClusterConfig(
            serviceHost: destination.host, port: port.number, subset: destination.subset, discovery: service.discovery,
            endpoints: endpoints, loadBalancer: policy.loadBalancer ?? .leastRequest,
            connectionPool: policy.connectionPool ?? ConnectionPoolSettings(),
            retryBudget: rule?.policy.retryBudget ?? RetryBudget(), outlierDetection: policy.outlierDetection,
            slowStart: policy.slowStart)
        clusters.append(cluster)
        indexByName[name] = clusters.count - 1
        return clusters.count - 1
    }
}
