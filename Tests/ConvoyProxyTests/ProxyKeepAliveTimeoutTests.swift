import ConvoyDispatcher
import ConvoyNetwork
import ConvoyProxy
import ConvoyTestSupport
import Testing

@Suite("Upstream Keep-Alive timeout")
struct ProxyKeepAliveTimeoutTests {
    @Test("an upstream announcing 'Keep-Alive: timeout=3' has its idle connection closed by convoy after 2 s, not at the pool's idle timeout")
    func announcedTimeoutShortensTheIdleTimeout() throws {
        let upstream = try RawUpstream(answer: "HTTP/1.1 200 OK\r\nKeep-Alive: timeout=3, max=100\r\nContent-Length: 2\r\n\r\nok", echo: false)
        defer { upstream.join() }
        let v2 = try TestBackend(.echo(name: "v2"))
        defer { v2.stop() }
        let clock = SimulatedTimeSource()
        let config = ProxyFixture.yaml(v1: upstream.address, v2: v2.address, http: "  - route: [{destination: {host: catalog.test, subset: v1}}]",
                                       policy: "  trafficPolicy: {connectionPool: {http: {idleTimeout: 1h}}}")
        try ProxyFixture.withProxy(config, timeSource: clock) { address, _ in
            let response = try BlockingHTTPClient(address).request("GET", "/")
            #expect(response.status == 200 && response.header("keep-alive") == nil, "hop-by-hop: not passed on")
            clock.advance(by: .milliseconds(2_100))
            #expect(eventually { upstream.observed.closedByProxy.load(ordering: .acquiring) }, "closed a second before the upstream would")
        }
    }
}
