import ConvoyDispatcher
import ConvoyNetwork
import ConvoyProxy
import ConvoyTestSupport
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite("Upstream maxConnectionDuration")
struct ProxyConnectionDurationTests {
    private static let policy = "  trafficPolicy: {connectionPool: {tcp: {maxConnectionDuration: 10s}, http: {idleTimeout: 1h}}}"

    @Test("an idle pooled connection closes at its maximum duration, not at its idle timeout; before that it is reused")
    func idleConnectionExpires() throws {
        let v1 = try TestBackend(.echo(name: "v1")), v2 = try TestBackend(.echo(name: "v2"))
        defer { v1.stop(); v2.stop() }
        let clock = SimulatedTimeSource()
        let config = ProxyFixture.yaml(v1: v1.address, v2: v2.address, http: "  - route: [{destination: {host: catalog.test, subset: v1}}]", policy: Self.policy)
        try ProxyFixture.withProxy(config, timeSource: clock) { address, _ in
            let client = try BlockingHTTPClient(address)
            #expect(try client.request("GET", "/1").status == 200)
            clock.advance(by: .seconds(5))
            #expect(try client.request("GET", "/2").status == 200)
            #expect(v1.connectionsAccepted == 1, "reused while younger than 10 s")
            clock.advance(by: .seconds(6))
            #expect(eventually { v1.connectionsClosed == 1 }, "closed at 10 s, an hour before its idle timeout")
            #expect(try client.request("GET", "/3").status == 200)
            #expect(v1.connectionsAccepted == 2)
        }
    }

    @Test("a connection that reaches its maximum duration while busy finishes its exchange, then closes instead of going back idle")
    func busyConnectionExpires() throws {
        let upstream = try RawUpstream(answer: "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", echo: false, held: true)
        defer { upstream.join() }
        let v2 = try TestBackend(.echo(name: "v2"))
        defer { v2.stop() }
        let clock = SimulatedTimeSource()
        let config = ProxyFixture.yaml(v1: upstream.address, v2: v2.address, http: "  - route: [{destination: {host: catalog.test, subset: v1}}]", policy: Self.policy)
        try ProxyFixture.withProxy(config, timeSource: clock) { address, _ in
            let client = try BlockingHTTPClient(address)
            try client.send("GET /held HTTP/1.1\r\nHost: test\r\n\r\n")
            #expect(eventually { upstream.hasRequest })
            clock.advance(by: .seconds(11))
            upstream.release()
            let response = try client.readResponse()
            #expect(response.status == 200 && response.text == "ok")
            #expect(eventually { upstream.wasClosedByProxy }, "closed after its response")
        }
    }
}
