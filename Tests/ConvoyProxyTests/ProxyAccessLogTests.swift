import ConvoyNetwork
import ConvoyProxy
import ConvoyTestSupport
import Foundation
import Testing

@Suite("Access log")
struct ProxyAccessLogTests {
    private static let http = """
      - match: [{uri: {prefix: /api}}]
        route: [{destination: {host: catalog.test, subset: v1}}]
      - match: [{uri: {prefix: /down}}]
        route: [{destination: {host: catalog.test, subset: v2}}]
        retries: {attempts: 0}
    """

    private static func withLog(format: String, bootstrap: String = "", _ body: (SocketAddress, String) throws -> Void) throws {
        let v1 = try TestBackend(.echo(name: "v1"))
        defer { v1.stop() }
        let path = "/tmp/convoy-access-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).log"
        defer { unlink(path) }
        let yaml = ProxyFixture.yaml(v1: v1.address, v2: LoopbackSocket.unusedAddress(), http: http, hosts: "[\"*\"]", extra: """
        ---
        apiVersion: convoy/v1alpha1
        kind: Bootstrap
        spec:
          accessLog: {path: \(path), \(format)}
        \(bootstrap)
        """)
        try ProxyFixture.withProxy(yaml) { address, _ in try body(address, path) }
    }

    private static func lines(_ path: String, count: Int) -> [String] {
        var result: [String] = []
        _ = eventually {
            result = ((try? String(contentsOfFile: path, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
            return result.count >= count
        }
        return result
    }

    @Test("Envoy's default text format, parsed back: method, path, status, flags (NR, UF), bytes, headers, upstream host")
    func defaultFormat() throws {
        try Self.withLog(format: "format: text") { address, path in
            let client = try BlockingHTTPClient(address)
            _ = try client.request("POST", "/api/items", headers: [("User-Agent", "tester/1.0"), ("X-Forwarded-For", "203.0.113.7")], body: Array("hello".utf8))
            _ = try client.request("GET", "/nowhere")
            _ = try client.request("GET", "/down")
            let lines = Self.lines(path, count: 3)
            try #require(lines.count == 3, "\(lines)")
            let pattern = try Regex(#"^\[(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)\] "(\S+) (\S+) (\S+)" (\d+) (\S+) (\d+) (\d+) (\d+) (\S+) "(.*)" "(.*)" "(.*)" "(.*)" "(.*)"$"#)
            let fields = try lines.map { line in
                let match = try #require(try pattern.wholeMatch(in: line), "not Envoy's format: \(line)")
                return (1..<match.output.count).map { match.output[$0].substring.map(String.init) ?? "" }
            }
            // [start] "METHOD PATH PROTOCOL" CODE FLAGS RECEIVED SENT DURATION SERVICE "XFF" "UA" "ID" "AUTHORITY" "UPSTREAM"
            #expect(Array(fields[0][1...5]) == ["POST", "/api/items", "HTTP/1.1", "200", "-"])
            #expect(fields[0][6] == "5" && fields[0][7] == String("v1 POST /api/items\n".utf8.count))
            #expect(Int(fields[0][9]) != nil, "upstream service time")
            #expect(fields[0][10] == "203.0.113.7" && fields[0][11] == "tester/1.0" && fields[0][12].count == 36)
            #expect(fields[0][13] == "test" && fields[0][14].hasPrefix("127.0.0.1:"))
            #expect(Array(fields[1][4...5]) == ["404", "NR"])
            #expect(Array(fields[2][4...5]) == ["503", "UF"])
            #expect(fields[2][9] == "-" && fields[1][14] == "-")
        }
    }

    @Test("JSON lines carry the same fields; a custom text format takes Envoy's operators")
    func jsonAndCustom() throws {
        try Self.withLog(format: "format: json") { address, path in
            _ = try BlockingHTTPClient(address).request("GET", "/api/one", headers: [("User-Agent", "json-test")])
            let line = try #require(Self.lines(path, count: 1).first)
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            #expect(object["method"] as? String == "GET" && object["path"] as? String == "/api/one")
            #expect(object["response_code"] as? Int == 200 && object["user_agent"] as? String == "json-test")
            #expect(object["upstream_cluster"] as? String == "outbound|80|v1|catalog.test")
            #expect((object["start_time"] as? String)?.hasSuffix("Z") == true)
        }
        try Self.withLog(format: "textFormat: \"%REQ(:METHOD)% %RESPONSE_CODE% %UPSTREAM_CLUSTER% %REQ(X-TEAM)% 100%%\"") { address, path in
            _ = try BlockingHTTPClient(address).request("GET", "/api/two", headers: [("X-Team", "blue")])
            #expect(Self.lines(path, count: 1) == ["GET 200 outbound|80|v1|catalog.test blue 100%"])
        }
    }

    @Test("a PROXY header's client is the log's downstream address; the direct address stays the socket's peer")
    func proxyProtocolClient() throws {
        let format = "textFormat: \"%DOWNSTREAM_REMOTE_ADDRESS% %DOWNSTREAM_DIRECT_REMOTE_ADDRESS%\""
        try Self.withLog(format: format, bootstrap: "  gatewayTopology: {proxyProtocol: {}}") { address, path in
            let client = try BlockingHTTPClient(address)
            try client.send("PROXY TCP4 192.0.2.10 127.0.0.1 56324 80\r\nGET /api/a HTTP/1.1\r\nHost: test\r\n\r\n")
            #expect(try client.readResponse().status == 200)
            let words = Self.lines(path, count: 1).first?.split(separator: " ") ?? []
            #expect(words.first == "192.0.2.10:56324")
            #expect(words.last?.hasPrefix("127.0.0.1:") == true && words.last != "127.0.0.1:56324")
        }
    }

    @Test("gatewayTopology.numTrustedProxies: the client is the Nth address from the right of x-forwarded-for (else the peer), in the log and for hashing")
    func trustedProxies() throws {
        let format = "textFormat: \"%DOWNSTREAM_REMOTE_ADDRESS%\""
        try Self.withLog(format: format, bootstrap: "  gatewayTopology: {numTrustedProxies: 1}") { address, path in
            let client = try BlockingHTTPClient(address)
            _ = try client.request("GET", "/api/a", headers: [("X-Forwarded-For", "203.0.113.7")])
            _ = try client.request("GET", "/api/b", headers: [("X-Forwarded-For", "198.51.100.1"), ("X-Forwarded-For", "203.0.113.9")])
            _ = try client.request("GET", "/api/c")
            let lines = Self.lines(path, count: 3)
            #expect(lines.count == 3)
            #expect(lines.first == "203.0.113.7:0")
            #expect(lines.dropFirst().first == "203.0.113.9:0", "the last entry over every x-forwarded-for field")
            #expect(lines.last?.hasPrefix("127.0.0.1:") == true && lines.last != "127.0.0.1:0", "no header: the peer")
        }
        try Self.withLog(format: format, bootstrap: "  gatewayTopology: {numTrustedProxies: 2}") { address, path in
            let client = try BlockingHTTPClient(address)
            _ = try client.request("GET", "/api/a", headers: [("X-Forwarded-For", "198.51.100.1, 203.0.113.9")])
            _ = try client.request("GET", "/api/b", headers: [("X-Forwarded-For", "203.0.113.9")])
            let lines = Self.lines(path, count: 2)
            #expect(lines.first == "198.51.100.1:0")
            #expect(lines.last?.hasPrefix("127.0.0.1:") == true, "fewer entries than trusted hops: the peer")
        }
        try Self.withLog(format: format) { address, path in
            _ = try BlockingHTTPClient(address).request("GET", "/api/a", headers: [("X-Forwarded-For", "203.0.113.7")])
            #expect(Self.lines(path, count: 1).first?.hasPrefix("127.0.0.1:") == true, "no trusted proxies by default")
        }
    }

    @Test("with trusted proxies, useSourceIp hashes the forwarded client: each client sticks to one host and different clients spread")
    func trustedClientHashing() throws {
        let v1 = try TestBackend(.echo(name: "v1")), v2 = try TestBackend(.echo(name: "v2"))
        defer { v1.stop(); v2.stop() }
        let yaml = ProxyFixture.yaml(v1: v1.address, v2: v2.address, http: "  - route: [{destination: {host: catalog.test}}]",
                                     policy: "  trafficPolicy: {loadBalancer: {consistentHash: {useSourceIp: true}}}", extra: """
            ---
            apiVersion: convoy/v1alpha1
            kind: Bootstrap
            spec:
              gatewayTopology: {numTrustedProxies: 1}
            """)
        try ProxyFixture.withProxy(yaml) { address, _ in
            let client = try BlockingHTTPClient(address)
            var hosts: Set<String> = []
            for index in 1...16 {
                let forwarded = [("X-Forwarded-For", "203.0.113.\(index)")]
                let answers = try Set((0..<3).map { _ in String(try client.request("GET", "/", headers: forwarded).text.prefix(2)) })
                #expect(answers.count == 1, "client \(index) sticks to one host")
                hosts.formUnion(answers)
            }
            #expect(hosts == ["v1", "v2"], "sixteen clients behind one peer spread over both hosts")
        }
    }

    @Test("an unknown operator is a configuration error")
    func unknownOperator() {
        let text = ProxyFixture.yaml(v1: LoopbackSocket.unusedAddress(), v2: LoopbackSocket.unusedAddress(), http: Self.http, extra: """
        ---
        apiVersion: convoy/v1alpha1
        kind: Bootstrap
        spec:
          accessLog: {path: /dev/stdout, textFormat: "%REQ(:METHOD)% %NOPE%"}
        """)
        do {
            _ = try ProxyConfiguration.parse(text)
            Issue.record("loaded")
        } catch {
            #expect(error.errors.contains { $0.message.contains("unknown access-log operator %NOPE%") })
        }
    }
}
