import ConvoyNetwork
import ConvoyProxy
import ConvoyTestSupport
import Testing

@Suite("CORS")
struct ProxyCorsTests {
    private static func yaml(_ v1: TestBackend, _ v2: TestBackend, cors: String, extra: String = "") -> String {
        ProxyFixture.yaml(v1: v1.address, v2: v2.address, http: """
          - route: [{destination: {host: catalog.test, subset: v1}}]
            corsPolicy: \(cors)
        \(extra)
        """)
    }

    private static let policy = """
        {allowOrigins: [{exact: "https://app.test"}, {prefix: "https://dev."}], allowMethods: [GET, PUT], \
        allowHeaders: [x-token, content-type], exposeHeaders: [x-trace], maxAge: 10m, allowCredentials: true}
        """

    private static func preflight(_ origin: String) -> [(String, String)] {
        [("Origin", origin), ("Access-Control-Request-Method", "PUT"), ("Access-Control-Request-Headers", "x-token")]
    }

    @Test("a preflight from an allowed origin is answered by the proxy with the policy's fields, never forwarded")
    func allowedPreflight() throws {
        let v1 = try TestBackend(.echo(name: "v1")), v2 = try TestBackend(.echo(name: "v2"))
        defer { v1.stop(); v2.stop() }
        try ProxyFixture.withProxy(Self.yaml(v1, v2, cors: Self.policy)) { address, _ in
            let response = try BlockingHTTPClient(address).request("OPTIONS", "/items", headers: Self.preflight("https://dev.example.test"))
            #expect(response.status == 200 && response.text.isEmpty)
            #expect(response.header("access-control-allow-origin") == "https://dev.example.test")
            #expect(response.header("access-control-allow-methods") == "GET, PUT")
            #expect(response.header("access-control-allow-headers") == "x-token, content-type")
            #expect(response.header("access-control-max-age") == "600")
            #expect(response.header("access-control-allow-credentials") == "true")
            #expect(response.header("vary") == "Origin")
            #expect(v1.requests.isEmpty)
        }
    }

    @Test("a preflight from another origin goes upstream by default (FORWARD), and is answered 200 without CORS fields with IGNORE")
    func unmatchedPreflight() throws {
        let v1 = try TestBackend(.echo(name: "v1")), v2 = try TestBackend(.echo(name: "v2"))
        defer { v1.stop(); v2.stop() }
        try ProxyFixture.withProxy(Self.yaml(v1, v2, cors: Self.policy)) { address, _ in
            let response = try BlockingHTTPClient(address).request("OPTIONS", "/items", headers: Self.preflight("https://evil.test"))
            #expect(response.text == "v1 OPTIONS /items\n", "forwarded")
            #expect(response.header("access-control-allow-origin") == nil)
        }
        let ignoring = Self.policy.replacingOccurrences(of: "allowCredentials: true}", with: "allowCredentials: true, unmatchedPreflights: IGNORE}")
        try ProxyFixture.withProxy(Self.yaml(v1, v2, cors: ignoring)) { address, _ in
            let response = try BlockingHTTPClient(address).request("OPTIONS", "/items", headers: Self.preflight("https://evil.test"))
            #expect(response.status == 200 && response.text.isEmpty)
            #expect(response.header("access-control-allow-origin") == nil && response.header("access-control-allow-methods") == nil)
            #expect(v1.requests.count == 1, "only the first proxy's forwarded preflight reached the backend")
        }
    }

    @Test("responses to an allowed origin carry allow-origin, credentials and expose-headers; other origins and same-origin requests get none")
    func actualRequests() throws {
        let v1 = try TestBackend(.echo(name: "v1")), v2 = try TestBackend(.echo(name: "v2"))
        defer { v1.stop(); v2.stop() }
        try ProxyFixture.withProxy(Self.yaml(v1, v2, cors: Self.policy)) { address, _ in
            let client = try BlockingHTTPClient(address)
            let allowed = try client.request("GET", "/a", headers: [("Origin", "https://app.test")])
            #expect(allowed.text == "v1 GET /a\n")
            #expect(allowed.header("access-control-allow-origin") == "https://app.test")
            #expect(allowed.header("access-control-allow-credentials") == "true")
            #expect(allowed.header("access-control-expose-headers") == "x-trace")
            #expect(allowed.header("access-control-allow-methods") == nil, "preflight-only field")
            #expect(allowed.header("vary") == "Origin")
            // A preflight-looking request without Access-Control-Request-Method is an ordinary OPTIONS.
            let plainOptions = try client.request("OPTIONS", "/a", headers: [("Origin", "https://app.test")])
            #expect(plainOptions.text == "v1 OPTIONS /a\n" && plainOptions.header("access-control-allow-origin") == "https://app.test")

            let other = try client.request("GET", "/b", headers: [("Origin", "https://evil.test")])
            #expect(other.text == "v1 GET /b\n" && other.header("access-control-allow-origin") == nil && other.header("vary") == nil)
            let sameOrigin = try client.request("GET", "/c")
            #expect(sameOrigin.header("access-control-allow-origin") == nil)
        }
    }

    @Test("an allowOrigins entry matching '*' allows every origin, echoed; local replies to allowed origins carry the fields too")
    func wildcardAndLocalReplies() throws {
        let v1 = try TestBackend(.echo(name: "v1")), v2 = try TestBackend(.echo(name: "v2"))
        defer { v1.stop(); v2.stop() }
        let config = Self.yaml(v1, v2, cors: "{allowOrigins: [{exact: \"*\"}]}",
                               extra: "    fault: {abort: {httpStatus: 503, percentage: {value: 100}}}")
        try ProxyFixture.withProxy(config) { address, _ in
            let response = try BlockingHTTPClient(address).request("GET", "/x", headers: [("Origin", "https://anywhere.test")])
            #expect(response.status == 503, "the fault answers locally")
            #expect(response.header("access-control-allow-origin") == "https://anywhere.test")
            #expect(response.header("access-control-allow-credentials") == nil)
        }
    }
}
