import ConvoyNetwork
import ConvoyProxy
import ConvoyTestSupport
import Testing

@Suite("Retries")
struct ProxyRetryTests {
    private static func route(_ retries: String? = nil) -> String {
        """
          - route: [{destination: {host: catalog.test, subset: v1}}]
        \(retries.map { "    retries: \($0)" } ?? "")
        """
    }

    private static func stats(_ server: ProxyServer) -> ProxyWorkerStats {
        server.workerStats()[0]
    }

    @Test("a backend failing the first two tries with 503: the third answers, the client sees only the 200")
    func failFirstTwo() throws {
        let v1 = try TestBackend(.failFirst(count: 2, status: 503, name: "v1")), v2 = try TestBackend(.echo(name: "v2"))
        defer { v1.stop(); v2.stop() }
        let yaml = ProxyFixture.yaml(v1: v1.address, v2: v2.address, http: Self.route("{attempts: 3, retryOn: 5xx}"))
        try ProxyFixture.withProxy(yaml) { address, server in
            let response = try BlockingHTTPClient(address).request("GET", "/item")
            #expect(response.status == 200)
            #expect(response.text == "v1 received 0 bytes\n")
            #expect(v1.requests.count == 3)
            #expect(Self.stats(server).upstreamRetries == 2)
        }
    }

    @Test("retries used up: the last upstream response is what the client gets")
    func exhausted() throws {
        let v1 = try TestBackend(.failFirst(count: 5, status: 502, name: "v1")), v2 = try TestBackend(.echo(name: "v2"))
        defer { v1.stop(); v2.stop() }
        let yaml = ProxyFixture.yaml(v1: v1.address, v2: v2.address, http: Self.route("{attempts: 2, retryOn: gateway-error}"))
        try ProxyFixture.withProxy(yaml) { address, server in
            let response = try BlockingHTTPClient(address).request("GET", "/")
            #expect(response.status == 502)
            #expect(v1.requests.count == 3, "one try and two retries")
            let stats = Self.stats(server)
            #expect(stats.upstreamRetries == 2 && stats.upstreamRetriesExhausted == 1)
        }
    }

    @Test("Istio's default policy retries a 503 twice but not a 500; attempts: 0 turns it off")
    func defaultPolicy() throws {
        let v1 = try TestBackend(.failFirst(count: 1, status: 503, name: "v1")), v2 = try TestBackend(.failFirst(count: 1, status: 500, name: "v2"))
        defer { v1.stop(); v2.stop() }
        let http = """
          - match: [{uri: {prefix: /v2}}]
            route: [{destination: {host: catalog.test, subset: v2}}]
          - match: [{uri: {prefix: /off}}]
            route: [{destination: {host: catalog.test, subset: v1}}]
            retries: {attempts: 0}
          - route: [{destination: {host: catalog.test, subset: v1}}]
        """
        try ProxyFixture.withProxy(ProxyFixture.yaml(v1: v1.address, v2: v2.address, http: http)) { address, _ in
            let client = try BlockingHTTPClient(address)
            #expect(try client.request("GET", "/v1").status == 200, "503 retried by default")
            #expect(v1.requests.count == 2)
            #expect(try client.request("GET", "/v2").status == 500, "500 is not in the default conditions")
            #expect(v2.requests.count == 1)
        }
        let failing = try TestBackend(.failFirst(count: 1, status: 503, name: "v1"))
        defer { failing.stop() }
        try ProxyFixture.withProxy(ProxyFixture.yaml(v1: failing.address, v2: v2.address, http: http)) { address, _ in
            let response = try BlockingHTTPClient(address).request("GET", "/off")
            #expect(response.status == 503, "attempts: 0 disables retries")
            #expect(failing.requests.count == 1)
        }
    }

    @Test("keep-alive race: a backend resetting reused connections costs the client nothing with the default policy")
    func keepAliveRace() throws {
        let v1 = try TestBackend(.closeOnReuse(name: "v1")), v2 = try TestBackend(.echo(name: "v2"))
        defer { v1.stop(); v2.stop() }
        try ProxyFixture.withProxy(ProxyFixture.yaml(v1: v1.address, v2: v2.address, http: Self.route())) { address, server in
            let client = try BlockingHTTPClient(address)
            for index in 0..<30 {
                let response = try client.request("GET", "/\(index)")
                #expect(response.status == 200, "request \(index): \(response.status) \(response.text)")
            }
            let stats = Self.stats(server)
            #expect(stats.upstreamRetries > 0, "the race happened and was retried")
            #expect(stats.upstreamFailures == 0)
            #expect(v1.connectionsAccepted > 1)
        }
    }

