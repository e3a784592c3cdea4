import ConvoyNetwork
import ConvoyProxy
import ConvoyTestSupport
import Testing

@Suite("Gateway httpsRedirect")
struct ProxyHTTPSRedirectTests {
    private static func yaml(_ v1: TestBackend, _ v2: TestBackend, tls: String = "{httpsRedirect: true}") -> String {
        let gateway = """
        apiVersion: networking.istio.io/v1
        kind: Gateway
        metadata: {name: gw}
        spec:
          servers:
          - port: {number: 0, name: http, protocol: HTTP}
            bind: 127.0.0.2
            hosts: ["*"]
            tls: \(tls)
          - port: {number: 0, name: http-plain, protocol: HTTP}
            bind: 127.0.0.1
            hosts: ["*"]
        """
        let fixture = ProxyFixture.yaml(v1: v1.address, v2: v2.address, http: "  - route: [{destination: {host: catalog.test, subset: v1}}]")
        let rest = fixture[fixture.range(of: "---")!.lowerBound...]
        return gateway + "\n" + rest
    }

    @Test("a server with tls.httpsRedirect answers every request with a 301 to its https URL; the plain server on another address proxies")
    func redirectsToHTTPS() throws {
        let v1 = try TestBackend(.echo(name: "v1")), v2 = try TestBackend(.echo(name: "v2"))
        defer { v1.stop(); v2.stop() }
        try ProxyFixture.withProxy(Self.yaml(v1, v2)) { _, server in
            let addresses = server.listenerAddresses
            try #require(addresses.count == 2)
            let redirect = try BlockingHTTPClient(addresses[0]).request("POST", "/cart/add?item=7", headers: [("Host", "shop.example.com:80")], body: Array("x=1".utf8))
            #expect(redirect.status == 301)
            #expect(redirect.header("location") == "https://shop.example.com/cart/add?item=7")
            #expect(v1.requests.isEmpty, "nothing is forwarded from the redirecting server")
            let plain = try BlockingHTTPClient(addresses[1]).request("GET", "/cart")
            #expect(plain.status == 200 && plain.text == "v1 GET /cart\n")
        }
    }

    @Test("TLS settings other than httpsRedirect are still errors at their position")
    func terminationIsAnError() {
        let v1Address = SocketAddress(ip: "127.0.0.1", port: 9001)!
        let text = ProxyFixture.yaml(v1: v1Address, v2: v1Address, http: "  - route: [{destination: {host: catalog.test, subset: v1}}]")
            .replacingOccurrences(of: "    bind: 127.0.0.1\n", with: "    bind: 127.0.0.1\n    tls: {httpsRedirect: true, mode: SIMPLE, credentialName: shop-cert}\n")
        do {
            _ = try ProxyConfiguration.parse(text, file: "gw.yaml")
            Issue.record("expected errors")
        } catch {
            let errors = error.errors.filter { $0.message.contains("only 'httpsRedirect' is") }
            #expect(errors.count == 2 && errors.allSatisfy { $0.file == "gw.yaml" && $0.line > 0 }, "\(error.errors.map(\.message))")
        }
    }
}
