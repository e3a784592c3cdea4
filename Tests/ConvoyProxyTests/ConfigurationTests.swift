import ConvoyNetwork
import Foundation
import ConvoyProxy
import ConvoyRouter
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite("Configuration")
struct ConfigurationTests {
    private static let canary = ProxyFixture.yaml(
        v1: SocketAddress(ip: "127.0.0.1", port: 9001)!, v2: SocketAddress(ip: "127.0.0.1", port: 9002)!,
        http: """
          - name: weighted
            timeout: 4s
            route:
            - {destination: {host: catalog.test, subset: v1}, weight: 70}
            - {destination: {host: catalog.test, subset: v2}, weight: 30}
        """)

    @Test("the canary parses into one listener, two subset clusters and a 70/30 route")
    func canary() throws {
        let configuration = try ProxyConfiguration.parse(Self.canary)
        #expect(configuration.listeners.count == 1)
        #expect(configuration.clusters.map(\.name) == ["outbound|80|v1|catalog.test", "outbound|80|v2|catalog.test"])
        #expect(configuration.clusters[0].endpoints == [EndpointConfig(address: "127.0.0.1", port: 9001, labels: ["version": "v1"])])
        #expect(configuration.clusters[0].loadBalancer == .leastRequest)  // Istio's default
        let route = configuration.listeners[0].routes.virtualHosts[0].routes[0]
        #expect(route.timeout == .seconds(4))
        guard case .forward(let destinations) = route.action else { Issue.record("not a forward route"); return }
        #expect(destinations.destinations.map(\.weight) == [70, 30])
    }

    @Test("resilience settings parse into the snapshot: retries, fault, mirror, pool limits, keep-alive, budget, outlier detection, health checks")
    func resilienceSettings() throws {
        let text = ProxyFixture.yaml(v1: SocketAddress(ip: "127.0.0.1", port: 9001)!, v2: SocketAddress(ip: "127.0.0.1", port: 9002)!, http: """
          - route: [{destination: {host: catalog.test, subset: v1}}]
            retries: {attempts: 4, perTryTimeout: 2s, retryOn: "gateway-error,reset,409", backoff: 50ms}
            fault: {delay: {fixedDelay: 7s, percentage: {value: 2.5}}, abort: {httpStatus: 429, percentage: {value: 1}}}
            mirror: {host: catalog.test, subset: v2}
            mirrorPercentage: {value: 10}
        """, policy: """
          trafficPolicy:
            connectionPool:
              tcp: {maxConnections: 50, connectTimeout: 3s, tcpKeepalive: {probes: 3, time: 60s, interval: 10s}}
              http: {http1MaxPendingRequests: 20, maxRetries: 7}
            retryBudget: {percent: {value: 25}, minRetryConcurrency: 2}
            outlierDetection: {consecutive5xxErrors: 4, consecutiveGatewayErrors: 2, interval: 5s, baseEjectionTime: 1m, maxEjectionPercent: 50, minHealthPercent: 30}
        """, extra: """
        ---
        apiVersion: convoy/v1alpha1
        kind: Bootstrap
        spec:
          healthChecks: [{host: catalog.test, path: /ready, interval: 3s, unhealthyThreshold: 4}]
        """)
        let configuration = try ProxyConfiguration.parse(text)
        let route = configuration.listeners[0].routes.virtualHosts[0].routes[0]
        let retries = try #require(route.retryPolicy)
        #expect(retries.attempts == 4 && retries.perTryTimeout == .seconds(2) && retries.backoffBase == .milliseconds(50))
        #expect(retries.conditions == [.gatewayError, .reset] && retries.statuses == [409])
        #expect(route.fault == FaultInjection(delay: .seconds(7), delayPercentage: 2.5, abortStatus: 429, abortPercentage: 1))
        #expect(route.mirrors.map(\.clusterName) == ["outbound|80|v2|catalog.test"] && route.mirrors[0].percentage == 10)
        let cluster = configuration.clusters[0]
        #expect(cluster.connectionPool.maxConnections == 50 && cluster.connectionPool.connectTimeout == .seconds(3))
        #expect(cluster.connectionPool.tcpKeepalive == .init(probes: 3, time: .seconds(60), interval: .seconds(10)))
        #expect(cluster.connectionPool.maxPendingRequests == 20 && cluster.connectionPool.maxRetries == 7)
        #expect(cluster.retryBudget == RetryBudget(percent: 25, minRetryConcurrency: 2))
        var outlier = OutlierDetectionPolicy()
        outlier.consecutive5xxErrors = 4
        outlier.consecutiveGatewayErrors = 2
        outlier.interval = .seconds(5)
        outlier.baseEjectionTime = .seconds(60)
        outlier.maxEjectionPercent = 50
        outlier.minHealthPercent = 30
        #expect(cluster.outlierDetection == outlier)
        var health = HealthCheckPolicy(path: "/ready")
        health.interval = .seconds(3)
        health.unhealthyThreshold = 4
        #expect(cluster.healthCheck == health)
        let defaults = try ProxyConfiguration.parse(ProxyFixture.yaml(v1: SocketAddress(ip: "127.0.0.1", port: 9001)!, v2: SocketAddress(ip: "127.0.0.1", port: 9002)!, http: """
          - route: [{destination: {host: catalog.test, subset: v1}}]
        """))
        let plain = defaults.listeners[0].routes.virtualHosts[0].routes[0]
        #expect(plain.retryPolicy?.attempts == 2 && plain.retryPolicy?.statuses == [503], "Istio's default retry policy")
        #expect(defaults.clusters[0].outlierDetection == nil && defaults.clusters[0].retryBudget == RetryBudget())
    }

