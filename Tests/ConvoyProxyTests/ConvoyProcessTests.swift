import ConvoyNetwork
import Foundation
import ConvoyTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `convoy` as a real process: the executable SwiftPM built next to the test binary.
@Suite("convoy as a process")
struct ConvoyProcessTests {
    private var convoy: String { ChildProcess.buildProductsDirectory + "/convoy" }

    private func write(_ text: String) -> String {
        let path = "/tmp/convoy-test-config-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).yaml"
        let file = fopen(path, "w")!
        fputs(text, file)
        fclose(file)
        return path
    }

    /// Starts `convoy run` on `config` (its Gateway on a free port, and a Bootstrap putting the
    /// admin listener on another); the proxy's and the admin's addresses.
    private func startConvoy(_ config: String, bootstrap: String = "") throws -> (ChildProcess, SocketAddress, SocketAddress) {
        let port = LoopbackSocket.unusedAddress().port!
        let adminPort = LoopbackSocket.unusedAddress().port!
        let text = config.replacingPort(port) + """

            ---
            apiVersion: convoy/v1alpha1
            kind: Bootstrap
            spec:
              admin: {address: "127.0.0.1:\(adminPort)"}
            \(bootstrap)
            """
        let path = write(text)
        defer { unlink(path) }  // read at start; these tests do not reload it
        let process = try ChildProcess(convoy, ["run", "-c", path, "--concurrency", "1", "--log-level", "info"])
        let address = SocketAddress(ip: "127.0.0.1", port: port)!
        let up = eventually { (try? BlockingHTTPClient(address)) != nil }
        try #require(up, "convoy did not start listening: \(process.output)")
        let admin = SocketAddress(ip: "127.0.0.1", port: adminPort)!
        try #require(eventually { (try? BlockingHTTPClient(admin)) != nil }, "no admin listener: \(process.output)")
        return (process, address, admin)
    }

    @Test("convoy check reports every problem with file:line:column and exits 1; a good file exits 0")
    func checkCommand() throws {
        let bad = write("""
            apiVersion: networking.istio.io/v1
            kind: VirtualService
            metadata: {name: shop}
            spec:
              hosts: [shop.example.com]
              gateways: [missing]
              http:
              - route:
                - destination: {host: nowhere.test}
                timeot: 5s
            """)
        defer { unlink(bad) }
        let check = try ChildProcess(convoy, ["check", "-c", bad])
        #expect(check.wait() == 1)
        let output = check.output
        #expect(output.contains("\(bad):10:5: error: VirtualService/shop: spec.http[0].timeot: unknown field 'timeot'"))
        #expect(output.contains("\(bad):9:20: error: VirtualService/shop: spec.http[0].route[0].destination: destination host 'nowhere.test' has no ServiceEntry"))
        #expect(output.contains("\(bad):6:13: error: VirtualService/shop: spec.gateways: gateway 'missing' is not defined"))
        #expect(output.contains("3 errors"))

        let good = write(ProxyFixture.yaml(
            v1: SocketAddress(ip: "127.0.0.1", port: 1)!, v2: SocketAddress(ip: "127.0.0.1", port: 2)!,
            http: "  - route: [{destination: {host: catalog.test, subset: v1}}]"))
        defer { unlink(good) }
        let ok = try ChildProcess(convoy, ["check", "-c", good])
        #expect(ok.wait() == 0, "\(ok.output)")
        #expect(ok.output.contains("OK: 1 listener, 1 cluster"))
    }

    @Test("convoy run proxies, serves its admin API, and exits 0 on SIGTERM")
    func runAndTerminate() throws {
        let v1 = try TestBackend(.echo(name: "v1")), v2 = try TestBackend(.echo(name: "v2"))
        defer { v1.stop(); v2.stop() }
        let (process, address, admin) = try startConvoy(ProxyFixture.yaml(
            v1: v1.address, v2: v2.address, http: "  - route: [{destination: {host: catalog.test, subset: v2}}]"))
        let response = try BlockingHTTPClient(address).request("GET", "/hello")
        #expect(response.text == "v2 GET /hello\n")
        #expect(try BlockingHTTPClient(admin).request("GET", "/ready").text == "LIVE\n")
        let metrics = try BlockingHTTPClient(admin).request("GET", "/stats/prometheus").text
        #expect(metrics.contains("convoy_downstream_requests_total 1\n"), "\(metrics)")
        #expect(try BlockingHTTPClient(admin).request("GET", "/logging").text == "level: info\n")
        #expect(try BlockingHTTPClient(admin).request("POST", "/logging?level=debug").text == "level: debug\n")
        #expect(try BlockingHTTPClient(admin).request("GET", "/logging").text == "level: debug\n")
        #expect(try BlockingHTTPClient(admin).request("POST", "/logging?level=loud").status == 400)
        process.signal(SIGTERM)
        #expect(process.wait() == 0, "\(process.output)")
    }

