import ConvoyDispatcher
import ConvoyNetwork
import ConvoyProxy
import ConvoyTestSupport
import Testing

@Suite("Active health checks")
struct ProxyHealthCheckTests {
    private static let bootstrap = """
        ---
        apiVersion: convoy/v1alpha1
        kind: Bootstrap
        spec:
          healthChecks:
          - {host: catalog.test, path: /healthz, interval: 5s, timeout: 1s, healthyThreshold: 2, unhealthyThreshold: 2}
        """

    @Test("an endpoint failing its health check leaves load balancing after unhealthyThreshold checks and returns after healthyThreshold")
    func removedAndReturned() throws {
        let flappy = try TestBackend(.echo(name: "flappy")), steady = try TestBackend(.echo(name: "steady"))
        defer { flappy.stop(); steady.stop() }
        let http = """
          - route: [{destination: {host: catalog.test}}]
            retries: {attempts: 0}
        """
        let policy = "  trafficPolicy: {loadBalancer: {simple: ROUND_ROBIN}}"
        let clock = SimulatedTimeSource()
        let yaml = ProxyFixture.yaml(v1: flappy.address, v2: steady.address, http: http, policy: policy, extra: Self.bootstrap)
        try ProxyFixture.withProxy(yaml, timeSource: clock) { address, server in
            func stats() -> ProxyWorkerStats { server.workerStats()[0] }
            func checks() -> Int { stats().healthChecksPassed + stats().healthChecksFailed }
            func traffic(_ backend: TestBackend) -> Int { backend.requests.count { $0.target != "/healthz" } }
            let client = try BlockingHTTPClient(address)
            #expect(eventually { stats().healthChecksPassed == 2 }, "both endpoints are checked at start")
            #expect(flappy.requests.first { $0.target == "/healthz" }?.header("host") == "catalog.test")

            flappy.setFailure(status: 503)
            clock.advance(by: .seconds(5))
            #expect(eventually { checks() == 4 })
            #expect(stats().upstreamHostsFailingHealthCheck == 0, "one failure is below the threshold")
            clock.advance(by: .seconds(5))
            #expect(eventually { checks() == 6 })
            #expect(eventually { stats().upstreamHostsFailingHealthCheck == 1 })
            #expect(stats().healthBecameUnhealthy == 1)
            let before = traffic(flappy)
            for _ in 0..<10 { #expect(try client.request("GET", "/").status == 200) }
            #expect(traffic(flappy) == before, "no traffic to the unhealthy endpoint")

            flappy.setFailure(status: nil)
            clock.advance(by: .seconds(5))
            #expect(eventually { checks() == 8 })
            #expect(stats().upstreamHostsFailingHealthCheck == 1, "one pass is below the threshold")
            clock.advance(by: .seconds(5))
            #expect(eventually { checks() == 10 })
            #expect(eventually { stats().upstreamHostsFailingHealthCheck == 0 })
            for _ in 0..<10 { #expect(try client.request("GET", "/").status == 200) }
            #expect(traffic(flappy) > before, "back in the rotation")
        }
    }

    @Test("with slow start, an endpoint that passes its health check again gets 10 % of its share at first")
    func recoveredEndpointWarmsUp() throws {
        let flappy = try TestBackend(.echo(name: "flappy")), steady = try TestBackend(.echo(name: "steady"))
        defer { flappy.stop(); steady.stop() }
        let http = """
          - route: [{destination: {host: catalog.test}}]
            retries: {attempts: 0}
        """
        let policy = "  trafficPolicy: {loadBalancer: {simple: ROUND_ROBIN, warmup: {duration: 60s}}}"
        let clock = SimulatedTimeSource()
        let yaml = ProxyFixture.yaml(v1: flappy.address, v2: steady.address, http: http, policy: policy, extra: Self.bootstrap)
        try ProxyFixture.withProxy(yaml, timeSource: clock) { address, server in
            func stats() -> ProxyWorkerStats { server.workerStats()[0] }
            func checks() -> Int { stats().healthChecksPassed + stats().healthChecksFailed }
            let client = try BlockingHTTPClient(address)
            func toFlappy(_ count: Int) throws -> Int {
                try (0..<count).filter { _ in try client.request("GET", "/").text.hasPrefix("flappy") }.count
            }
            #expect(eventually { checks() == 2 })
            #expect(try toFlappy(10) == 5, "present from the start: a full share")
            flappy.setFailure(status: 503)
            for round in 1...2 {
                clock.advance(by: .seconds(5))
                #expect(eventually { checks() == 2 + 2 * round })
            }
            #expect(eventually { stats().upstreamHostsFailingHealthCheck == 1 })
            flappy.setFailure(status: nil)
            for round in 3...4 {
                clock.advance(by: .seconds(5))
                #expect(eventually { checks() == 2 + 2 * round })
            }
            #expect(eventually { stats().upstreamHostsFailingHealthCheck == 0 })
            // Weights 1,000 and 100: smooth round robin gives the returning endpoint 10 of 110 picks.
            #expect(try toFlappy(110) == 10)
        }
    }

    @Test("a health check must name a ServiceEntry host and one of its ports")
    func configurationErrors() throws {
        let text = ProxyFixture.yaml(v1: LoopbackSocket.unusedAddress(), v2: LoopbackSocket.unusedAddress(), http: """
          - route: [{destination: {host: catalog.test}}]
        """, extra: """
        ---
        apiVersion: convoy/v1alpha1
        kind: Bootstrap
        spec:
          healthChecks:
          - {host: nowhere.test, path: /healthz}
          - {host: catalog.test, port: 81, path: /healthz}
          - {host: catalog.test, path: healthz}
        """)
        do {
            _ = try ProxyConfiguration.parse(text, file: "hc.yaml")
            Issue.record("loaded")
        } catch {
            let messages = error.errors.map(\.message)
            #expect(messages.contains { $0.contains("health check for host 'nowhere.test', which has no ServiceEntry") })
            #expect(messages.contains { $0.contains("ServiceEntry 'catalog' has no port 81") })
            #expect(messages.contains { $0.contains("a health-check path starts with '/'") })
        }
    }
}
