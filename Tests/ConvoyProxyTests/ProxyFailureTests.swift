import ConvoyDispatcher
import ConvoyNetwork
import ConvoyProxy
import ConvoyTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite("Upstream failures")
struct ProxyFailureTests {
    private static let route = """
      - timeout: 300ms
        route: [{destination: {host: catalog.test, subset: v1}}]
    """

    @Test("a refused connection is 503 'upstream connect error', and the proxy stays usable")
    func refused() throws {
        let v2 = try TestBackend(.echo(name: "v2"))
        defer { v2.stop() }
        let http = """
          - match: [{uri: {prefix: /up}}]
            route: [{destination: {host: catalog.test, subset: v2}}]
        \(Self.route)
        """
        try ProxyFixture.withProxy(ProxyFixture.yaml(v1: LoopbackSocket.unusedAddress(), v2: v2.address, http: http)) { address, _ in
            let client = try BlockingHTTPClient(address)
            let response = try client.request("GET", "/down")
            #expect(response.status == 503)
            #expect(response.text.hasPrefix("upstream connect error"))
            #expect(response.header("x-convoy-response-flags") == "UF,URX", "Istio's default policy retried the connect twice")
            #expect(try client.request("GET", "/up").status == 200)  // same client connection still works
        }
    }

    @Test("a backend that resets on the request is 502")
    func reset() throws {
        let v1 = try TestBackend(.reset), v2 = try TestBackend(.echo(name: "v2"))
        defer { v1.stop(); v2.stop() }
        try ProxyFixture.withProxy(ProxyFixture.yaml(v1: v1.address, v2: v2.address, http: Self.route)) { address, _ in
            let response = try BlockingHTTPClient(address).request("GET", "/")
            #expect(response.status == 502)
            #expect(response.text.contains("upstream reset"))
        }
    }

    @Test("a backend that never answers is 504 after the route timeout, and its connection is closed")
    func stall() throws {
        let v1 = try TestBackend(.stall), v2 = try TestBackend(.echo(name: "v2"))
        defer { v1.stop(); v2.stop() }
        try ProxyFixture.withProxy(ProxyFixture.yaml(v1: v1.address, v2: v2.address, http: Self.route)) { address, _ in
            let response = try BlockingHTTPClient(address).request("GET", "/")
            #expect(response.status == 504)
            #expect(response.text == "upstream request timeout\n")
            #expect(eventually { v1.connectionsClosed == 1 })
        }
    }

    @Test("a response cut short reaches the client as a closed connection, never as a complete response")
    func truncated() throws {
        let v1 = try TestBackend(.truncatedResponse), v2 = try TestBackend(.echo(name: "v2"))
        defer { v1.stop(); v2.stop() }
        try ProxyFixture.withProxy(ProxyFixture.yaml(v1: v1.address, v2: v2.address, http: Self.route)) { address, _ in
            let client = try BlockingHTTPClient(address)
            #expect(throws: BlockingHTTPClient.Failure.closed) { try client.request("GET", "/") }
        }
    }

    @Test("a malformed upstream response is 502")
    func malformedResponse() throws {
        // A raw server that answers garbage.
        let listener = LoopbackSocket(listening: true)
        let fd = listener.fd
        let upstream = listener.address
        let server = try PosixThread(name: "garbage") {
            let connection = accept(fd, nil, nil)
            var buffer = [UInt8](repeating: 0, count: 4096)
            _ = recv(connection, &buffer, buffer.count, 0)
            let reply = Array("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello".utf8)
            _ = send(connection, reply, reply.count, Int32(MSG_NOSIGNAL))
            usleepMilliseconds(200)
            close(connection)
        }
        defer { server.join(); withExtendedLifetime(listener) {} }
        let v2 = try TestBackend(.echo(name: "v2"))
        defer { v2.stop() }
        try ProxyFixture.withProxy(ProxyFixture.yaml(v1: upstream, v2: v2.address, http: Self.route)) { address, _ in
            let response = try BlockingHTTPClient(address).request("GET", "/")
            #expect(response.status == 502)
            #expect(response.text.hasPrefix("upstream protocol error"))
        }
    }