    @Test("100 MiB request and response bodies stream through with bounded proxy memory")
    func largeBodiesBoundedMemory() throws {
        let upload = try TestBackend(.countBody(name: "sink")), download = try TestBackend(.largeResponse(bytes: 100 << 20))
        defer { upload.stop(); download.stop() }
        let http = """
          - match: [{uri: {prefix: /upload}}]
            route: [{destination: {host: catalog.test, subset: v1}}]
          - route: [{destination: {host: catalog.test, subset: v2}}]
        """
        let (process, address, _) = try startConvoy(ProxyFixture.yaml(v1: upload.address, v2: download.address, http: http))
        defer {
            process.signal(SIGTERM)
            process.wait()
        }
        let baselineKilobytes = try #require(process.statusKilobytes("VmRSS"))
        let client = try BlockingHTTPClient(address)
        let size = 100 << 20
        try client.send("POST /upload HTTP/1.1\r\nHost: test\r\nContent-Length: \(size)\r\n\r\n")
        let piece = [UInt8](repeating: 0x62, count: 1 << 20)
        for _ in 0..<(size / piece.count) { try client.send(piece) }
        let uploaded = try client.readResponse(method: .post)
        #expect(uploaded.text == "sink received \(size) bytes\n")

        let downloaded = try client.request("GET", "/download")
        #expect(downloaded.status == 200)
        let big = try BlockingHTTPClient(address)
        try big.send("GET /download HTTP/1.1\r\nHost: test\r\n\r\n")
        let response = try big.readResponse(keepBody: false)
        #expect(response.bodyLength == size)

        // Each side's buffers are bounded (1 MiB per connection plus a few slices in flight), so
        // the proxy's peak memory grows far less than one body (also under ThreadSanitizer,
        // whose shadow memory multiplies what the heap uses).
        let peakKilobytes = try #require(process.statusKilobytes("VmHWM"))
        #expect(peakKilobytes - baselineKilobytes < 40 * 1024, "RSS \(baselineKilobytes) kB at start, peak \(peakKilobytes) kB")
    }

    @Test("SIGHUP and POST /reload re-read the configuration file; a bad file is refused with its errors")
    func reloadSignalAndAdmin() throws {
        let v1 = try TestBackend(.echo(name: "v1")), v2 = try TestBackend(.echo(name: "v2"))
        defer { v1.stop(); v2.stop() }
        let port = LoopbackSocket.unusedAddress().port!, adminPort = LoopbackSocket.unusedAddress().port!
        func config(_ subset: String) -> String {
            ProxyFixture.yaml(v1: v1.address, v2: v2.address, http: "  - route: [{destination: {host: catalog.test, subset: \(subset)}}]")
                .replacingPort(port) + "\n---\napiVersion: convoy/v1alpha1\nkind: Bootstrap\nspec:\n  admin: {address: \"127.0.0.1:\(adminPort)\"}\n"
        }
        let path = write(config("v1"))
        defer { unlink(path) }
        let process = try ChildProcess(convoy, ["run", "-c", path, "--concurrency", "2", "--log-level", "info"])
        defer {
            process.signal(SIGTERM)
            process.wait()
        }
        let address = SocketAddress(ip: "127.0.0.1", port: port)!, admin = SocketAddress(ip: "127.0.0.1", port: adminPort)!
        try #require(eventually { (try? BlockingHTTPClient(admin)) != nil }, "\(process.output)")
        #expect(try BlockingHTTPClient(address).request("GET", "/").header("x-backend") == "v1")

        try config("v2").write(toFile: path, atomically: true, encoding: .utf8)
        process.signal(SIGHUP)
        #expect(eventually { (try? BlockingHTTPClient(address).request("GET", "/").header("x-backend")) == "v2" }, "\(process.output)")

        try "kind: VirtualService\nspec: {hosts: [x]}\n".write(toFile: path, atomically: true, encoding: .utf8)
        let refused = try BlockingHTTPClient(admin).request("POST", "/reload")
        #expect(refused.status == 400 && refused.text.contains("\(path):1:1: error:"), "\(refused.text)")
        #expect(try BlockingHTTPClient(address).request("GET", "/").header("x-backend") == "v2", "still serving")

        try config("v1").write(toFile: path, atomically: true, encoding: .utf8)
        let accepted = try BlockingHTTPClient(admin).request("POST", "/reload")
        #expect(accepted.status == 200 && accepted.text.hasPrefix("reloaded"))
        #expect(try BlockingHTTPClient(address).request("GET", "/").header("x-backend") == "v1")
    }

    private static let slowRoute = """
      - match: [{uri: {prefix: /slow}}]
        route: [{destination: {host: catalog.test, subset: v1}}]
        fault: {delay: {fixedDelay: DELAY, percentage: {value: 100}}}
      - route: [{destination: {host: catalog.test, subset: v1}}]
    """

