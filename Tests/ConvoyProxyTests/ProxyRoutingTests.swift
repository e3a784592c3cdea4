import ConvoyNetwork
import ConvoyProxy
import ConvoyTestSupport
import Testing

@Suite("Proxy routing over real sockets")
struct ProxyRoutingTests {
    @Test("every kind of rule routes where it says; no match is 404")
    func everyRuleKind() throws {
        let v1 = try TestBackend(.echo(name: "v1")), v2 = try TestBackend(.echo(name: "v2"))
        defer { v1.stop(); v2.stop() }
        let http = """
          - name: canary-header
            match: [{headers: {x-canary: {exact: always}}}]
            route: [{destination: {host: catalog.test, subset: v2}}]
          - name: exact
            match: [{uri: {exact: /exact}}]
            directResponse: {status: 200, body: {string: "exact match"}}
          - name: api-prefix
            match: [{uri: {prefix: /api/}}]
            rewrite: {uri: /v2/, authority: backend.internal}
            route: [{destination: {host: catalog.test, subset: v1}}]
          - name: regex-rewrite
            match: [{uri: {prefix: /service/}}]
            rewrite: {uriRegexRewrite: {match: "^/service/([^/]+)(/.*)$", rewrite: '\\2/instance/\\1'}}
            route: [{destination: {host: catalog.test, subset: v1}}]
          - name: moved-prefix
            match: [{uri: {prefix: /legacy/}}]
            redirect: {prefixRewrite: /modern/, scheme: https, derivePort: FROM_PROTOCOL_DEFAULT, redirectCode: 308}
          - name: items-regex
            match: [{uri: {regex: "/items/[0-9]+"}}]
            route: [{destination: {host: catalog.test, subset: v2}}]
          - name: query
            match: [{queryParams: {version: {exact: "2"}}}]
            route: [{destination: {host: catalog.test, subset: v2}}]
          - name: delete-refused
            match: [{method: {exact: DELETE}}]
            directResponse: {status: 405, body: {string: "no deleting"}}
          - name: caseless
            match: [{uri: {prefix: /caseless}, ignoreUriCase: true}]
            directResponse: {status: 200, body: {string: "any case"}}
          - name: without-debug
            match: [{uri: {prefix: /guarded}, withoutHeaders: {x-debug: {}}}]
            directResponse: {status: 200, body: {string: "no debug header"}}
          - name: moved
            match: [{uri: {exact: /old}}]
            redirect: {uri: /new, authority: new.example.com, scheme: https}
          - name: scheme-and-headers
            match: [{uri: {prefix: /headers}, scheme: {exact: http}}]
            headers:
              request: {set: {x-set: "set-by-proxy"}, add: {x-added: "one"}, remove: [x-remove-me]}
              response: {set: {x-served: "convoy"}, remove: [x-backend]}
            route: [{destination: {host: catalog.test, subset: v1}}]
        """
        let admin = """
        ---
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: {name: admin}
        spec:
          hosts: [admin.example.com]
          gateways: [gw]
          http:
          - match: [{authority: {exact: admin.example.com}}]
            directResponse: {status: 200, body: {string: "admin host"}}
        """
        let text = ProxyFixture.yaml(v1: v1.address, v2: v2.address, http: http, hosts: "[shop.example.com]", extra: admin)
        try ProxyFixture.withProxy(text) { address, _ in
            let client = try BlockingHTTPClient(address)
            let shop = [("Host", "shop.example.com")]
            func get(_ target: String, _ headers: [(String, String)] = [], method: String = "GET") throws -> TestResponse {
                try client.request(method, target, headers: shop + headers)
            }
            #expect(try get("/exact").text == "exact match")
            #expect(try get("/exact", [("x-canary", "always")]).text == "v2 GET /exact\n")
            #expect(try get("/api/list?page=2").text == "v1 GET /v2/list?page=2\n")
            #expect(v1.requests.last?.header("host") == "backend.internal")
            #expect(try get("/service/orders/v1/list?all=1").text == "v1 GET /v1/list/instance/orders?all=1\n")
            let moved = try client.request("GET", "/legacy/a/b?c=d", headers: [("Host", "shop.example.com:8080")])
            #expect(moved.status == 308 && moved.header("location") == "https://shop.example.com/modern/a/b?c=d")
            #expect(try get("/items/42").text == "v2 GET /items/42\n")
            #expect(try get("/items/42/more").status == 404)  // whole-path regex
            #expect(try get("/anything?version=2").text == "v2 GET /anything?version=2\n")
            let refused = try get("/x", method: "DELETE")
            #expect(refused.status == 405 && refused.text == "no deleting")
            #expect(try get("/CASELESS/x").text == "any case")
            #expect(try get("/guarded").text == "no debug header")
            #expect(try get("/guarded", [("x-debug", "1")]).status == 404)
            let redirect = try get("/old?q=1")
            #expect(redirect.status == 301)
            #expect(redirect.header("location") == "https://new.example.com/new?q=1")
            let mutated = try get("/headers", [("x-remove-me", "1"), ("x-added", "zero")])
            #expect(mutated.header("x-served") == "convoy")
            #expect(mutated.header("x-backend") == nil)
            let seen = try #require(v1.requests.last)
            #expect(seen.header("x-set") == "set-by-proxy")
            #expect(seen.headers.filter { $0.name.lowercased() == "x-added" }.map(\.value) == ["zero", "one"])
            #expect(seen.header("x-remove-me") == nil)
            let missing = try get("/nothing-matches")
            #expect(missing.status == 404)
            #expect(missing.text.contains("no route"))
            #expect(try client.request("GET", "/", headers: [("Host", "admin.example.com")]).text == "admin host")
            #expect(try client.request("GET", "/", headers: [("Host", "unknown.example.com")]).status == 404)
        }
    }

