import ConvoyNetwork
import ConvoyProxy
import ConvoyRouter
import ConvoyTestSupport
import Testing

@Suite("Mirroring")
struct ProxyMirrorTests {
    @Test("the shadow authority gets -shadow before any port")
    func shadowAuthority() {
        #expect(MirrorPolicy.shadowAuthority("api.test") == "api.test-shadow")
        #expect(MirrorPolicy.shadowAuthority("api.test:8080") == "api.test-shadow:8080")
        #expect(MirrorPolicy.shadowAuthority("[::1]:80") == "[::1]-shadow:80")
        #expect(MirrorPolicy.shadowAuthority("[::1]") == "[::1]-shadow")
    }

    @Test("a mirrored request reaches the mirror with -shadow on the authority, the same request id, and its body")
    func mirrorsRequestAndBody() throws {
        let v1 = try TestBackend(.countBody(name: "v1")), shadow = try TestBackend(.status(500))
        defer { v1.stop(); shadow.stop() }
        let http = """
          - route: [{destination: {host: catalog.test, subset: v1}}]
            mirror: {host: catalog.test, subset: v2}
        """
        try ProxyFixture.withProxy(ProxyFixture.yaml(v1: v1.address, v2: shadow.address, http: http)) { address, server in
            let body = [UInt8](repeating: 0x6d, count: 100_000)
            let response = try BlockingHTTPClient(address).request("PUT", "/doc", headers: [("Host", "api.test:8080")], body: body)
            #expect(response.status == 200, "the mirror's 500 never reaches the client")
            #expect(response.text == "v1 received 100000 bytes\n")
            #expect(eventually { shadow.bodyBytesReceived == 100_000 })
            let original = try #require(v1.requests.first), copy = try #require(shadow.requests.first)
            #expect(copy.header("host") == "api.test-shadow:8080")
            #expect(copy.method == "PUT" && copy.target == "/doc")
            #expect(copy.header("x-request-id") == original.header("x-request-id"))
            #expect(eventually { server.workerStats()[0].mirroredRequests == 1 })
        }
    }

    @Test("a mirror that hangs does not hold up the client; its copies time out and are counted")
    func hangingMirror() throws {
        let v1 = try TestBackend(.echo(name: "v1")), shadow = try TestBackend(.stall)
        defer { v1.stop(); shadow.stop() }
        let http = """
          - timeout: 500ms
            route: [{destination: {host: catalog.test, subset: v1}}]
            mirror: {host: catalog.test, subset: v2}
        """
        try ProxyFixture.withProxy(ProxyFixture.yaml(v1: v1.address, v2: shadow.address, http: http)) { address, server in
            // A hang guard only: the client gives up after 5 s, far less than the 20 × 500 ms the
            // requests would take if they waited for the mirror.
            let client = try BlockingHTTPClient(address, receiveTimeoutSeconds: 5)
            for index in 0..<20 {
                #expect(try client.request("GET", "/\(index)").status == 200)
            }
            #expect(eventually { shadow.requests.count == 20 })
            #expect(eventually { server.workerStats()[0].mirrorFailures == 20 }, "each copy timed out")
        }
    }

    /// A stopping worker closes its pools; a mirror copy still queued for a connection must end
    /// with them, not be handed a connection opened during shutdown.
    @Test("a worker that stops with a mirror copy queued for a connection opens no new connection for it")
    func stopWithQueuedMirror() throws {
        let v1 = try TestBackend(.echo(name: "v1")), shadow = try TestBackend(.stall)
        defer { v1.stop(); shadow.stop() }
        let http = """
          - route: [{destination: {host: catalog.test, subset: v1}}]
            mirror: {host: catalog.test, subset: v2}
        """
        let policy = "  trafficPolicy: {connectionPool: {tcp: {maxConnections: 1}}}"
        try ProxyFixture.withProxy(ProxyFixture.yaml(v1: v1.address, v2: shadow.address, http: http, policy: policy)) { address, server in
            let client = try BlockingHTTPClient(address)
            #expect(try client.request("GET", "/first").status == 200)
            #expect(try client.request("GET", "/second").status == 200)
            #expect(eventually { shadow.requests.count == 1 }, "the first copy holds the shadow's only connection")
            #expect(eventually { server.workerStats()[0].upstreamRequestsPending == 1 }, "the second copy waits for it")
            server.stop()
            // The kernel queues connections in order: once the shadow has read the probe's
            // request, any connection the worker opened while stopping has been accepted too.
            let probe = try BlockingHTTPClient(shadow.address)
            try probe.send("GET /probe HTTP/1.1\r\nHost: shadow\r\n\r\n")
            #expect(eventually { shadow.requests.contains { $0.target == "/probe" } })
            #expect(shadow.connectionsAccepted == 2, "the first copy's connection and the probe; none opened while stopping")
        }
    }

    @Test("mirrorPercentage: the share of requests copied holds within statistical bounds")
    func percentage() throws {
        let v1 = try TestBackend(.echo(name: "v1")), shadow = try TestBackend(.echo(name: "shadow"))
        defer { v1.stop(); shadow.stop() }
        let http = """
          - route: [{destination: {host: catalog.test, subset: v1}}]
            mirror: {host: catalog.test, subset: v2}
            mirrorPercentage: {value: 50}
        """
        try ProxyFixture.withProxy(ProxyFixture.yaml(v1: v1.address, v2: shadow.address, http: http)) { address, server in
            let client = try BlockingHTTPClient(address)
            for _ in 0..<1_000 { _ = try client.request("GET", "/") }
            let mirrored = server.workerStats()[0].mirroredRequests
            #expect((421...579).contains(mirrored), "\(mirrored) of 1000 at 50 % (five standard deviations)")
            #expect(eventually { shadow.requests.count == mirrored })
        }
    }
}