    @Test("all three Istio apiVersions and JSON documents are accepted")
    func versionsAndJSON() throws {
        for version in ["v1", "v1beta1", "v1alpha3"] {
            let text = Self.canary.replacingOccurrences(of: "networking.istio.io/v1\n", with: "networking.istio.io/\(version)\n")
            #expect(throws: Never.self) { try ProxyConfiguration.parse(text) }
        }
        let json = """
            {"apiVersion": "networking.istio.io/v1", "kind": "Gateway", "metadata": {"name": "gw"},
             "spec": {"servers": [{"port": {"number": 8080, "protocol": "HTTP"}, "hosts": ["*"]}]}}
            """
        let configuration = try ProxyConfiguration.parse(json)
        #expect(configuration.listeners.map(\.name) == ["0.0.0.0:8080"])
    }

    @Test("a directory's files are read in name order as one configuration")
    func directory() throws {
        let directory = "/tmp/convoy-config-dir-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        mkdir(directory, 0o755)
        let parts = Self.canary.components(separatedBy: "\n---\n")
        for (index, part) in parts.enumerated() {
            let file = fopen("\(directory)/\(index).yaml", "w")!
            fputs(part, file)
            fclose(file)
        }
        let configuration = try ProxyConfiguration.load(path: directory)
        #expect(configuration.clusters.count == 2)
        #expect(throws: ConfigurationError.self) { try ProxyConfiguration.load(path: directory + "/missing") }
    }

