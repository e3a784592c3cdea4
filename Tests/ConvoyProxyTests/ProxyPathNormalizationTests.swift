import ConvoyNetwork
import ConvoyProxy
import ConvoyTestSupport
import Testing

@Suite("Path normalization")
struct ProxyPathNormalizationTests {
    private static func yaml(_ v1: TestBackend, _ v2: TestBackend, normalization: String? = nil) -> String {
        ProxyFixture.yaml(v1: v1.address, v2: v2.address, http: """
          - match: [{uri: {prefix: /admin}}]
            directResponse: {status: 403, body: {string: "admin is closed"}}
          - match: [{uri: {prefix: /public}}]
            route: [{destination: {host: catalog.test, subset: v1}}]
        """, extra: normalization.map { "---\napiVersion: convoy/v1alpha1\nkind: Bootstrap\nspec:\n  pathNormalization: {normalization: \($0)}" } ?? "")
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
