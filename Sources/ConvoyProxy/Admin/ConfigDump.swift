import ConvoyRouter

/// The active configuration snapshot as JSON, for `GET /config_dump`: listeners with their
/// virtual hosts and routes (and whether they expect PROXY protocol headers), and clusters with
/// endpoints and policies. Any thread.
enum ConfigDump {
    static func json(_ configuration: ProxyConfiguration) -> String {
        let listeners = configuration.listeners.map { listener in
            let hosts = listener.routes.virtualHosts.map { host in
                let routes = host.routes.map { route in
                    var fields = ["\"name\":\"\(escaped(route.name))\"", "\"action\":\"\(escaped(action(route.action, configuration)))\""]
                    if let timeout = route.timeout { fields.append("\"timeout\":\"\(timeout)\"") }
                    if let retries = route.retryPolicy {
                        fields.append("\"retries\":{\"attempts\":\(retries.attempts),\"per_try_timeout\":\(retries.perTryTimeout.map { "\"\($0)\"" } ?? "null")}")
                    }
                    if !route.mirrors.isEmpty {
                        fields.append("\"mirrors\":[" + route.mirrors.map { "{\"cluster\":\"\(escaped($0.clusterName))\",\"percentage\":\($0.percentage)}" }.joined(separator: ",") + "]")
                    }
                    if route.fault != nil { fields.append("\"fault\":true") }
                    return "{" + fields.joined(separator: ",") + "}"
                }
                return "{\"name\":\"\(escaped(host.name))\",\"domains\":[\(host.domains.map { "\"\(escaped($0))\"" }.joined(separator: ","))],\"routes\":[\(routes.joined(separator: ","))]}"
            }
            return "{\"address\":\"\(listener.address)\",\"proxy_protocol\":\(configuration.bootstrap.proxyProtocol),"
                + "\"virtual_hosts\":[\(hosts.joined(separator: ","))]}"
        }
        let clusters = configuration.clusters.map { cluster in
            let endpoints = cluster.endpoints.map { "{\"address\":\"\(escaped($0.address))\",\"port\":\($0.port),\"weight\":\($0.weight)}" }
            var fields = [
                "\"name\":\"\(escaped(cluster.name))\"", "\"load_balancer\":\"\(escaped(String(describing: cluster.loadBalancer)))\"",
                "\"connect_timeout\":\"\(cluster.connectionPool.connectTimeout)\"", "\"endpoints\":[\(endpoints.joined(separator: ","))]",
            ]
            if let outlier = cluster.outlierDetection {
                fields.append("\"outlier_detection\":{\"consecutive_5xx\":\(outlier.consecutive5xxErrors),\"interval\":\"\(outlier.interval)\",\"base_ejection_time\":\"\(outlier.baseEjectionTime)\"}")
            }
            if let check = cluster.healthCheck {
                fields.append("\"health_check\":{\"path\":\"\(escaped(check.path))\",\"interval\":\"\(check.interval)\"}")
            }
            return "{" + fields.joined(separator: ",") + "}"
        }
        return "{\"listeners\":[\(listeners.joined(separator: ","))],\"clusters\":[\(clusters.joined(separator: ","))]}\n"
    }

    private static func action(_ action: RouteAction, _ configuration: ProxyConfiguration) -> String {
        switch action {
        case .forward(let destinations):
            return "forward " + destinations.destinations.map { "\($0.clusterName)=\($0.weight)" }.joined(separator: ",")
        case .redirect(let redirect):
            return "redirect \(redirect.code)"
        case .directResponse(let status, _):
            return "direct_response \(status)"
        }
    }

    /// `text` safe inside a JSON string.
    static func escaped(_ text: String) -> String {
        var result = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            case "\t": result += "\\t"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    result += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    result.unicodeScalars.append(scalar)
                }
            }
        }
        return result
    }
}