    @Test("Bootstrap settings and their defaults")
    func bootstrap() throws {
        let defaults = try ProxyConfiguration.parse(Self.canary).bootstrap
        #expect(defaults.adminAddress == SocketAddress(ip: "127.0.0.1", port: 15000))
        #expect(defaults.drainDuration == .seconds(5) && defaults.minimumDrainDuration == .zero)
        #expect(defaults.pathNormalization == .base, "Istio's default")
        #expect(defaults.requestLimits.maxHeadBytes == 60 * 1024)
        #expect(!defaults.proxyProtocol)
        let text = Self.canary + """

            ---
            apiVersion: convoy/v1alpha1
            kind: Bootstrap
            spec:
              admin: {address: "127.0.0.1:9901"}
              concurrency: 3
              accessLog: {path: /dev/stdout, format: json}
              limits: {maxRequestHeadersKb: 96, maxRequestHeaders: 200}
              drainDuration: 10s
              minimumDrainDuration: 3s
              pathNormalization: {normalization: DECODE_AND_MERGE_SLASHES}
              timeouts: {requestHeaders: 5s, streamIdle: 0s}
              gatewayTopology: {numTrustedProxies: 2, proxyProtocol: {}}
            """
        let bootstrap = try ProxyConfiguration.parse(text).bootstrap
        #expect(bootstrap.proxyProtocol && bootstrap.numTrustedProxies == 2)
        do {
            _ = try ProxyConfiguration.parse(text.replacingOccurrences(of: "proxyProtocol: {}", with: "proxyProtocol: {version: 2}"))
            Issue.record("expected an error")
        } catch {
            #expect(error.errors.contains { $0.message.contains("unknown field 'version'") && $0.line > 0 })
        }
        #expect(bootstrap.minimumDrainDuration == .seconds(3))
        #expect(bootstrap.pathNormalization == .decodeAndMergeSlashes)
        do {
            _ = try ProxyConfiguration.parse(text.replacingOccurrences(of: "DECODE_AND_MERGE_SLASHES", with: "TIDY"))
            Issue.record("expected an error")
        } catch {
            #expect(error.errors.contains { $0.message.contains("unknown value 'TIDY'") && $0.line > 0 })
        }
        do {
            _ = try ProxyConfiguration.parse(text.replacingOccurrences(of: "minimumDrainDuration: 3s", with: "minimumDrainDuration: 11s"))
            Issue.record("expected an error")
        } catch {
            #expect(error.errors.contains { $0.message.contains("longer than drainDuration") && $0.line > 0 })
        }
        #expect(bootstrap.adminAddress == SocketAddress(ip: "127.0.0.1", port: 9901))
        #expect(bootstrap.concurrency == 3)
        #expect(bootstrap.accessLog == .init(path: "/dev/stdout", format: .json))
        #expect(bootstrap.requestLimits.maxHeadBytes == 96 * 1024 && bootstrap.requestLimits.maxHeaderCount == 200)
        #expect(bootstrap.drainDuration == .seconds(10))
        #expect(bootstrap.requestHeadersTimeout == .seconds(5))
        #expect(bootstrap.streamIdleTimeout == nil)
    }

