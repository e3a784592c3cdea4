import ConvoyNetwork
import ConvoyProxy
import ConvoyTestSupport
import Testing

@Suite("Request targets: absolute-form and path normalization")
struct ProxyRequestTargetTests {
    private static func yaml(_ v1: TestBackend, _ v2: TestBackend, normalization: String? = nil) -> String {
        ProxyFixture.yaml(v1: v1.address, v2: v2.address, http: """
          - match: [{uri: {prefix: /admin}}]
            directResponse: {status: 403, body: {string: "admin is closed"}}
          - match: [{uri: {prefix: /public}}]
            route: [{destination: {host: catalog.test, subset: v1}}]
        """, hosts: "[site.test, test]", extra: """
        ---
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: {name: internal}
        spec:
          hosts: [internal.test]
          gateways: [gw]
          http:
          - directResponse: {status: 200, body: {string: "internal"}}
        """ + (normalization.map { "\n---\napiVersion: convoy/v1alpha1\nkind: Bootstrap\nspec:\n  pathNormalization: {normalization: \($0)}" } ?? ""))
    }

    @Test("an absolute-form target is routed on its own host and path (Host is ignored, RFC 9112 §3.2.2) and goes upstream in origin-form with that Host; unusable URLs are answered 400")
    func absoluteFormIsRoutedAsTheUpstreamWillServeIt() throws {
        let v1 = try TestBackend(.echo(name: "v1")), v2 = try TestBackend(.echo(name: "v2"))
        defer { v1.stop(); v2.stop() }
        try ProxyFixture.withProxy(Self.yaml(v1, v2)) { address, _ in
            let client = try BlockingHTTPClient(address)
            let site = [("Host", "site.test")]
            #expect(try client.request("GET", "http://site.test/admin", headers: site).status == 403)
            #expect(try client.request("GET", "HTTP://site.test:80/public/../admin", headers: site).status == 403)
            #expect(try client.request("GET", "http://internal.test/public/x", headers: site).text == "internal", "the URL's host wins")
            let forwarded = try client.request("GET", "http://site.test/public/a?q=1", headers: [("Host", "internal.test")])
            #expect(forwarded.text == "v1 GET /public/a?q=1\n")
            #expect(v1.requests.last?.header("host") == "site.test")
            #expect(try client.request("GET", "https://site.test?x", headers: site).status == 404, "an empty path is /")
            for unusable in ["ftp://site.test/public", "http:///public", "http://user@site.test/public", "http://site.test/public#frag", "http://:80/public", "http://site\\test/public"] {
                let response = try client.request("GET", unusable, headers: site)
                #expect(response.status == 400 && response.text.contains("absolute-form"), "\(unusable)")
            }
            #expect(try client.request("GET", "/public/ok", headers: site).text == "v1 GET /public/ok\n", "the connection is still usable")
        }
    }

    @Test("by default dot segments are resolved before routing: /public/../admin cannot slip past a rule for /admin, and upstream gets the normalized path")
    func dotSegmentsCannotBypassRoutes() throws {
        let v1 = try TestBackend(.echo(name: "v1")), v2 = try TestBackend(.echo(name: "v2"))
        defer { v1.stop(); v2.stop() }
        try ProxyFixture.withProxy(Self.yaml(v1, v2)) { address, _ in
            let client = try BlockingHTTPClient(address)
            #expect(try client.request("GET", "/public/../admin").status == 403)
            #expect(try client.request("GET", "/public/%2e%2E/admin/users").status == 403)
            #expect(try client.request("GET", "/public/./x/../y?q=/../z").text == "v1 GET /public/y?q=/../z\n")
            #expect(try client.request("GET", "/public//a").text == "v1 GET /public//a\n", "BASE keeps double slashes")
        }
    }

    @Test("by default escaped letters and backslashes cannot slip past a rule either, and NUL or a broken escape is answered 400 on a connection that stays usable")
    func escapesAndBackslashesCannotBypassRoutes() throws {
        let v1 = try TestBackend(.echo(name: "v1")), v2 = try TestBackend(.echo(name: "v2"))
        defer { v1.stop(); v2.stop() }
        try ProxyFixture.withProxy(Self.yaml(v1, v2)) { address, _ in
            let client = try BlockingHTTPClient(address)
            #expect(try client.request("GET", "/%61dmin").status == 403)
            #expect(try client.request("GET", "/%41dmin/../%61%64%6D%69%6E/x").status == 403)
            #expect(try client.request("GET", "/public\\..\\admin").status == 403)
            #expect(try client.request("GET", "/public/%7Euser/%2Fx").text == "v1 GET /public/~user/%2Fx\n")
            let nul = try client.request("GET", "/public/a%00b")
            #expect(nul.status == 400 && nul.text.contains("%00"))
            let broken = try client.request("GET", "/public/%zz")
            #expect(broken.status == 400 && broken.text.contains("two hex digits"))
            #expect(try client.request("GET", "/public/ok").text == "v1 GET /public/ok\n", "the connection is still usable")
        }
    }

    @Test("MERGE_SLASHES also merges slashes; NONE routes and forwards the path as sent")
    func otherModes() throws {
        let v1 = try TestBackend(.echo(name: "v1")), v2 = try TestBackend(.echo(name: "v2"))
        defer { v1.stop(); v2.stop() }
        try ProxyFixture.withProxy(Self.yaml(v1, v2, normalization: "MERGE_SLASHES")) { address, _ in
            let response = try BlockingHTTPClient(address).request("GET", "/public//a/./b")
            #expect(response.text == "v1 GET /public/a/b\n")
        }
        try ProxyFixture.withProxy(Self.yaml(v1, v2, normalization: "NONE")) { address, _ in
            let client = try BlockingHTTPClient(address)
            #expect(try client.request("GET", "/public/../admin").text == "v1 GET /public/../admin\n")
            #expect(try client.request("GET", "/public/%zz").text == "v1 GET /public/%zz\n", "NONE forwards even a broken escape")
        }
    }
}
