import ConvoyNetwork
import ConvoyProxy
import ConvoyTestSupport
import Testing

@Suite("Trace context")
struct ProxyTraceContextTests {
    private static let traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    private static let headers = [
        ("traceparent", traceparent), ("tracestate", "vendor=opaque"),
        ("x-b3-traceid", "80f198ee56343ba864fe8b2a57d3eff7"), ("x-b3-spanid", "e457b5a2e4d86bd1"), ("x-b3-sampled", "1"),
        ("b3", "80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1-05e3ac9a4f6e3b90"), ("x-request-id", "keep-me"),
    ]

    private static func forwarded(newSpanPerHop: Bool, headers: [(String, String)] = headers) throws -> TestBackend.SeenRequest {
        let v1 = try TestBackend(.echo(name: "v1")), v2 = try TestBackend(.echo(name: "v2"))
        defer { v1.stop(); v2.stop() }
        let extra = newSpanPerHop ? "---\napiVersion: convoy/v1alpha1\nkind: Bootstrap\nspec:\n  tracing: {newSpanPerHop: true}\n" : ""
        let yaml = ProxyFixture.yaml(v1: v1.address, v2: v2.address, http: "  - route: [{destination: {host: catalog.test, subset: v1}}]", extra: extra)
        var seen: TestBackend.SeenRequest?
        try ProxyFixture.withProxy(yaml) { address, _ in
            _ = try BlockingHTTPClient(address).request("GET", "/", headers: headers)
            seen = v1.requests.first
        }
        return try #require(seen)
    }

    @Test("W3C and B3 headers and x-request-id are forwarded untouched by default")
    func propagated() throws {
        let seen = try Self.forwarded(newSpanPerHop: false)
        for (name, value) in Self.headers {
            #expect(seen.header(name) == value, "\(name)")
        }
    }

    @Test("newSpanPerHop: a new traceparent parent id and B3 span id, the incoming span as parent; trace ids kept")
    func newSpan() throws {
        let seen = try Self.forwarded(newSpanPerHop: true)
        let parts = try #require(seen.header("traceparent")).split(separator: "-").map(String.init)
        #expect(parts.count == 4 && parts[0] == "00" && parts[1] == "4bf92f3577b34da6a3ce929d0e0e4736" && parts[3] == "01")
        #expect(parts[2].count == 16 && parts[2] != "00f067aa0ba902b7" && parts[2].allSatisfy(\.isHexDigit))
        #expect(seen.header("tracestate") == "vendor=opaque")
        #expect(seen.header("x-b3-traceid") == "80f198ee56343ba864fe8b2a57d3eff7")
        #expect(seen.header("x-b3-parentspanid") == "e457b5a2e4d86bd1")
        let span = try #require(seen.header("x-b3-spanid"))
        #expect(span.count == 16 && span != "e457b5a2e4d86bd1")
        let single = try #require(seen.header("b3")).split(separator: "-").map(String.init)
        #expect(single.count == 4 && single[0] == "80f198ee56343ba864fe8b2a57d3eff7" && single[2] == "1" && single[3] == "e457b5a2e4d86bd1")
        #expect(single[1].count == 16 && single[1] != "e457b5a2e4d86bd1")
        #expect(seen.header("x-request-id") == "keep-me")
    }

    @Test("with newSpanPerHop, a traceparent that is malformed, all-zero or of another version is forwarded as it came")
    func malformed() throws {
        for value in ["00-xyz-00f067aa0ba902b7-01", "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
                      "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"] {
            let seen = try Self.forwarded(newSpanPerHop: true, headers: [("traceparent", value)])
            #expect(seen.header("traceparent") == value)
        }
    }
}
