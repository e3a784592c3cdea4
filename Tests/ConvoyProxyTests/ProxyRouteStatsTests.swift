import ConvoyNetwork
import ConvoyProxy
import ConvoyTestSupport
import Testing

@Suite("Per-route stats (statPrefix)")
struct ProxyRouteStatsTests {
    @Test("requests matched by a match block with a statPrefix are counted under it (requests, responses by class, duration); others are not")
    func routeStats() throws {
        let v1 = try TestBackend(.echo(name: "v1")), v2 = try TestBackend(.status(503))
        defer { v1.stop(); v2.stop() }
        let http = """
          - match: [{uri: {prefix: /api}, statPrefix: api}, {uri: {prefix: /v1/api}, statPrefix: api-v1}, {uri: {prefix: /plain}}]
            route: [{destination: {host: catalog.test, subset: v1}}]
          - match: [{uri: {prefix: /broken}, statPrefix: broken}]
            route: [{destination: {host: catalog.test, subset: v2}}]
            retries: {attempts: 0}
        """
        try ProxyFixture.withProxy(ProxyFixture.yaml(v1: v1.address, v2: v2.address, http: http)) { address, server in
            let client = try BlockingHTTPClient(address)
            for target in ["/api/a", "/api/b", "/v1/api/c", "/plain", "/broken"] { _ = try client.request("GET", target) }
            let stats = server.workerStats()[0].routes
            #expect(stats.keys.sorted() == ["api", "api-v1", "broken"], "the block without a statPrefix is not counted")
            #expect(stats["api"]?.requests == 2 && stats["api"]?.responsesByClass == [0, 2, 0, 0, 0])
            #expect(stats["api-v1"]?.requests == 1 && stats["api"]?.requestDuration.count == 2)
            #expect(stats["broken"]?.responsesByClass == [0, 0, 0, 0, 1])

            let text = StatsExposition(workers: server.workerStats()).prometheusText
            #expect(text.contains("convoy_route_requests_total{route=\"api\"} 2\n"))
            #expect(text.contains("convoy_route_responses_total{route=\"broken\",code_class=\"5xx\"} 1\n"))
            #expect(text.contains("convoy_route_request_duration_seconds_count{route=\"api-v1\"} 1\n"))
            #expect(text.contains("convoy_route_request_duration_seconds_bucket{route=\"api\",le=\"+Inf\"} 2\n"))
            #expect(text.contains("convoy_request_duration_seconds_count 5\n"), "the unlabelled histogram prints as before")
            #expect(StatsExposition(workers: server.workerStats()).plainText.contains("convoy_route_request_duration_seconds_count{route=api}: 2\n"))
        }
    }
}