    /// Each broken configuration gives this error at this line and column.
    @Test("problems are reported with line, column, field path and what is wrong", arguments: [
        ("spec:\n  hosts: [a]\n  gateways: [gw]\n  http:\n  - route: [{destination: {host: catalog.test}}]\n    retrys: {}", 6, 5, "spec.http[0].retrys: unknown field 'retrys'"),
        ("spec:\n  hosts: [a]\n  gateways: [gw]\n  http:\n  - route: [{destination: {host: catalog.test, subset: v3}}]", 5, 27, "DestinationRule 'catalog' has no subset 'v3' (subsets: v1, v2)"),
        ("spec:\n  hosts: [a]\n  gateways: [gw]\n  http:\n  - route: [{destination: {host: missing.test}}]", 5, 27, "destination host 'missing.test' has no ServiceEntry"),
        ("spec:\n  hosts: [a]\n  gateways: [other]\n  http:\n  - route: [{destination: {host: catalog.test}}]", 3, 13, "gateway 'other' is not defined (defined: gw)"),
        ("spec:\n  hosts: [a]\n  gateways: [gw]\n  http:\n  - route: [{destination: {host: catalog.test}}]\n    timeout: soon", 6, 14, "'soon' is not a duration"),
        ("spec:\n  hosts: [a]\n  gateways: [gw]\n  http:\n  - route: [{destination: {host: catalog.test}}]\n    retries: {attempts: 2, retryOn: \"5xx,timeout\"}", 6, 37, "spec.http[0].retries.retryOn: unknown retry condition 'timeout'"),
        ("spec:\n  hosts: [a]\n  gateways: [gw]\n  http:\n  - route: [{destination: {host: catalog.test}}]\n    fault: {abort: {percentage: {value: 5}}}", 6, 20, "spec.http[0].fault.abort: missing 'httpStatus'"),
        ("spec:\n  hosts: [a]\n  gateways: [gw]\n  http:\n  - match: [{uri: {exact: /a, prefix: /b}}]\n    route: [{destination: {host: catalog.test}}]", 5, 19, "'exact', 'prefix' and 'regex' are exclusive"),
        ("spec:\n  hosts: [a]\n  gateways: [gw]\n  http:\n  - match: [{uri: {regex: \"([a-z\"}}]\n    route: [{destination: {host: catalog.test}}]", 5, 27, "invalid regex"),
        ("spec:\n  hosts: [a]\n  gateways: [gw]\n  http:\n  - route: [{destination: {host: catalog.test}}]\n    redirect: {uri: /x}", 5, 5, "'route', 'redirect' and 'directResponse' are exclusive"),
        ("spec:\n  hosts: [a]\n  gateways: [gw]\n  http:\n  - directResponse: {status: 99}", 5, 30, "99 is out of range 200...599"),
        ("spec:\n  hosts: [a]\n  gateways: [gw]\n  http:\n  - route: [{destination: {host: catalog.test}, weight: 5}, {destination: {host: catalog.test}}]", 5, 12, "give every destination a 'weight', or none"),
        ("spec:\n  hosts: [a]\n  gateways: [gw]\n  http:\n  - route: [{destination: {host: catalog.test}}]\n    headers: {request: {set: {\"bad name\": x}}}", 6, 24, "'bad name' is not a valid header name"),
        // Values that go into heads cannot carry a CR or LF (a response or request could be split).
        ("spec:\n  hosts: [a]\n  gateways: [gw]\n  http:\n  - route: [{destination: {host: catalog.test}}]\n    headers: {request: {set: {x-a: \"a\\r\\nb: c\"}}}", 6, 36, "spec.http[0].headers.request.set.x-a: \"a\\r\\nb: c\" holds a control character"),
        ("spec:\n  hosts: [a]\n  gateways: [gw]\n  http:\n  - route: [{destination: {host: catalog.test}}]\n    rewrite: {uri: \"/a b\"}", 6, 20, "spec.http[0].rewrite.uri: \"/a b\" must be visible ASCII"),
        ("spec:\n  hosts: [a]\n  gateways: [gw]\n  http:\n  - redirect: {authority: \"evil\\r\\n\"}", 5, 27, "spec.http[0].redirect.authority: \"evil\\r\\n\" must be visible ASCII"),
        ("spec:\n  hosts: [a]\n  gateways: [gw]\n  http:\n  - route: [{destination: {host: catalog.test}}]\n    corsPolicy: {allowOrigins: [{exact: o}], allowHeaders: [\"x\\ny\"]}", 6, 61, "holds a control character"),
    ])
    func diagnostics(spec: String, line: Int, column: Int, message: String) throws {
        let base = Self.canary.components(separatedBy: "\n---\n").dropLast().joined(separator: "\n---\n")
        let header = "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: broken}\n"
        let text = base + "\n---\n" + header + spec + "\n"
        let offset = base.split(separator: "\n", omittingEmptySubsequences: false).count + 1 + 3
        do {
            _ = try ProxyConfiguration.parse(text, file: "broken.yaml")
            Issue.record("expected an error containing \(message)")
        } catch {
            let found = error.errors.first { $0.message.contains(message) || $0.description.contains(message) }
            #expect(found != nil, "got: \(error)")
            #expect(found?.line == offset + line, "got: \(error)")
            #expect(found?.column == column, "got: \(error)")
            #expect(found?.file == "broken.yaml")
            #expect(found?.path.hasPrefix("VirtualService/broken: spec") == true)
        }
    }

    @Test("every problem is reported, not just the first; warnings do not stop loading")
    func allProblemsAndWarnings() throws {
        let text = """
            apiVersion: networking.istio.io/v1
            kind: Gateway
            metadata: {name: gw}
            spec:
              servers:
              - port: {number: 80, protocol: HTTPS}
                hosts: []
            ---
            apiVersion: networking.istio.io/v2
            kind: VirtualService
            metadata: {name: x}
            spec: {}
            ---
            kind: Sidecar
            apiVersion: networking.istio.io/v1
            metadata: {name: s}
            spec: {}
            """
        do {
            _ = try ProxyConfiguration.parse(text)
            Issue.record("expected errors")
        } catch {
            let messages = error.errors.map(\.message)
            #expect(messages.contains { $0.contains("protocol 'HTTPS' is not supported") })
            #expect(messages.contains { $0.contains("must list at least one host") })
            #expect(messages.contains { $0.contains("apiVersion 'networking.istio.io/v2' is not one for VirtualService") })
            #expect(messages.contains { $0.contains("unsupported kind 'Sidecar'") })
        }
        let warned = try ProxyConfiguration.parse(Self.canary + """

            ---
            apiVersion: networking.istio.io/v1
            kind: VirtualService
            metadata: {name: sidecar-only}
            spec:
              hosts: [x]
              http:
              - route: [{destination: {host: catalog.test}}]
                retries: {attempts: 3, retryRemoteLocalities: true}
                corsPolicy: {allowOrigins: [{exact: "https://a.test"}], allowPrivateNetwork: true}
            """)
        #expect(warned.warnings.contains { $0.message.contains("sidecars ('mesh') only") })
        #expect(warned.warnings.contains { $0.message.contains("'retryRemoteLocalities' is accepted but has no effect") })
        #expect(warned.warnings.contains { $0.message.contains("'allowPrivateNetwork' is accepted but has no effect") })
    }

