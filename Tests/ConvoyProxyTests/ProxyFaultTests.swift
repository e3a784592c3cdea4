import ConvoyDispatcher
import ConvoyNetwork
import ConvoyProxy
import ConvoyTestSupport
import Testing

@Suite("Fault injection")
struct ProxyFaultTests {
    private static func route(_ fault: String) -> String {
        """
          - route: [{destination: {host: catalog.test, subset: v1}}]
            fault: \(fault)
        """
    }

    @Test("abort: the status instead of the upstream, flagged FI; the backend never sees the request")
    func abortAll() throws {
        let v1 = try TestBackend(.echo(name: "v1")), v2 = try TestBackend(.echo(name: "v2"))
        defer { v1.stop(); v2.stop() }
        let yaml = ProxyFixture.yaml(v1: v1.address, v2: v2.address, http: Self.route("{abort: {httpStatus: 418, percentage: {value: 100}}}"))
        try ProxyFixture.withProxy(yaml) { address, server in
            let response = try BlockingHTTPClient(address).request("GET", "/")
            #expect(response.status == 418)
            #expect(response.text == "fault filter abort\n")
            #expect(response.header("x-convoy-response-flags") == "FI")
            #expect(v1.requests.isEmpty)
            #expect(server.workerStats()[0].faultAborts == 1)
        }
    }

    @Test("percentages hold within statistical bounds over 2,000 requests; no percentage means no fault")
    func percentages() throws {
        let v1 = try TestBackend(.echo(name: "v1")), v2 = try TestBackend(.echo(name: "v2"))
        defer { v1.stop(); v2.stop() }
        let http = """
          - match: [{uri: {prefix: /never}}]
            route: [{destination: {host: catalog.test, subset: v1}}]
            fault: {abort: {httpStatus: 503}}
        \(Self.route("{abort: {httpStatus: 503, percentage: {value: 30}}, delay: {fixedDelay: 1ms, percentage: {value: 25}}}"))
        """
        try ProxyFixture.withProxy(ProxyFixture.yaml(v1: v1.address, v2: v2.address, http: http)) { address, server in
            let client = try BlockingHTTPClient(address)
            var aborted = 0
            for _ in 0..<2_000 where try client.request("GET", "/").status == 503 { aborted += 1 }
            // Binomial(2000, p): five standard deviations either side (sd ≈ 20.5 for 30 %, 19.4 for 25 %).
            #expect((498...702).contains(aborted), "aborted \(aborted) of 2000 at 30 %")
            let delays = server.workerStats()[0].faultDelays
            #expect((403...597).contains(delays), "delayed \(delays) of 2000 at 25 %")
            #expect(v1.requests.count == 2_000 - aborted, "the aborted ones never went upstream")
            for _ in 0..<50 { #expect(try client.request("GET", "/never").status == 200) }
        }
    }

    @Test("delay: the request reaches the backend only after fixedDelay (simulated clock), body included")
    func delay() throws {
        let v1 = try TestBackend(.countBody(name: "v1")), v2 = try TestBackend(.echo(name: "v2"))
        defer { v1.stop(); v2.stop() }
        let clock = SimulatedTimeSource()
        let yaml = ProxyFixture.yaml(v1: v1.address, v2: v2.address, http: Self.route("{delay: {fixedDelay: 5s, percentage: {value: 100}}}"))
        try ProxyFixture.withProxy(yaml, timeSource: clock) { address, server in
            let client = try BlockingHTTPClient(address)
            try client.send("POST /slow HTTP/1.1\r\nHost: test\r\nContent-Length: 5\r\n\r\nhello")
            #expect(eventually { server.workerStats()[0].faultDelays == 1 })
            clock.advance(by: .seconds(4))
            #expect(server.workerStats()[0].upstreamRequests == 0, "still waiting after 4 s")
            #expect(v1.requests.isEmpty)
            clock.advance(by: .seconds(1))
            let response = try client.readResponse()
            #expect(response.status == 200)
            #expect(response.text == "v1 received 5 bytes\n")
        }
    }
}