    @Test("a request body is replayed for an idempotent method, never for a POST whose body went out")
    func bodyReplay() throws {
        let body = [UInt8](repeating: 0x62, count: 20_000)
        let v1 = try TestBackend(.resetFirst(count: 1, name: "v1")), v2 = try TestBackend(.resetFirst(count: 1, name: "v2"))
        defer { v1.stop(); v2.stop() }
        let http = """
          - match: [{uri: {prefix: /v2}}]
            route: [{destination: {host: catalog.test, subset: v2}}]
            retries: {attempts: 2, retryOn: reset}
        \(Self.route("{attempts: 2, retryOn: reset}"))
        """
        try ProxyFixture.withProxy(ProxyFixture.yaml(v1: v1.address, v2: v2.address, http: http)) { address, _ in
            let put = try BlockingHTTPClient(address).request("PUT", "/v1", body: body)
            #expect(put.status == 200)
            #expect(put.text == "v1 received 20000 bytes\n", "the whole body again on the retry")
            let post = try BlockingHTTPClient(address).request("POST", "/v2", body: body)
            #expect(post.status == 502, "a POST body that reached the upstream is not sent twice")
            #expect(v2.requests.count == 1)
        }
    }

    @Test("perTryTimeout: a stalled try is abandoned and the next one answers within the route timeout")
    func perTryTimeout() throws {
        let v1 = try TestBackend(.stallFirst(count: 1, name: "v1")), v2 = try TestBackend(.echo(name: "v2"))
        defer { v1.stop(); v2.stop() }
        let http = """
          - timeout: 20s
            route: [{destination: {host: catalog.test, subset: v1}}]
            retries: {attempts: 2, perTryTimeout: 200ms, retryOn: 5xx}
        """
        try ProxyFixture.withProxy(ProxyFixture.yaml(v1: v1.address, v2: v2.address, http: http)) { address, server in
            let response = try BlockingHTTPClient(address).request("GET", "/")
            #expect(response.status == 200)
            #expect(v1.requests.count == 2)
            #expect(Self.stats(server).upstreamPerTryTimeouts == 1)
            #expect(eventually { v1.connectionsClosed >= 1 }, "the stalled try's connection was closed")
        }
    }

    @Test("retries stay within the budget: maxRetries 0 or a zero budget refuse them, and count it")
    func budget() throws {
        for policy in ["  trafficPolicy: {connectionPool: {http: {maxRetries: 0}}}",
                       "  trafficPolicy: {retryBudget: {percent: {value: 0}, minRetryConcurrency: 0}}"] {
            let v1 = try TestBackend(.failFirst(count: 1, status: 503, name: "v1")), v2 = try TestBackend(.echo(name: "v2"))
            defer { v1.stop(); v2.stop() }
            let yaml = ProxyFixture.yaml(v1: v1.address, v2: v2.address, http: Self.route("{attempts: 3, retryOn: 5xx}"), policy: policy)
            try ProxyFixture.withProxy(yaml) { address, server in
                let response = try BlockingHTTPClient(address).request("GET", "/")
                #expect(response.status == 503)
                #expect(v1.requests.count == 1)
                let stats = Self.stats(server)
                #expect(stats.upstreamRetries == 0 && stats.upstreamRetryOverflows == 1)
            }
        }
    }

    @Test("a retry prefers an endpoint not tried yet")
    func differentEndpoint() throws {
        let bad = try TestBackend(.status(503)), good = try TestBackend(.echo(name: "good"))
        defer { bad.stop(); good.stop() }
        // Both endpoints in one subset (same labels): round robin would alternate anyway, so
        // the first pick is forced onto the bad one by asking for it by hash key.
        let yaml = """
        apiVersion: networking.istio.io/v1
        kind: Gateway
        metadata: {name: gw}
        spec:
          servers: [{port: {number: 0, name: http, protocol: HTTP}, bind: 127.0.0.1, hosts: ["*"]}]
        ---
        apiVersion: networking.istio.io/v1
        kind: ServiceEntry
        metadata: {name: pair}
        spec:
          hosts: [pair.test]
          ports: [{number: 80, name: http, protocol: HTTP}]
          resolution: STATIC
          endpoints:
          - {address: 127.0.0.1, ports: {http: \(bad.address.port!)}}
          - {address: 127.0.0.1, ports: {http: \(good.address.port!)}}
        ---
        apiVersion: networking.istio.io/v1
        kind: DestinationRule
        metadata: {name: pair}
        spec:
          host: pair.test
          trafficPolicy: {loadBalancer: {consistentHash: {httpHeaderName: x-user}}}
        ---
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: {name: pair}
        spec:
          hosts: ["*"]
          gateways: [gw]
          http:
          - route: [{destination: {host: pair.test}}]
            retries: {attempts: 1, retryOn: 5xx}
        """
        try ProxyFixture.withProxy(yaml) { address, _ in
            let client = try BlockingHTTPClient(address)
            // Whatever endpoint a user's key hashes to, the retry goes to the other one.
            for user in 0..<10 {
                let response = try client.request("GET", "/", headers: [("x-user", "user-\(user)")])
                #expect(response.status == 200, "user-\(user) got \(response.status)")
            }
        }
    }
}