    @Test("corsPolicy is read whole; a bad value is an error at its position, a policy that cannot apply a warning")
    func corsPolicy() throws {
        func rule(_ cors: String, action: String = "route: [{destination: {host: catalog.test}}]") -> String {
            Self.canary.replacingOccurrences(of: "  http:\n", with: "  http:\n  - \(action)\n    corsPolicy: \(cors)\n")
        }
        let configuration = try ProxyConfiguration.parse(rule("""
            {allowOrigins: [{exact: "https://a.test"}, {prefix: "https://dev."}, {regex: "https://[a-z]+\\\\.b\\\\.test"}], \
            allowOrigin: ["https://old.test"], allowMethods: [GET, POST], allowHeaders: [x-token], exposeHeaders: [x-trace], \
            maxAge: 24h, allowCredentials: true, unmatchedPreflights: IGNORE}
            """))
        let cors = try #require(configuration.listeners.first?.routes.virtualHosts.first?.routes.first?.cors)
        #expect(cors.allows(origin: "https://a.test") && cors.allows(origin: "https://dev.x.test") && cors.allows(origin: "https://api.b.test"))
        #expect(cors.allows(origin: "https://old.test") && !cors.allows(origin: "https://evil.test") && !cors.allows(origin: "https://1.b.test"))
        #expect(cors.allowMethods == "GET, POST" && cors.allowHeaders == "x-token" && cors.exposeHeaders == "x-trace")
        #expect(cors.maxAgeSeconds == 86_400 && cors.allowCredentials && !cors.forwardsUnmatchedPreflights)
        #expect(configuration.warnings.contains { $0.message.contains("'allowOrigin' is deprecated") })

        do {
            _ = try ProxyConfiguration.parse(rule("{allowOrigins: [{regex: \"(\"}], unmatchedPreflights: DROP, maxAge: soon, allowMethod: [GET]}"), file: "cors.yaml")
            Issue.record("expected errors")
        } catch {
            let messages = error.errors.map(\.message)
            #expect(messages.contains { $0.contains("invalid regex '('") })
            #expect(messages.contains { $0.contains("unknown value 'DROP': use FORWARD, UNSPECIFIED or IGNORE") })
            #expect(messages.contains { $0.contains("maxAge") || $0.contains("duration") })
            #expect(messages.contains { $0.contains("allowMethod") })
            #expect(error.errors.allSatisfy { $0.file == "cors.yaml" && $0.line > 0 })
        }
        let skipped = try ProxyConfiguration.parse(rule("{allowOrigins: [{exact: \"*\"}]}", action: "directResponse: {status: 204}"))
        #expect(skipped.warnings.contains { $0.message.contains("skips CORS") })
        let noOrigins = try ProxyConfiguration.parse(rule("{allowMethods: [GET]}"))
        #expect(noOrigins.warnings.contains { $0.message.contains("no origin is allowed") })
    }

