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

    @Test("MERGE_SLASHES also merges slashes; NONE routes and forwards the path as sent")
    func otherModes() throws {
        let v1 = try TestBackend(.echo(name: "v1")), v2 = try TestBackend(.echo(name: "v2"))
        defer { v1.stop(); v2.stop() }
        try ProxyFixture.withProxy(Self.yaml(v1, v2, normalization: "MERGE_SLASHES")) { address, _ in
            let response = try BlockingHTTPClient(address).request("GET", "/public//a/./b")
            #expect(response.text == "v1 GET /public/a/b\n")
        }
        try ProxyFixture.withProxy(Self.yaml(v1, v2, normalization: "NONE")) { address, _ in
            let response = try BlockingHTTPClient(address).request("GET", "/public/../admin")
            #expect(response.text == "v1 GET /public/../admin\n")
        }
    }
}
