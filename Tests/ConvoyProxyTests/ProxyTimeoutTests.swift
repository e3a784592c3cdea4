import ConvoyDispatcher
import ConvoyNetwork
import ConvoyProxy
import ConvoyTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite("Downstream timeouts")
struct ProxyTimeoutTests {
    private static func yaml(_ v1: TestBackend, _ v2: TestBackend) -> String {
        ProxyFixture.yaml(v1: v1.address, v2: v2.address, http: "  - route: [{destination: {host: catalog.test, subset: v1}}]", extra: """
        ---
        apiVersion: convoy/v1alpha1
        kind: Bootstrap
        spec:
          timeouts: {connectionIdle: 30s, requestHeaders: 10s, streamIdle: 20s}
        """)
    }

    @Test("connection idle: a keep-alive connection with no request is closed after connectionIdle, not after requestHeaders")
    func connectionIdle() throws {
        let v1 = try TestBackend(.echo(name: "v1")), v2 = try TestBackend(.echo(name: "v2"))
        defer { v1.stop(); v2.stop() }
        let clock = SimulatedTimeSource()
        try ProxyFixture.withProxy(Self.yaml(v1, v2), timeSource: clock) { address, server in
            let client = try BlockingHTTPClient(address)
            #expect(try client.request("GET", "/").status == 200)
            clock.advance(by: .seconds(15))
            #expect(try client.request("GET", "/still-open").status == 200, "idle 15 s: past requestHeaders, below connectionIdle")
            clock.advance(by: .seconds(31))
            #expect(throws: BlockingHTTPClient.Failure.closed) { try client.readResponse() }
            #expect(server.workerStats()[0].downstreamConnectionsActive == 0)
        }
    }

    @Test("an idle keep-alive connection is parked after 50 ms and woken by its next request, even one arriving in pieces; a parked one still times out")
    func idleConnectionsPark() throws {
        let v1 = try TestBackend(.echo(name: "v1")), v2 = try TestBackend(.echo(name: "v2"))
        defer { v1.stop(); v2.stop() }
        let clock = SimulatedTimeSource()
        try ProxyFixture.withProxy(Self.yaml(v1, v2), timeSource: clock) { address, server in
            let client = try BlockingHTTPClient(address)
            #expect(try client.request("GET", "/one").status == 200)
            clock.advance(by: .milliseconds(40))
            #expect(server.workerStats()[0].downstreamConnectionsParked == 0, "not idle 50 ms yet")
            clock.advance(by: .milliseconds(20))
            #expect(eventually { server.workerStats()[0].downstreamConnectionsParked == 1 })
            #expect(server.workerStats()[0].downstreamConnectionsActive == 1, "a parked connection is still open")
            #expect(eventually { server.workerStats()[0].downstreamSessionObjects == 0 }, "its session is freed")

            let second = try client.request("POST", "/two", body: Array("payload".utf8))
            #expect(second.status == 200 && second.text == "v1 POST /two\n")
            var stats = server.workerStats()[0]
            #expect(stats.downstreamWakes == 1 && stats.downstreamConnectionsParked == 0)
            #expect(stats.downstreamConnections == 1, "the same client connection, accepted once")

            clock.advance(by: .milliseconds(60))
            #expect(eventually { server.workerStats()[0].downstreamParks == 2 })
            try client.send("GET /three HTTP/1.1\r\nHo")
            #expect(eventually { server.workerStats()[0].downstreamWakes == 2 })
            try client.send("st: test\r\n\r\n")
            #expect(try client.readResponse().text == "v1 GET /three\n")

            // Parked, the connection still closes after connectionIdle (30 s) without a request.
            clock.advance(by: .milliseconds(60))
            #expect(eventually { server.workerStats()[0].downstreamParks == 3 })
            clock.advance(by: .seconds(29))
            #expect(server.workerStats()[0].downstreamConnectionsActive == 1)
            clock.advance(by: .seconds(1))
            #expect(throws: BlockingHTTPClient.Failure.closed) { try client.readResponse() }
            stats = server.workerStats()[0]
            #expect(stats.downstreamConnectionsActive == 0 && stats.downstreamConnectionsParked == 0)
            #expect(stats.listeners.values.first?.open == 0)
        }
    }

    @Test("request headers: a head still incomplete requestHeaders after its first byte gets 408 and a close")
    func requestHeaders() throws {
        let v1 = try TestBackend(.echo(name: "v1")), v2 = try TestBackend(.echo(name: "v2"))
        defer { v1.stop(); v2.stop() }
        let clock = SimulatedTimeSource()
        try ProxyFixture.withProxy(Self.yaml(v1, v2), timeSource: clock) { address, server in
            let client = try BlockingHTTPClient(address)
            #expect(eventually { server.workerStats()[0].downstreamConnections == 1 })
            try client.send("GET /slow HTTP/1.1\r\nHost: te")
            usleepMilliseconds(100)  // lets the worker read the bytes before the clock moves (not a timing check)
            clock.advance(by: .seconds(9))
            clock.advance(by: .seconds(1))
            let response = try client.readResponse()
            #expect(response.status == 408 && response.header("connection") == "close")
            #expect(v1.requests.isEmpty)
        }
    }

    @Test("stream idle: a request whose upstream says nothing for streamIdle gets 408")
    func streamIdle() throws {
        let v1 = try TestBackend(.stall), v2 = try TestBackend(.echo(name: "v2"))
        defer { v1.stop(); v2.stop() }
        let clock = SimulatedTimeSource()
        try ProxyFixture.withProxy(Self.yaml(v1, v2), timeSource: clock) { address, _ in
            let client = try BlockingHTTPClient(address)
            try client.send("GET /stalls HTTP/1.1\r\nHost: test\r\n\r\n")
            #expect(eventually { v1.requests.count == 1 })
            clock.advance(by: .seconds(19))
            clock.advance(by: .seconds(1))
            let response = try client.readResponse()
            #expect(response.status == 408 && response.text.hasPrefix("stream idle timeout"))
        }
    }
}
