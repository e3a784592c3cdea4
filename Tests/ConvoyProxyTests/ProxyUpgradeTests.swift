import ConvoyDispatcher
import ConvoyNetwork
import ConvoyProxy
import ConvoyTestSupport
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#endif

private let switching = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"
private let upgradeRequest = "GET /chat HTTP/1.1\r\nHost: test\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n\r\n"

@Suite("Upgrades (WebSocket)")
struct ProxyUpgradeTests {
    private static func yaml(_ upstream: SocketAddress, _ other: SocketAddress, route: String = "", bootstrap: String = "") -> String {
        ProxyFixture.yaml(v1: upstream, v2: other, http: "  - route: [{destination: {host: catalog.test, subset: v1}}]\n\(route)",
                          extra: bootstrap.isEmpty ? "" : "---\napiVersion: convoy/v1alpha1\nkind: Bootstrap\nspec:\n\(bootstrap)")
    }

    @Test("a WebSocket upgrade is proxied: the upgrade fields go upstream, 101 comes back, bytes sent early and later flow both ways; the client's close closes the upstream connection")
    func webSocketTunnel() throws {
        let upstream = try RawUpstream(answer: switching)
        defer { upstream.join() }
        let other = try TestBackend(.echo(name: "v2"))
        defer { other.stop() }
        try ProxyFixture.withProxy(Self.yaml(upstream.address, other.address)) { address, server in
            let client = try BlockingHTTPClient(address)
            try client.send(upgradeRequest + "early")  // bytes before the 101 wait for it
            let response = try client.readResponse()
            #expect(response.status == 101)
            #expect(response.header("upgrade") == "websocket" && response.header("connection")?.lowercased() == "upgrade")
            #expect(try client.readRaw(5) == Array("early".utf8))
            let binary: [UInt8] = [0, 1, 2, 0x81, 0xFF, 13, 10, 13, 10]
            try client.send(binary)
            #expect(try client.readRaw(binary.count) == binary)

            #expect(upstream.field("upgrade") == "websocket")
            #expect(upstream.field("connection")?.lowercased() == "upgrade")
            #expect(upstream.field("sec-websocket-version") == "13")
            #expect(upstream.field("x-forwarded-for") == "127.0.0.1")
            #expect(server.workerStats()[0].responsesByClass[0] == 1, "counted as a 1xx response")

            client.closeNow()
            #expect(eventually { upstream.observed.closedByProxy.load(ordering: .acquiring) }, "the upstream side closes too")
            #expect(eventually { server.workerStats()[0].downstreamSessionObjects == 0 })
            #expect(eventually { server.workerStats()[0].upstreamPools == 1 })
        }
    }

    @Test("the upstream closing the tunnel closes the client's side after its last bytes")
    func upstreamCloses() throws {
        let upstream = try RawUpstream(answer: switching + "bye", closeAfterAnswer: true)
        defer { upstream.join() }
        let other = try TestBackend(.echo(name: "v2"))
        defer { other.stop() }
        try ProxyFixture.withProxy(Self.yaml(upstream.address, other.address)) { address, server in
            let client = try BlockingHTTPClient(address)
            try client.send(upgradeRequest)
            #expect(try client.readResponse().status == 101)
            #expect(try client.readRaw(3) == Array("bye".utf8))
            #expect(throws: BlockingHTTPClient.Failure.closed) { try client.readRaw(1) }
            #expect(eventually { server.workerStats()[0].downstreamSessionObjects == 0 })
        }
    }

    @Test("the route timeout ends at the 101; an idle tunnel is closed by the stream idle timeout")
    func tunnelTimeouts() throws {
        let upstream = try RawUpstream(answer: switching)
        defer { upstream.join() }
        let other = try TestBackend(.echo(name: "v2"))
        defer { other.stop() }
        let clock = SimulatedTimeSource()
        let config = Self.yaml(upstream.address, other.address, route: "    timeout: 1s", bootstrap: "  timeouts: {streamIdle: 20s}")
        try ProxyFixture.withProxy(config, timeSource: clock) { address, server in
            let client = try BlockingHTTPClient(address)
            try client.send(upgradeRequest)
            #expect(try client.readResponse().status == 101)
            clock.advance(by: .seconds(5))
            try client.send("still here")
            #expect(try client.readRaw(10) == Array("still here".utf8), "past the route timeout, the tunnel carries on")
            clock.advance(by: .seconds(21))
            #expect(eventually { client.isClosedByServer() }, "idle past streamIdle: closed")
            #expect(eventually { upstream.observed.closedByProxy.load(ordering: .acquiring) })
        }
    }

