import ConvoyDispatcher
import ConvoyNetwork
import ConvoyProxy
import ConvoyTestSupport
import Foundation
import Logging
import Synchronization
import Testing

@Suite("Hot reload")
struct ProxyReloadTests {
    /// Runs a proxy on the configuration file `text` is written to; `body` may rewrite it.
    private static func withFileProxy(_ text: String, concurrency: Int = 2,
                                      _ body: (SocketAddress, ProxyServer, (String) throws -> Void) throws -> Void) throws {
        let path = "/tmp/convoy-reload-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).yaml"
        defer { unlink(path) }
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        var logger = Logger(label: "convoy-test")
        logger.logLevel = .critical
        let server = try ProxyServer(configuration: try ProxyConfiguration.load(path: path), configurationPath: path, concurrency: concurrency,
                                     logger: logger, admin: false)
        try server.start()
        defer { server.stop() }
        try body(server.listenerAddresses[0], server) { try $0.write(toFile: path, atomically: true, encoding: .utf8) }
    }

    private static func routeTo(_ subset: String, extra: String = "") -> String {
        """
          - route: [{destination: {host: catalog.test, subset: \(subset)}}]
        \(extra)
        """
    }

    /// The fixture with every request routed to `subset`, its Gateway on `port`.
    private static func config(_ v1: TestBackend, _ v2: TestBackend, _ subset: String, port: UInt16) -> String {
        ProxyFixture.yaml(v1: v1.address, v2: v2.address, http: routeTo(subset)).replacingPort(port)
    }

    @Test("reload switches routing for open and new connections; a bad file is rejected with its errors and the old configuration keeps serving")
    func switchesAndRejects() throws {
        let v1 = try TestBackend(.echo(name: "v1")), v2 = try TestBackend(.echo(name: "v2"))
        defer { v1.stop(); v2.stop() }
        let gateway = LoopbackSocket.unusedAddress().port!
        func config(_ subset: String) -> String { Self.config(v1, v2, subset, port: gateway) }
        try Self.withFileProxy(config("v1")) { address, server, rewrite in
            let open = try BlockingHTTPClient(address)
            #expect(try open.request("GET", "/a").header("x-backend") == "v1")
            try rewrite(config("v2"))
            let outcome = server.reload()
            #expect(outcome.reloaded, "\(outcome.message)")
            #expect(try open.request("GET", "/b").header("x-backend") == "v2", "the open connection follows the new routes")
            #expect(try BlockingHTTPClient(address).request("GET", "/c").header("x-backend") == "v2")
            #expect(server.listenerAddresses == [address], "the listener kept its socket")

            try rewrite(config("v1").replacingOccurrences(of: "subset: v1", with: "subset: v9"))
            let rejected = server.reload()
            #expect(!rejected.reloaded)
            #expect(rejected.message.contains("error: VirtualService/catalog") && rejected.message.contains("no subset 'v9'"))
            #expect(try open.request("GET", "/d").header("x-backend") == "v2", "the old configuration keeps serving")
        }
    }

