import ConvoyDispatcher
import ConvoyNetwork
import ConvoyProxy
import ConvoyTestSupport
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite("Upstream maxConnectionDuration")
struct ProxyConnectionDurationTests {
    private static let policy = "  trafficPolicy: {connectionPool: {tcp: {maxConnectionDuration: 10s}, http: {idleTimeout: 1h}}}"

    @Test("an idle pooled connection closes at its maximum duration, not at its idle timeout; before that it is reused")
    func idleConnectionExpires() throws {
        let v1 = try TestBackend(.echo(name: "v1")), v2 = try TestBackend(.echo(name: "v2"))
        defer { v1.stop(); v2.stop() }
        let clock = SimulatedTimeSource()
        let config = ProxyFixture.yaml(v1: v1.address, v2: v2.address, http: "  - route: [{destination: {host: catalog.test, subset: v1}}]", policy: Self.policy)
        try ProxyFixture.withProxy(config, timeSource: clock) { address, _ in
            let client = try BlockingHTTPClient(address)
            #expect(try client.request("GET", "/1").status == 200)
            clock.advance(by: .seconds(5))
            #expect(try client.request("GET", "/2").status == 200)
            #expect(v1.connectionsAccepted == 1, "reused while younger than 10 s")
            clock.advance(by: .seconds(6))
            #expect(eventually { v1.connectionsClosed == 1 }, "closed at 10 s, an hour before its idle timeout")
            #expect(try client.request("GET", "/3").status == 200)
            #expect(v1.connectionsAccepted == 2)
        }
    }

    @Test("a connection that reaches its maximum duration while busy finishes its exchange, then closes instead of going back idle")
    func busyConnectionExpires() throws {
        let listener = LoopbackSocket(listening: true)
        let fd = listener.fd
        let received = Atomic<Bool>(false), answer = Atomic<Bool>(false), closedByProxy = Atomic<Bool>(false)
        let upstream = try PosixThread(name: "held-upstream") {
            let connection = accept(fd, nil, nil)
            defer { close(connection) }
            var buffer = [UInt8](repeating: 0, count: 4096)
            guard recv(connection, &buffer, buffer.count, 0) > 0 else { return }
            received.store(true, ordering: .releasing)
            for _ in 0..<1_000 where !answer.load(ordering: .acquiring) { usleepMilliseconds(10) }
            let reply = Array("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok".utf8)
            _ = send(connection, reply, reply.count, Int32(MSG_NOSIGNAL))
            var timeout = timeval(tv_sec: 10, tv_usec: 0)
            setsockopt(connection, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            closedByProxy.store(recv(connection, &buffer, buffer.count, 0) == 0, ordering: .releasing)
        }
        defer { upstream.join(); withExtendedLifetime(listener) {} }
        let v2 = try TestBackend(.echo(name: "v2"))
        defer { v2.stop() }
        let clock = SimulatedTimeSource()
        let config = ProxyFixture.yaml(v1: listener.address, v2: v2.address, http: "  - route: [{destination: {host: catalog.test, subset: v1}}]", policy: Self.policy)
        try ProxyFixture.withProxy(config, timeSource: clock) { address, _ in
            let client = try BlockingHTTPClient(address)
            try client.send("GET /held HTTP/1.1\r\nHost: test\r\n\r\n")
            #expect(eventually { received.load(ordering: .acquiring) })
            clock.advance(by: .seconds(11))
            answer.store(true, ordering: .releasing)
            let response = try client.readResponse()
            #expect(response.status == 200 && response.text == "ok")
            #expect(eventually { closedByProxy.load(ordering: .acquiring) }, "closed after its response")
        }
    }
}
