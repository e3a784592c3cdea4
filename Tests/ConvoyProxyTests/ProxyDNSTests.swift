import ConvoyDispatcher
import ConvoyNetwork
import ConvoyProxy
import ConvoyTestSupport
import Synchronization
import Testing

@Suite("DNS clusters")
struct ProxyDNSTests {
    /// A name table standing in for DNS: name -> the port of the backend it points at (on 127.0.0.1).
    private final class FakeDNS: Sendable {
        let table = Mutex<[String: [UInt16]]>([:])
        let queries = Atomic<Int>(0)

        var lookup: HostResolver.Lookup {
            { [self] name, _ in
                queries.add(1, ordering: .relaxed)
                return table.withLock { $0[name] ?? [] }.compactMap { SocketAddress(ip: "127.0.0.1", port: $0) }
            }
        }
    }

    private static func yaml(endpoint: String) -> String {
        """
        apiVersion: networking.istio.io/v1
        kind: Gateway
        metadata: {name: gw}
        spec:
          servers:
          - port: {number: 0, name: http, protocol: HTTP}
            bind: 127.0.0.1
            hosts: ["*"]
        ---
        apiVersion: networking.istio.io/v1
        kind: ServiceEntry
        metadata: {name: orders}
        spec:
          hosts: [orders.example.com]
          ports: [{number: 80, name: http, protocol: HTTP}]
          resolution: DNS
          \(endpoint)
        ---
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: {name: orders}
        spec:
          hosts: ["*"]
          gateways: [gw]
          http:
          - route: [{destination: {host: orders.example.com}}]
        """
    }

    @Test("a DNS cluster follows its name: resolved at start, re-resolved on refresh, every address used; a name that stops resolving leaves 503")
    func reResolution() throws {
        let v1 = try TestBackend(.echo(name: "v1")), v2 = try TestBackend(.echo(name: "v2"))
        defer { v1.stop(); v2.stop() }
        let dns = FakeDNS()
        dns.table.withLock { $0["orders.internal"] = [v1.address.port!] }
        let config = Self.yaml(endpoint: "endpoints: [{address: orders.internal, ports: {http: 8080}}]")
        try ProxyFixture.withProxy(config, lookup: dns.lookup) { address, server in
            let client = try BlockingHTTPClient(address)
            #expect(try client.request("GET", "/a").text == "v1 GET /a\n")

            dns.table.withLock { $0["orders.internal"] = [v2.address.port!] }
            server.refreshDNS()
            #expect(eventually { (try? BlockingHTTPClient(address).request("GET", "/b").text) == "v2 GET /b\n" })
            // The address that left DNS: its pool drains (idle connections close now, not at the
            // idle timeout) and is forgotten, so changing addresses never pile up pools.
            #expect(eventually { v1.connectionsClosed == v1.connectionsAccepted }, "v1's pooled connection closed")
            #expect(eventually { server.workerStats().allSatisfy { $0.upstreamPools <= 1 } })

            dns.table.withLock { $0["orders.internal"] = [v1.address.port!, v2.address.port!] }
            server.refreshDNS()
            #expect(eventually {
                let answers = (0..<10).compactMap { _ in try? client.request("GET", "/c").text }
                return Set(answers) == ["v1 GET /c\n", "v2 GET /c\n"]
            }, "round robin over both addresses")

            dns.table.withLock { $0["orders.internal"] = [] }
            server.refreshDNS()
            #expect(eventually { (try? BlockingHTTPClient(address).request("GET", "/d").status) == 503 })
            #expect(eventually { server.workerStats().allSatisfy { $0.upstreamPools == 0 } }, "no address, no pool")
        }
    }

    @Test("slow start: an address that joins gets 10 % of its share at first, half way through the window more, all of it after")
    func slowStart() throws {
        let v1 = try TestBackend(.echo(name: "v1")), v2 = try TestBackend(.echo(name: "v2"))
        defer { v1.stop(); v2.stop() }
        let dns = FakeDNS()
        dns.table.withLock { $0["orders.internal"] = [v1.address.port!] }
        let config = Self.yaml(endpoint: "endpoints: [{address: orders.internal, ports: {http: 8080}}]") + """

            ---
            apiVersion: networking.istio.io/v1
            kind: DestinationRule
            metadata: {name: orders}
            spec:
              host: orders.example.com
              trafficPolicy:
                loadBalancer: {simple: ROUND_ROBIN, warmup: {duration: 60s, minimumPercent: {value: 10}}}
            """
        let clock = SimulatedTimeSource()
        try ProxyFixture.withProxy(config, timeSource: clock, lookup: dns.lookup) { address, server in
            let client = try BlockingHTTPClient(address)
            func shareOfV2(_ count: Int) throws -> Int {
                try (0..<count).filter { _ in try client.request("GET", "/").text.hasPrefix("v2") }.count
            }
            #expect(try shareOfV2(10) == 0)
            dns.table.withLock { $0["orders.internal"] = [v1.address.port!, v2.address.port!] }
            server.refreshDNS()
            #expect(eventually { (try? shareOfV2(20)) ?? 0 > 0 }, "v2 joins")
            // Weights 1,000 and 100 (10 %): smooth round robin gives v2 10 of 110 picks.
            #expect(try shareOfV2(110) == 10)
            clock.advance(by: .seconds(30))  // half the window: factor 0.5, weights 1,000 and 500
            #expect(eventually { (try? shareOfV2(150)) == 50 })
            clock.advance(by: .seconds(31))  // past the window: equal weights
            #expect(eventually { (try? shareOfV2(100)) == 50 })
        }
    }

    @Test("without endpoints, a DNS ServiceEntry resolves its own host name")
    func hostNameIsTheEndpoint() throws {
        let v1 = try TestBackend(.echo(name: "v1"))
        defer { v1.stop() }
        let dns = FakeDNS()
        dns.table.withLock { $0["orders.example.com"] = [v1.address.port!] }
        try ProxyFixture.withProxy(Self.yaml(endpoint: ""), lookup: dns.lookup) { address, _ in
            let response = try BlockingHTTPClient(address).request("GET", "/x")
            #expect(response.text == "v1 GET /x\n")
            #expect(dns.queries.load(ordering: .relaxed) >= 1)
        }
    }

    @Test("the system resolver finds localhost (from /etc/hosts: no network needed)")
    func systemResolver() {
        let addresses = HostResolver.lookup("localhost", port: 8080)
        #expect(addresses.contains(SocketAddress(ip: "127.0.0.1", port: 8080)!), "\(addresses)")
    }
}