    @Test("connection-pool settings follow a reload: maxRequestsPerConnection 1, then unlimited")
    func poolSettingsFollowReload() throws {
        let v1 = try TestBackend(.echo(name: "v1")), v2 = try TestBackend(.echo(name: "v2"))
        defer { v1.stop(); v2.stop() }
        let gateway = LoopbackSocket.unusedAddress().port!
        func config(_ policy: String) -> String {
            ProxyFixture.yaml(v1: v1.address, v2: v2.address, http: Self.routeTo("v1"), policy: policy).replacingPort(gateway)
        }
        try Self.withFileProxy(config("  trafficPolicy: {connectionPool: {http: {maxRequestsPerConnection: 1}}}")) { address, server, rewrite in
            let client = try BlockingHTTPClient(address)
            for _ in 0..<3 { #expect(try client.request("GET", "/one-each").status == 200) }
            #expect(v1.connectionsAccepted == 3, "one upstream connection per request")
            try rewrite(config(""))
            #expect(server.reload().reloaded)
            for _ in 0..<3 { #expect(try client.request("GET", "/reused").status == 200) }
            #expect(v1.connectionsAccepted == 4, "after the reload one connection carries them all")
        }
    }

    /// Pools the new configuration no longer uses are drained, not kept: their idle connections
    /// close at once (not at the idle timeout, an hour here), and the worker forgets them.
    @Test("a reload that changes pool settings closes the old pool's idle connections at once and forgets the pool")
    func unusedPoolsDrainIdle() throws {
        let v1 = try TestBackend(.echo(name: "v1")), v2 = try TestBackend(.echo(name: "v2"))
        defer { v1.stop(); v2.stop() }
        let gateway = LoopbackSocket.unusedAddress().port!
        func config(_ policy: String) -> String {
            ProxyFixture.yaml(v1: v1.address, v2: v2.address, http: Self.routeTo("v1"), policy: policy).replacingPort(gateway)
        }
        try Self.withFileProxy(config("  trafficPolicy: {connectionPool: {http: {idleTimeout: 1h}}}")) { address, server, rewrite in
            func pools() -> Int { server.workerStats().reduce(0) { $0 + $1.upstreamPools } }
            let client = try BlockingHTTPClient(address)
            #expect(try client.request("GET", "/a").status == 200)
            #expect(pools() == 1 && v1.connectionsAccepted == 1 && v1.connectionsClosed == 0)
            try rewrite(config("  trafficPolicy: {connectionPool: {http: {idleTimeout: 2h}}}"))
            #expect(server.reload().reloaded)
            #expect(eventually { v1.connectionsClosed == 1 }, "the idle connection closed at the reload")
            #expect(eventually { pools() == 0 }, "the drained pool is forgotten")
            #expect(try client.request("GET", "/b").status == 200)
            #expect(pools() == 1 && v1.connectionsAccepted == 2)
            #expect(server.workerStats().reduce(0) { $0 + $1.upstreamConnectionsOpened } == 2)
        }
    }

    @Test("a connection busy when its pool drains carries its response to the end, then closes instead of going back idle")
    func unusedPoolsDrainBusy() throws {
        try Self.withHeldUpstream(tcp: "") { upstream, config in
            try Self.withFileProxy(config("1h")) { address, server, rewrite in
                let client = try BlockingHTTPClient(address)
                try client.send("GET /held HTTP/1.1\r\nHost: test\r\n\r\n")
                #expect(eventually { upstream.hasRequest })
                try rewrite(config("2h"))
                #expect(server.reload().reloaded)
                #expect(server.workerStats().reduce(0) { $0 + $1.upstreamPools } == 1, "draining, not yet forgotten")
                upstream.release()
                let response = try client.readResponse()
                #expect(response.status == 200 && response.text == "held")
                #expect(eventually { upstream.wasClosedByProxy }, "closed after its response")
                #expect(eventually { server.workerStats().reduce(0) { $0 + $1.upstreamPools } == 0 })
            }
        }
    }

    /// Runs `body` with an upstream (subset v1) that answers only when told, then reports whether
    /// the proxy closed the connection rather than keep it for another request; and a
    /// configuration for a given pool `idleTimeout`, with `tcp` connection-pool settings.
    private static func withHeldUpstream(tcp: String, _ body: (RawUpstream, (String) -> String) throws -> Void) throws {
        let upstream = try RawUpstream(answer: "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nheld", echo: false, held: true)
        defer { upstream.join() }
        let v2 = try TestBackend(.echo(name: "v2"))
        defer { v2.stop() }
        let gateway = LoopbackSocket.unusedAddress().port!
        try body(upstream) { idleTimeout in
            ProxyFixture.yaml(v1: upstream.address, v2: v2.address, http: Self.routeTo("v1"),
                              policy: "  trafficPolicy: {connectionPool: {\(tcp)http: {idleTimeout: \(idleTimeout)}}}").replacingPort(gateway)
        }
    }

    /// The pool's `cancel` path while it drains: a request queued behind `maxConnections` whose
    /// client leaves must be withdrawn, or the pool would open a connection for it after the busy
    /// one closes and never be forgotten.
    @Test("a request queued on a draining pool whose client leaves is withdrawn; the pool is forgotten after its last exchange")
    func drainingPoolForgetsAbandonedWaiter() throws {
        try Self.withHeldUpstream(tcp: "tcp: {maxConnections: 1}, ") { upstream, config in
            // One worker, so both clients share its pool.
            try Self.withFileProxy(config("1h"), concurrency: 1) { address, server, rewrite in
                func stats() -> ProxyWorkerStats { server.workerStats()[0] }
                let holder = try BlockingHTTPClient(address)
                try holder.send("GET /held HTTP/1.1\r\nHost: test\r\n\r\n")
                #expect(eventually { upstream.hasRequest })
                let waiter = try BlockingHTTPClient(address)
                try waiter.send("GET /waits HTTP/1.1\r\nHost: test\r\n\r\n")
                #expect(eventually { stats().upstreamRequestsPending == 1 }, "queued behind maxConnections: 1")
                try rewrite(config("2h"))
                #expect(server.reload().reloaded)
                #expect(stats().upstreamPools == 1, "draining, not yet forgotten")
                waiter.closeNow()
                #expect(eventually { stats().upstreamRequestsPending == 0 }, "the abandoned request left the queue")
                upstream.release()
                let response = try holder.readResponse()
                #expect(response.status == 200 && response.text == "held")
                #expect(eventually { upstream.wasClosedByProxy }, "closed after its response, not kept for the queue")
                #expect(eventually { stats().upstreamPools == 0 }, "no connection and no waiter left: forgotten")
                #expect(stats().upstreamConnectionsOpened == 1, "no connection opened for the request that left")
            }
        }
    }

    @Test("a request in progress finishes on the configuration it started with")
    func inFlightKeepsSnapshot() throws {
        let v1 = try TestBackend(.echo(name: "v1")), v2 = try TestBackend(.echo(name: "v2"))
        defer { v1.stop(); v2.stop() }
        let gateway = LoopbackSocket.unusedAddress().port!
        let slow = Self.routeTo("v1", extra: "    fault: {delay: {fixedDelay: 500ms, percentage: {value: 100}}}")
        try Self.withFileProxy(ProxyFixture.yaml(v1: v1.address, v2: v2.address, http: slow).replacingPort(gateway)) { address, server, rewrite in
            let client = try BlockingHTTPClient(address)
            try client.send("GET /slow HTTP/1.1\r\nHost: test\r\n\r\n")
            #expect(eventually { server.workerStats().reduce(0) { $0 + $1.faultDelays } == 1 })
            try rewrite(ProxyFixture.yaml(v1: v1.address, v2: v2.address, http: Self.routeTo("v2")).replacingPort(gateway))
            #expect(server.reload().reloaded)
            let response = try client.readResponse()
            #expect(response.status == 200 && response.header("x-backend") == "v1")
            #expect(try client.request("GET", "/next").header("x-backend") == "v2")
        }
    }

    @Test("a Gateway that goes away closes its listener; a new one opens")
    func listenersFollowGateways() throws {
        let v1 = try TestBackend(.echo(name: "v1")), v2 = try TestBackend(.echo(name: "v2"))
        defer { v1.stop(); v2.stop() }
        let first = LoopbackSocket.unusedAddress().port!, second = LoopbackSocket.unusedAddress().port!
        let base = ProxyFixture.yaml(v1: v1.address, v2: v2.address, http: Self.routeTo("v1"))
        try Self.withFileProxy(base.replacingPort(first)) { address, server, rewrite in
            #expect(try BlockingHTTPClient(address).request("GET", "/").status == 200)
            try rewrite(base.replacingPort(second))
            #expect(server.reload().reloaded)
            let moved = SocketAddress(ip: "127.0.0.1", port: second)!
            #expect(server.listenerAddresses == [moved])
            #expect((try? BlockingHTTPClient(address)) == nil, "the old port is closed")
            #expect(try BlockingHTTPClient(moved).request("GET", "/").status == 200)
        }
    }

    @Test("20 reloads in a row under constant load: every request succeeds")
    func reloadsUnderLoad() throws {
        let v1 = try TestBackend(.echo(name: "v1")), v2 = try TestBackend(.echo(name: "v2"))
        defer { v1.stop(); v2.stop() }
        let gateway = LoopbackSocket.unusedAddress().port!
        func config(_ subset: String) -> String { Self.config(v1, v2, subset, port: gateway) }
        try Self.withFileProxy(config("v1")) { address, server, rewrite in
            // Progress through atomics; each load thread keeps its own failures, read after join.
            let counters = LoadCounters()
            let failures = (0..<4).map { _ in FailureList() }
            let clients = try (0..<4).map { index in
                try PosixThread(name: "load_\(index)") { [failures] in
                    var client: BlockingHTTPClient?
                    while !counters.stop.load(ordering: .acquiring) {
                        do {
                            if client == nil { client = try BlockingHTTPClient(address) }
                            let response = try client!.request("GET", "/load")
                            if response.status == 200 {
                                counters.ok.add(1, ordering: .relaxed)
                            } else {
                                failures[index].messages.append("status \(response.status)")
                            }
                        } catch {
                            failures[index].messages.append("\(error)")
                            client = nil
                        }
                    }
                }
            }
            #expect(eventually { counters.ok.load(ordering: .relaxed) > 100 })
            for round in 0..<20 {
                try rewrite(config(round % 2 == 0 ? "v2" : "v1"))
                let outcome = server.reload()
                #expect(outcome.reloaded, "\(outcome.message)")
                let seen = counters.ok.load(ordering: .relaxed)
                #expect(eventually { counters.ok.load(ordering: .relaxed) > seen + 20 }, "traffic keeps flowing after reload \(round)")
            }
            counters.stop.store(true, ordering: .releasing)
            for client in clients { client.join() }
            let ok = counters.ok.load(ordering: .relaxed)
            let failed = failures.flatMap(\.messages)
            #expect(failed.isEmpty, "\(failed.count) failed requests out of \(ok + failed.count): \(failed.prefix(5))")
            #expect(ok > 400)
        }
    }
}

/// Load-thread progress, shared through atomics (which ThreadSanitizer follows).
private final class LoadCounters: Sendable {
    let ok = Atomic<Int>(0)
    let stop = Atomic<Bool>(false)
}

/// One load thread's failures: written by that thread only, read after it is joined.
private final class FailureList: @unchecked Sendable {
    var messages: [String] = []
}
