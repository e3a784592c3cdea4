import ConvoyDispatcher
import ConvoyNetwork
import ConvoyProxy
import ConvoyTestSupport
import Testing

@Suite("Outlier detection")
struct ProxyOutlierTests {
    @Test("a flapping endpoint is ejected after consecutive 5xx, returns after baseEjectionTime, and stays out longer the second time")
    func flappingEndpoint() throws {
        let flappy = try TestBackend(.echo(name: "flappy")), steady = try TestBackend(.echo(name: "steady"))
        defer { flappy.stop(); steady.stop() }
        let policy = """
          trafficPolicy:
            loadBalancer: {simple: ROUND_ROBIN}
            outlierDetection: {consecutive5xxErrors: 3, interval: 10s, baseEjectionTime: 30s, maxEjectionPercent: 100}
        """
        let http = """
          - route: [{destination: {host: catalog.test}}]
            retries: {attempts: 0}
        """
        let clock = SimulatedTimeSource()
        let yaml = ProxyFixture.yaml(v1: flappy.address, v2: steady.address, http: http, policy: policy)
        try ProxyFixture.withProxy(yaml, timeSource: clock) { address, server in
            let client = try BlockingHTTPClient(address)
            func stats() -> ProxyWorkerStats { server.workerStats()[0] }
            func send(_ count: Int) throws -> [Int] { try (0..<count).map { _ in try client.request("GET", "/").status } }

            flappy.setFailure(status: 503)
            for _ in 0..<20 where flappy.requests.count < 3 { _ = try client.request("GET", "/") }
            #expect(flappy.requests.count == 3)
            #expect(stats().upstreamEjections == 1 && stats().upstreamHostsEjected == 1)
            #expect(try send(10).allSatisfy { $0 == 200 }, "only the steady endpoint is used")
            #expect(flappy.requests.count == 3)

            flappy.setFailure(status: nil)
            clock.advance(by: .seconds(30))
            #expect(eventually { stats().upstreamHostsEjected == 0 })
            _ = try send(4)
            #expect(flappy.requests.count == 5, "back in the rotation")

            flappy.setFailure(status: 503)
            for _ in 0..<20 where stats().upstreamEjections < 2 { _ = try client.request("GET", "/") }
            #expect(stats().upstreamEjections == 2)
            let seen = flappy.requests.count
            clock.advance(by: .seconds(30))
            #expect(eventually { stats().upstreamEjectionsEnded == 1 })  // the review ran ...
            _ = try send(6)
            #expect(flappy.requests.count == seen, "... but a second ejection lasts 60 s")
            clock.advance(by: .seconds(30))
            #expect(eventually { stats().upstreamEjectionsEnded == 2 })
            _ = try send(4)
            #expect(flappy.requests.count > seen)
        }
    }

    @Test("maxEjectionPercent and panic: never more hosts out than allowed, and all used when too few are healthy")
    func limits() throws {
        let first = try TestBackend(.status(503)), second = try TestBackend(.status(503))
        defer { first.stop(); second.stop() }
        let policy = """
          trafficPolicy:
            loadBalancer: {simple: ROUND_ROBIN}
            outlierDetection: {consecutive5xxErrors: 2, maxEjectionPercent: 100}
        """
        let http = """
          - route: [{destination: {host: catalog.test}}]
            retries: {attempts: 0}
        """
        let yaml = ProxyFixture.yaml(v1: first.address, v2: second.address, http: http, policy: policy)
        try ProxyFixture.withProxy(yaml, timeSource: SimulatedTimeSource()) { address, server in
            let client = try BlockingHTTPClient(address)
            for _ in 0..<12 { _ = try client.request("GET", "/") }
            let stats = server.workerStats()[0]
            #expect(stats.upstreamEjections == 2, "both failing hosts were ejected")
            // With both out, fewer than half are healthy: panic mode balances over both anyway.
            #expect(first.requests.count >= 4 && second.requests.count >= 4)
        }
        let third = try TestBackend(.status(503)), fourth = try TestBackend(.status(503))
        defer { third.stop(); fourth.stop() }
        let capped = policy.replacingOccurrences(of: "maxEjectionPercent: 100", with: "maxEjectionPercent: 10")
        try ProxyFixture.withProxy(ProxyFixture.yaml(v1: third.address, v2: fourth.address, http: http, policy: capped),
                                   timeSource: SimulatedTimeSource()) { address, server in
            let client = try BlockingHTTPClient(address)
            for _ in 0..<12 { _ = try client.request("GET", "/") }
            #expect(server.workerStats()[0].upstreamHostsEjected == 1, "10 % of two hosts: only the one always allowed")
        }
    }
}
