import ConvoyDispatcher
import ConvoyNetwork
import ConvoyProxy
import ConvoyTestSupport
import Logging
import Testing

/// Configuration text and a running in-process proxy for integration tests.
enum ProxyFixture {
    /// A Gateway on 127.0.0.1 (any free port), a `catalog.test` ServiceEntry with endpoints v1 and
    /// v2, a DestinationRule with both subsets, and a VirtualService for `hosts` with `http`
    /// (YAML indented for `spec.http`).
    static func yaml(v1: SocketAddress, v2: SocketAddress, http: String, hosts: String = "[\"*\"]", policy: String = "", extra: String = "") -> String {
        """
        apiVersion: networking.istio.io/v1
        kind: Gateway
        metadata: {name: gw}
        spec:
          servers:
          - port: {number: 0, name: http, protocol: HTTP}
            bind: 127.0.0.1
            hosts: ["*"]
        ---
        apiVersion: networking.istio.io/v1
        kind: ServiceEntry
        metadata: {name: catalog}
        spec:
          hosts: [catalog.test]
          ports: [{number: 80, name: http, protocol: HTTP}]
          resolution: STATIC
          endpoints:
          - {address: 127.0.0.1, ports: {http: \(v1.port!)}, labels: {version: v1}}
          - {address: 127.0.0.1, ports: {http: \(v2.port!)}, labels: {version: v2}}
        ---
        apiVersion: networking.istio.io/v1
        kind: DestinationRule
        metadata: {name: catalog}
        spec:
          host: catalog.test
        \(policy)
          subsets:
          - {name: v1, labels: {version: v1}}
          - {name: v2, labels: {version: v2}}
        ---
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: {name: catalog}
        spec:
          hosts: \(hosts)
          gateways: [gw]
          http:
        \(http)
        \(extra)
        """
    }

    /// Runs a proxy for `text` (one worker unless asked), calls `body` with its listener address,
    /// then stops it.
    static func withProxy(
        _ text: String, concurrency: Int = 1, timeSource: any TimeSource = SystemTimeSource(), admin: Bool = false,
        lookup: @escaping HostResolver.Lookup = HostResolver.lookup,
        _ body: (SocketAddress, ProxyServer) throws -> Void
    ) throws {
        let configuration = try ProxyConfiguration.parse(text, file: "test.yaml")
        var logger = Logger(label: "convoy-test")
        logger.logLevel = .error
        let server = try ProxyServer(configuration: configuration, concurrency: concurrency, logger: logger, timeSource: timeSource, lookup: lookup, admin: admin)
        try server.start()
        defer { server.stop() }
        try body(server.listenerAddresses[0], server)
    }
}

/// Polls `condition` (a hang guard of `limit`, not a timing assertion).
func eventually(limit: Duration = .seconds(10), _ condition: () -> Bool) -> Bool {
    let clock = ContinuousClock()
    let deadline = clock.now + limit
    while !condition() {
        if clock.now > deadline { return false }
        usleepMilliseconds(5)
    }
    return true
}

#if canImport(Glibc)
import Glibc
#endif

func usleepMilliseconds(_ milliseconds: Int) {
    usleep(useconds_t(milliseconds * 1000))
}
