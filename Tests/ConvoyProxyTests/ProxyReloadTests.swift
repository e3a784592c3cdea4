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
    private static func withFileProxy(_ text: String, _ body: (SocketAddress, ProxyServer, (String) throws -> Void) throws -> Void) throws {
        let path = "/tmp/convoy-reload-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).yaml"
        defer { unlink(path) }
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        var logger = Logger(label: "convoy-test")
        logger.logLevel = .critical
        let server = try ProxyServer(configuration: try ProxyConfiguration.load(path: path), configurationPath: path, concurrency: 2,
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