    @Test("a client gone mid-response frees the upstream connection")
    func clientGone() throws {
        let v1 = try TestBackend(.largeResponse(bytes: 256 << 20)), v2 = try TestBackend(.echo(name: "v2"))
        defer { v1.stop(); v2.stop() }
        let http = """
          - route: [{destination: {host: catalog.test, subset: v1}}]
        """
        try ProxyFixture.withProxy(ProxyFixture.yaml(v1: v1.address, v2: v2.address, http: http)) { address, server in
            let client = try BlockingHTTPClient(address)
            try client.send("GET /big HTTP/1.1\r\nHost: test\r\n\r\n")
            #expect(eventually { v1.requests.count == 1 })
            client.closeNow()
            // The response was far from done (256 MiB, and nobody reads it): the proxy must close
            // its upstream connection rather than keep pulling bytes or return it to the pool.
            #expect(eventually { v1.connectionsClosed == 1 })
            #expect(eventually { server.workerStats()[0].downstreamSessionObjects == 0 }, "the session is freed")
        }
    }

    @Test("closed downstream connections leave no session object behind, however they ended")
    func noSessionLeaks() throws {
        let v1 = try TestBackend(.echo(name: "v1")), v2 = try TestBackend(.reset)
        defer { v1.stop(); v2.stop() }
        let http = """
          - match: [{uri: {prefix: /reset}}]
            route: [{destination: {host: catalog.test, subset: v2}}]
            retries: {attempts: 0}
          - match: [{uri: {prefix: /echo}}]
            route: [{destination: {host: catalog.test, subset: v1}}]
        """
        try ProxyFixture.withProxy(ProxyFixture.yaml(v1: v1.address, v2: v2.address, http: http)) { address, server in
            for round in 0..<20 {
                let client = try BlockingHTTPClient(address)
                #expect(try client.request("GET", "/echo").status == 200)
                #expect(try client.request("GET", "/nowhere").status == 404)
                #expect(try client.request("GET", "/reset").status == 502)
                if round % 2 == 0 {
                    let closing = try client.request("GET", "/echo", headers: [("Connection", "close")])
                    #expect(closing.header("connection") == "close")
                } else {
                    try client.send("GET /echo HTTP/1.1\r\nHost: te")  // gone in the middle of a head
                }
            }
            #expect(eventually { server.workerStats()[0].downstreamConnectionsActive == 0 })
            #expect(eventually { server.workerStats()[0].downstreamSessionObjects == 0 },
                    "\(server.workerStats()[0].downstreamSessionObjects) sessions still allocated")
        }
    }

    @Test("circuit breaking: beyond maxConnections and http1MaxPendingRequests a request is 503 UO at once, and counted")
    func pendingOverflow() throws {
        let v1 = try TestBackend(.stall), v2 = try TestBackend(.echo(name: "v2"))
        defer { v1.stop(); v2.stop() }
        let policy = "  trafficPolicy: {connectionPool: {tcp: {maxConnections: 1}, http: {http1MaxPendingRequests: 1}}}"
        let http = """
          - route: [{destination: {host: catalog.test, subset: v1}}]
        """
        try ProxyFixture.withProxy(ProxyFixture.yaml(v1: v1.address, v2: v2.address, http: http, policy: policy)) { address, server in
            let holding = try BlockingHTTPClient(address), waiting = try BlockingHTTPClient(address)
            try holding.send("GET /holds-the-connection HTTP/1.1\r\nHost: test\r\n\r\n")
            #expect(eventually { v1.requests.count == 1 })
            try waiting.send("GET /waits-for-it HTTP/1.1\r\nHost: test\r\n\r\n")
            #expect(eventually { server.workerStats()[0].requests == 2 })
            let overflow = try BlockingHTTPClient(address).request("GET", "/one-too-many")
            #expect(overflow.status == 503)
            #expect(overflow.header("x-convoy-response-flags") == "UO")
            #expect(overflow.text.hasPrefix("upstream overflow: 1 requests already wait"))
            #expect(server.workerStats()[0].upstreamOverflows == 1)
            #expect(v1.connectionsAccepted == 1, "one connection, as configured")
        }
    }
}