    @Test("an upstream that refuses the upgrade answers as usual, and the connection closes after that answer")
    func refused() throws {
        let upstream = try RawUpstream(answer: "HTTP/1.1 426 Upgrade Required\r\nContent-Length: 4\r\n\r\nnope", echo: false)
        defer { upstream.join() }
        let other = try TestBackend(.echo(name: "v2"))
        defer { other.stop() }
        try ProxyFixture.withProxy(Self.yaml(upstream.address, other.address)) { address, _ in
            let client = try BlockingHTTPClient(address)
            try client.send(upgradeRequest)
            let response = try client.readResponse()
            #expect(response.status == 426 && response.text == "nope")
            #expect(response.header("upgrade") == nil)
            #expect(eventually { client.isClosedByServer() })
            #expect(eventually { upstream.observed.closedByProxy.load(ordering: .acquiring) })
        }
    }

    @Test("a 101 to a request that asked for no upgrade is 502")
    func unaskedSwitch() throws {
        let upstream = try RawUpstream(answer: switching, echo: false)
        defer { upstream.join() }
        let other = try TestBackend(.echo(name: "v2"))
        defer { other.stop() }
        try ProxyFixture.withProxy(Self.yaml(upstream.address, other.address)) { address, _ in
            let response = try BlockingHTTPClient(address).request("GET", "/plain")
            #expect(response.status == 502)
            #expect(response.text.hasPrefix("upstream protocol error"))
        }
    }

    /// An upgrade request never ends by itself (its bytes after the head belong to the tunnel),
    /// so a local answer must not wait for its end.
    @Test("an upgrade request answered locally (no route, a direct response, h2c to a redirect) gets its answer at once, then the connection closes")
    func localAnswersToUpgrades() throws {
        let v1 = try TestBackend(.echo(name: "v1")), v2 = try TestBackend(.echo(name: "v2"))
        defer { v1.stop(); v2.stop() }
        let http = """
          - match: [{uri: {prefix: /direct}}]
            directResponse: {status: 403, body: {string: "no sockets here"}}
          - match: [{uri: {prefix: /moved}}]
            redirect: {uri: /new}
        """
        try ProxyFixture.withProxy(ProxyFixture.yaml(v1: v1.address, v2: v2.address, http: http, hosts: "[shop.test]")) { address, _ in
            for (request, status) in [
                (upgradeRequest.replacingOccurrences(of: "Host: test", with: "Host: elsewhere.test"), 404),
                (upgradeRequest.replacingOccurrences(of: "GET /chat", with: "GET /direct").replacingOccurrences(of: "Host: test", with: "Host: shop.test"), 403),
                ("GET /moved HTTP/1.1\r\nHost: shop.test\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n\r\n", 301),
            ] {
                let client = try BlockingHTTPClient(address, receiveTimeoutSeconds: 5)
                try client.send(request)
                let response = try client.readResponse()
                #expect(response.status == status)
                #expect(eventually { client.isClosedByServer() })
            }
        }
    }

    @Test("CONNECT is refused with 403 and never forwarded, as Envoy does without a CONNECT upgrade configured")
    func connectRefused() throws {
        let v1 = try TestBackend(.echo(name: "v1")), v2 = try TestBackend(.echo(name: "v2"))
        defer { v1.stop(); v2.stop() }
        try ProxyFixture.withProxy(ProxyFixture.yaml(v1: v1.address, v2: v2.address, http: "  - route: [{destination: {host: catalog.test, subset: v1}}]")) { address, _ in
            let client = try BlockingHTTPClient(address, receiveTimeoutSeconds: 5)
            try client.send("CONNECT internal.example:443 HTTP/1.1\r\nHost: internal.example:443\r\n\r\n")
            let response = try client.readResponse(method: .connect)
            #expect(response.status == 403 && response.text.contains("CONNECT"))
            #expect(v1.requests.isEmpty)
        }
    }

    @Test("Upgrade: h2c is dropped, as Envoy does: the request goes upstream as plain HTTP/1.1")
    func h2cDropped() throws {
        let v1 = try TestBackend(.echo(name: "v1")), v2 = try TestBackend(.echo(name: "v2"))
        defer { v1.stop(); v2.stop() }
        try ProxyFixture.withProxy(Self.yaml(v1.address, v2.address)) { address, _ in
            let response = try BlockingHTTPClient(address).request(
                "GET", "/h2c", headers: [("Connection", "Upgrade, HTTP2-Settings"), ("Upgrade", "h2c"), ("HTTP2-Settings", "AAMAAABkAAQCAAAAAAIAAAAA")])
            #expect(response.status == 200 && response.text == "v1 GET /h2c\n")
            let seen = try #require(v1.requests.first)
            #expect(seen.header("upgrade") == nil && seen.header("http2-settings") == nil && seen.header("connection") == nil)
        }
    }
}