    @Test("SIGTERM drains: new connections refused, idle ones closed, the in-flight request completes with Connection: close, exit 0")
    func gracefulDrain() throws {
        let v1 = try TestBackend(.echo(name: "v1")), v2 = try TestBackend(.echo(name: "v2"))
        defer { v1.stop(); v2.stop() }
        let http = Self.slowRoute.replacingOccurrences(of: "DELAY", with: "1s")
        let (process, address, admin) = try startConvoy(ProxyFixture.yaml(v1: v1.address, v2: v2.address, http: http), bootstrap: "  drainDuration: 30s")
        let idle = try BlockingHTTPClient(address)
        #expect(try idle.request("GET", "/warm").status == 200)
        #expect(eventually { (try? BlockingHTTPClient(admin).request("GET", "/stats").text.contains("convoy_downstream_connections_parked: 1\n")) == true },
                "the idle connection is parked after 50 ms, and drain must close it there too")
        let slow = try BlockingHTTPClient(address)
        try slow.send("GET /slow HTTP/1.1\r\nHost: test\r\n\r\n")
        #expect(eventually { (try? BlockingHTTPClient(admin).request("GET", "/stats").text.contains("convoy_fault_delays_total: 1\n")) == true })
        process.signal(SIGTERM)
        #expect(throws: (any Error).self, "the idle keep-alive connection is closed") { try idle.readResponse() }
        #expect(eventually { (try? BlockingHTTPClient(address)) == nil }, "no new connections")
        let response = try slow.readResponse()
        #expect(response.status == 200 && response.text == "v1 GET /slow\n")
        #expect(response.header("connection") == "close")
        #expect(process.wait() == 0, "\(process.output)")
        #expect(process.output.contains("draining for up to 30"))
    }

    @Test("with minimumDrainDuration, SIGTERM keeps accepting: a new connection gets one response with Connection: close, idle ones close, /ready is 503")
    func drainKeepsAccepting() throws {
        let v1 = try TestBackend(.echo(name: "v1")), v2 = try TestBackend(.echo(name: "v2"))
        defer { v1.stop(); v2.stop() }
        let http = Self.slowRoute.replacingOccurrences(of: "DELAY", with: "1s")
        let (process, address, admin) = try startConvoy(
            ProxyFixture.yaml(v1: v1.address, v2: v2.address, http: http), bootstrap: "  drainDuration: 120s\n  minimumDrainDuration: 60s")
        let idle = try BlockingHTTPClient(address)
        #expect(try idle.request("GET", "/warm").status == 200)
        process.signal(SIGTERM)
        #expect(eventually { (try? BlockingHTTPClient(admin).request("GET", "/ready").status) == 503 }, "draining")
        #expect(throws: (any Error).self, "the idle keep-alive connection is closed") { try idle.readResponse() }
        let late = try BlockingHTTPClient(address)
        let response = try late.request("GET", "/late")
        #expect(response.status == 200 && response.text == "v1 GET /late\n", "still accepting")
        #expect(response.header("connection") == "close")
        #expect(eventually { late.isClosedByServer() })
        #expect(process.output.contains("accepting for the first 60"))
        process.signal(SIGTERM)
        #expect(process.wait() == 0, "\(process.output)")
    }

    @Test("after minimumDrainDuration new connections are refused, and convoy exits 0 once none is open")
    func drainStopsListeningAfterTheMinimum() throws {
        let v1 = try TestBackend(.echo(name: "v1")), v2 = try TestBackend(.echo(name: "v2"))
        defer { v1.stop(); v2.stop() }
        let http = Self.slowRoute.replacingOccurrences(of: "DELAY", with: "1s")
        let (process, address, _) = try startConvoy(
            ProxyFixture.yaml(v1: v1.address, v2: v2.address, http: http), bootstrap: "  drainDuration: 60s\n  minimumDrainDuration: 1s")
        process.signal(SIGTERM)
        #expect(process.wait() == 0, "\(process.output)")
        #expect(process.output.contains("minimum drain time is up"))
        #expect(!process.output.contains("drain time is up; closing"), "left before the deadline")
        #expect((try? BlockingHTTPClient(address)) == nil)
    }

    @Test("a second SIGTERM during the drain exits at once")
    func secondSignal() throws {
        let v1 = try TestBackend(.echo(name: "v1")), v2 = try TestBackend(.echo(name: "v2"))
        defer { v1.stop(); v2.stop() }
        let http = Self.slowRoute.replacingOccurrences(of: "DELAY", with: "60s")
        let (process, address, admin) = try startConvoy(ProxyFixture.yaml(v1: v1.address, v2: v2.address, http: http), bootstrap: "  drainDuration: 120s")
        let slow = try BlockingHTTPClient(address)
        try slow.send("GET /slow HTTP/1.1\r\nHost: test\r\n\r\n")
        #expect(eventually { (try? BlockingHTTPClient(admin).request("GET", "/stats").text.contains("convoy_fault_delays_total: 1\n")) == true })
        process.signal(SIGTERM)
        #expect(eventually { (try? BlockingHTTPClient(admin).request("GET", "/ready").status) == 503 }, "draining")
        process.signal(SIGTERM)
        #expect(process.wait() == 0, "\(process.output)")
        #expect(process.output.contains("second signal; stopping now"))
    }
}

extension String {
    /// The fixture's Gateway with `port` instead of 0 (a real process must be told where to listen).
    func replacingPort(_ port: UInt16) -> String {
        replacingOccurrences(of: "port: {number: 0,", with: "port: {number: \(port),")
    }
}