    @Test("forwarding headers: x-forwarded-for appended, -proto set, x-request-id made or kept, hop-by-hop fields removed")
    func forwardingHeaders() throws {
        let v1 = try TestBackend(.echo(name: "v1")), v2 = try TestBackend(.echo(name: "v2"))
        defer { v1.stop(); v2.stop() }
        let http = """
          - route: [{destination: {host: catalog.test, subset: v1}}]
        """
        try ProxyFixture.withProxy(ProxyFixture.yaml(v1: v1.address, v2: v2.address, http: http)) { address, _ in
            let client = try BlockingHTTPClient(address)
            _ = try client.request("GET", "/a", headers: [("Connection", "x-private"), ("x-private", "1"), ("Keep-Alive", "timeout=5"), ("TE", "trailers")])
            let first = try #require(v1.requests.last)
            #expect(first.header("x-forwarded-for") == "127.0.0.1")
            #expect(first.header("x-forwarded-proto") == "http")
            let id = try #require(first.header("x-request-id"))
            #expect(id.count == 36 && id.split(separator: "-").map(\.count) == [8, 4, 4, 4, 12])
            #expect(id.allSatisfy { "0123456789abcdef-".contains($0) })
            #expect(Array(id)[14] == "4" && "89ab".contains(Array(id)[19]), "a version 4, RFC 4122 variant UUID: \(id)")
            #expect(first.header("x-private") == nil && first.header("keep-alive") == nil && first.header("te") == nil)
            #expect(first.header("connection") == nil)
            _ = try client.request("GET", "/b", headers: [("X-Forwarded-For", "203.0.113.9"), ("x-request-id", "abc-123")])
            let second = try #require(v1.requests.last)
            #expect(second.header("x-forwarded-for") == "203.0.113.9, 127.0.0.1")
            #expect(second.header("x-request-id") == "abc-123")
            _ = try client.request("GET", "/c")
            #expect(v1.requests.last?.header("x-request-id") != id)  // a new id per request
        }
    }

    @Test("weights: 10,000 requests split 70/30 within statistical bounds")
    func weightedSplit() throws {
        let v1 = try TestBackend(.echo(name: "v1")), v2 = try TestBackend(.echo(name: "v2"))
        defer { v1.stop(); v2.stop() }
        let http = """
          - route:
            - {destination: {host: catalog.test, subset: v1}, weight: 70}
            - {destination: {host: catalog.test, subset: v2}, weight: 30}
        """
        try ProxyFixture.withProxy(ProxyFixture.yaml(v1: v1.address, v2: v2.address, http: http)) { address, _ in
            let client = try BlockingHTTPClient(address)
            var toV1 = 0
            for index in 0..<10_000 {
                let response = try client.request("GET", "/\(index)")
                if response.header("x-backend") == "v1" { toV1 += 1 }
            }
            // Binomial(10 000, 0.7): σ ≈ 46, so ±300 is more than 6σ.
            #expect(toV1 > 6_700 && toV1 < 7_300, "v1 got \(toV1) of 10000")
            #expect(v1.requests.count + v2.requests.count == 10_000)
        }
    }