    @Test("uriRegexRewrite and redirect: bad regexes, substitutions, exclusive fields and unknown derivePort values are errors at their position")
    func regexRewriteErrors() {
        func rule(_ rewrite: String) -> String {
            Self.canary.replacingOccurrences(of: "  http:\n", with: "  http:\n  - route: [{destination: {host: catalog.test}}]\n    rewrite: \(rewrite)\n")
        }
        let cases: [(String, String)] = [
            ("{uriRegexRewrite: {match: \"(\", rewrite: /x}}", "invalid regex '('"),
            ("{uriRegexRewrite: {match: \"^/(a)$\", rewrite: \"/\\\\2\"}}", "refers to a capture group the regex does not have (it has 1)"),
            ("{uriRegexRewrite: {match: \"^/a$\"}}", "give both 'match' (a regex) and 'rewrite'"),
            ("{uri: /b, uriRegexRewrite: {match: a, rewrite: b}}", "'uri' and 'uriRegexRewrite' are exclusive"),
        ]
        func redirectRule(_ redirect: String) -> String {
            Self.canary.replacingOccurrences(of: "  http:\n", with: "  http:\n  - redirect: \(redirect)\n")
        }
        for (redirect, message) in [
            ("{uri: /a, prefixRewrite: /b}", "'uri' and 'prefixRewrite' are exclusive"),
            ("{derivePort: FROM_SOMEWHERE}", "unknown value 'FROM_SOMEWHERE': use FROM_PROTOCOL_DEFAULT or FROM_REQUEST_PORT"),
            ("{port: 8443, derivePort: FROM_REQUEST_PORT}", "'port' and 'derivePort' are exclusive"),
        ] {
            do {
                _ = try ProxyConfiguration.parse(redirectRule(redirect), file: "redirect.yaml")
                Issue.record("expected an error for \(redirect)")
            } catch {
                #expect(error.errors.contains { $0.message.contains(message) && $0.line > 0 }, "\(redirect): \(error.errors.map(\.message))")
            }
        }
        for (rewrite, message) in cases {
            do {
                _ = try ProxyConfiguration.parse(rule(rewrite), file: "rewrite.yaml")
                Issue.record("expected an error for \(rewrite)")
            } catch {
                #expect(error.errors.contains { $0.message.contains(message) && $0.line > 0 }, "\(rewrite): \(error.errors.map(\.message))")
            }
        }
    }

    @Test("load-balancer warmup: both spellings read, exclusive, and a warning where the policy cannot use it")
    func warmup() throws {
        func config(_ loadBalancer: String) -> String {
            ProxyFixture.yaml(v1: SocketAddress(ip: "127.0.0.1", port: 9001)!, v2: SocketAddress(ip: "127.0.0.1", port: 9002)!,
                              http: "  - route: [{destination: {host: catalog.test, subset: v1}}]",
                              policy: "  trafficPolicy: {loadBalancer: \(loadBalancer)}")
        }
        let current = try ProxyConfiguration.parse(config("{simple: ROUND_ROBIN, warmup: {duration: 90s, minimumPercent: {value: 20}, aggression: {value: 2}}}"))
        #expect(current.clusters[0].slowStart == SlowStart(window: .seconds(90), minimumPercent: 20, aggression: 2))
        let legacy = try ProxyConfiguration.parse(config("{warmupDurationSecs: 30s}"))
        #expect(legacy.clusters[0].slowStart == SlowStart(window: .seconds(30)), "least request by default, which warms up")
        let random = try ProxyConfiguration.parse(config("{simple: RANDOM, warmupDurationSecs: 30s}"))
        #expect(random.clusters[0].slowStart == nil)
        #expect(random.warnings.contains { $0.message.contains("warm-up works with ROUND_ROBIN and LEAST_REQUEST only") })
        do {
            _ = try ProxyConfiguration.parse(config("{warmup: {duration: 30s}, warmupDurationSecs: 30s}"), file: "dr.yaml")
            Issue.record("expected an error")
        } catch {
            #expect(error.errors.contains { $0.message.contains("'warmup' and 'warmupDurationSecs' are exclusive") && $0.line > 0 })
        }
    }

    @Test("invalid YAML is reported at its position")
    func invalidYAML() {
        do {
            _ = try ProxyConfiguration.parse("kind: Gateway\nspec: [unclosed\n", file: "bad.yaml")
            Issue.record("expected an error")
        } catch {
            #expect(error.errors.first?.message.hasPrefix("invalid YAML") == true)
            #expect(error.errors.first?.line ?? 0 > 0)
        }
    }
}

