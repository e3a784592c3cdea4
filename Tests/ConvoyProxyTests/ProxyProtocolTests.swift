import ConvoyDispatcher
import ConvoyNetwork
import ConvoyProxy
import ConvoyTestSupport
import Testing

/// Bootstrap `gatewayTopology.proxyProtocol: {}`: every downstream connection opens with a PROXY
/// protocol header, whose source is the client from then on.
@Suite("PROXY protocol")
struct ProxyProtocolTests {
    private static func yaml(_ v1: TestBackend, _ v2: TestBackend, accessLog: String = "") -> String {
        ProxyFixture.yaml(v1: v1.address, v2: v2.address, http: "  - route: [{destination: {host: catalog.test, subset: v1}}]", extra: """
        ---
        apiVersion: convoy/v1alpha1
        kind: Bootstrap
        spec:
          gatewayTopology: {proxyProtocol: {}}
          timeouts: {connectionIdle: 30s, requestHeaders: 10s}
        """)
    }

    private static let request = "GET /a HTTP/1.1\r\nHost: test\r\n\r\n"

    private static func version2(command: UInt8 = 1, family: UInt8, body: [UInt8]) -> [UInt8] {
        [0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A, 0x20 | command, family, 0, UInt8(body.count)] + body
    }

    @Test("the client a v1 or v2 header names is the one x-forwarded-for gets, for every request on the connection and after a park")
    func headerNamesTheClient() throws {
        let v1 = try TestBackend(.echo(name: "v1")), v2 = try TestBackend(.echo(name: "v2"))
        defer { v1.stop(); v2.stop() }
        let clock = SimulatedTimeSource()
        try ProxyFixture.withProxy(Self.yaml(v1, v2), timeSource: clock) { address, server in
            func lastClient() -> String? { v1.requests.last?.header("x-forwarded-for") }

            let first = try BlockingHTTPClient(address)
            try first.send("PROXY TCP4 192.0.2.10 127.0.0.1 56324 80\r\n" + Self.request)
            #expect(try first.readResponse().status == 200)
            #expect(lastClient() == "192.0.2.10")
            #expect(try first.request("GET", "/again").status == 200)
            #expect(lastClient() == "192.0.2.10", "the header is read once and holds for the connection")
            clock.advance(by: .milliseconds(60))
            #expect(eventually { server.workerStats()[0].downstreamConnectionsParked == 1 })
            #expect(try first.request("GET", "/woken").status == 200)
            #expect(server.workerStats()[0].downstreamWakes == 1)
            #expect(lastClient() == "192.0.2.10", "the parked socket kept its client")

            // v2 over IPv6, arriving in two pieces, the request right behind it.
            let source: [UInt8] = [0x20, 0x01, 0x0D, 0xB8] + [UInt8](repeating: 0, count: 11) + [1]
            let header = Self.version2(family: 0x21, body: source + [UInt8](repeating: 0, count: 16) + [0x1F, 0x90, 0, 80])
            let second = try BlockingHTTPClient(address)
            try second.send(Array(header.prefix(10)))
            #expect(eventually { server.workerStats()[0].downstreamConnections == 2 })
            try second.send(Array(header.dropFirst(10)) + Array(Self.request.utf8))
            #expect(try second.readResponse().status == 200)
            #expect(lastClient() == "2001:db8::1")

            // LOCAL (the balancer's own health check): the socket's peer stands.
            let third = try BlockingHTTPClient(address)
            try third.send(Self.version2(command: 0, family: 0x00, body: []) + Array(Self.request.utf8))
            #expect(try third.readResponse().status == 200)
            #expect(lastClient() == "127.0.0.1")
            #expect(server.workerStats()[0].downstreamProxyProtocolErrors == 0)
        }
    }

    @Test("a connection without a valid header is closed unanswered and counted; one that connects and leaves is not counted")
    func invalidHeaderCloses() throws {
        let v1 = try TestBackend(.echo(name: "v1")), v2 = try TestBackend(.echo(name: "v2"))
        defer { v1.stop(); v2.stop() }
        try ProxyFixture.withProxy(Self.yaml(v1, v2)) { address, server in
            for opening in [Self.request, "PROXY TCP4 192.0.2.10 127.0.0.1 056324 80\r\n" + Self.request, "PROXY TCP4 192.0.2.10\r\n"] {
                let client = try BlockingHTTPClient(address)
                try client.send(opening)
                #expect(throws: BlockingHTTPClient.Failure.closed, "\(opening.debugDescription)") { try client.readResponse() }
            }
            #expect(server.workerStats()[0].downstreamProxyProtocolErrors == 3)

            let incomplete = try BlockingHTTPClient(address)
            try incomplete.send("PROXY TCP4 192.0.2.10 ")
            incomplete.closeNow()
            #expect(eventually { server.workerStats()[0].downstreamProxyProtocolErrors == 4 }, "closed halfway through its header")

            let silent = try BlockingHTTPClient(address)
            silent.closeNow()
            #expect(eventually { server.workerStats()[0].downstreamConnectionsActive == 0 })
            #expect(server.workerStats()[0].downstreamConnections == 5)
            #expect(server.workerStats()[0].downstreamProxyProtocolErrors == 4, "a bare connect and close is a TCP health check")
            #expect(v1.requests.isEmpty, "nothing reached the backend")
        }
    }

    @Test("a header that never completes is cut off by the request headers timeout")
    func incompleteHeaderTimesOut() throws {
        let v1 = try TestBackend(.echo(name: "v1")), v2 = try TestBackend(.echo(name: "v2"))
        defer { v1.stop(); v2.stop() }
        let clock = SimulatedTimeSource()
        try ProxyFixture.withProxy(Self.yaml(v1, v2), timeSource: clock) { address, server in
            let client = try BlockingHTTPClient(address)
            try client.send("PROXY TCP4 192.0.2.10 ")
            #expect(eventually { server.workerStats()[0].downstreamConnectionsActive == 1 })
            clock.advance(by: .seconds(9))
            #expect(server.workerStats()[0].downstreamConnectionsActive == 1)
            clock.advance(by: .seconds(2))
            #expect(throws: BlockingHTTPClient.Failure.closed) { try client.readResponse() }
            #expect(server.workerStats()[0].downstreamConnectionsActive == 0)
        }
    }
}