    @Test("keep-alive: sequential requests reuse one upstream connection, across client connections")
    func upstreamReuse() throws {
        let v1 = try TestBackend(.echo(name: "v1")), v2 = try TestBackend(.echo(name: "v2"))
        defer { v1.stop(); v2.stop() }
        let http = """
          - route: [{destination: {host: catalog.test, subset: v1}}]
        """
        try ProxyFixture.withProxy(ProxyFixture.yaml(v1: v1.address, v2: v2.address, http: http)) { address, server in
            for connection in 0..<3 {
                let client = try BlockingHTTPClient(address)
                for index in 0..<100 { #expect(try client.request("GET", "/\(connection)/\(index)").status == 200) }
            }
            #expect(v1.requests.count == 300)
            #expect(v1.connectionsAccepted == 1)
            #expect(server.workerStats().map(\.upstreamConnectionsOpened) == [1])
        }
    }

    @Test("maxRequestsPerConnection: 1 opens a connection per request")
    func maxRequestsPerConnection() throws {
        let v1 = try TestBackend(.echo(name: "v1")), v2 = try TestBackend(.echo(name: "v2"))
        defer { v1.stop(); v2.stop() }
        let http = """
          - route: [{destination: {host: catalog.test, subset: v1}}]
        """
        let policy = "  trafficPolicy: {connectionPool: {http: {maxRequestsPerConnection: 1}}}"
        try ProxyFixture.withProxy(ProxyFixture.yaml(v1: v1.address, v2: v2.address, http: http, policy: policy)) { address, _ in
            let client = try BlockingHTTPClient(address)
            for index in 0..<5 { #expect(try client.request("GET", "/\(index)").status == 200) }
            #expect(v1.connectionsAccepted == 5)
        }
    }

    @Test("consistent hash: one header value always reaches the same endpoint")
    func consistentHash() throws {
        let v1 = try TestBackend(.echo(name: "v1")), v2 = try TestBackend(.echo(name: "v2"))
        defer { v1.stop(); v2.stop() }
        let http = """
          - route: [{destination: {host: catalog.test}}]
        """
        let policy = "  trafficPolicy: {loadBalancer: {consistentHash: {httpHeaderName: x-user}}}"
        try ProxyFixture.withProxy(ProxyFixture.yaml(v1: v1.address, v2: v2.address, http: http, policy: policy)) { address, _ in
            let client = try BlockingHTTPClient(address)
            var seen: Set<String> = []
            for user in 0..<40 {
                let first = try client.request("GET", "/", headers: [("x-user", "user-\(user)")]).header("x-backend")
                for _ in 0..<5 {
                    #expect(try client.request("GET", "/", headers: [("x-user", "user-\(user)")]).header("x-backend") == first)
                }
                seen.insert(first ?? "")
            }
            #expect(seen == ["v1", "v2"])  // both endpoints own some keys
        }
    }

    @Test("sticky canary: with a consistent-hash key, a client stays on the weighted subset it landed on; the split still holds")
    func stickyCanary() throws {
        let v1 = try TestBackend(.echo(name: "v1")), v2 = try TestBackend(.echo(name: "v2"))
        defer { v1.stop(); v2.stop() }
        let http = """
          - route:
            - {destination: {host: catalog.test, subset: v1}, weight: 70}
            - {destination: {host: catalog.test, subset: v2}, weight: 30}
        """
        let policy = "  trafficPolicy: {loadBalancer: {consistentHash: {httpHeaderName: x-user}}}"
        try ProxyFixture.withProxy(ProxyFixture.yaml(v1: v1.address, v2: v2.address, http: http, policy: policy)) { address, _ in
            let client = try BlockingHTTPClient(address)
            var onV2 = 0
            for user in 0..<400 {
                let headers = [("x-user", "user-\(user)")]
                let first = try client.request("GET", "/", headers: headers).header("x-backend")
                for _ in 0..<4 {
                    #expect(try client.request("GET", "/", headers: headers).header("x-backend") == first, "user-\(user) moved")
                }
                if first == "v2" { onV2 += 1 }
            }
            // 400 users at 30 %: mean 120, standard deviation 9.2; five of them either side.
            #expect((74...166).contains(onV2), "\(onV2) of 400 users on v2")
        }
        // Without a hash key the pick stays random per request, as in Istio.
        try ProxyFixture.withProxy(ProxyFixture.yaml(v1: v1.address, v2: v2.address, http: http)) { address, _ in
            let client = try BlockingHTTPClient(address)
            let backends = try (0..<200).map { _ in try client.request("GET", "/", headers: [("x-user", "same")]).header("x-backend") }
            #expect(Set(backends) == ["v1", "v2"])
        }
    }
}
