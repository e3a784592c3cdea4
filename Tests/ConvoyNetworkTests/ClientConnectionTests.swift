import ConvoyDispatcher
import ConvoyNetwork
import ConvoyTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite("ClientConnection")
struct ClientConnectionTests {
    @Test("TCP keep-alive: probes, idle time and interval reach the socket; unset parts keep the kernel's")
    func keepAlive() throws {
        let dispatcher = try Dispatcher(name: "keepalive")
        let listener = try Listener(dispatcher: dispatcher, address: .loopback()) { _ in }
        let client = try ClientConnection(dispatcher: dispatcher, remoteAddress: listener.localAddress)
        #expect(client.socketOption(level: SOL_SOCKET, name: SO_KEEPALIVE) == 0)
        let kernelCount = client.socketOption(level: Int32(IPPROTO_TCP), name: TCP_KEEPCNT)
        client.setKeepAlive(idle: .seconds(30), interval: .seconds(5))
        #expect(client.socketOption(level: SOL_SOCKET, name: SO_KEEPALIVE) == 1)
        #expect(client.socketOption(level: Int32(IPPROTO_TCP), name: TCP_KEEPIDLE) == 30)
        #expect(client.socketOption(level: Int32(IPPROTO_TCP), name: TCP_KEEPINTVL) == 5)
        #expect(client.socketOption(level: Int32(IPPROTO_TCP), name: TCP_KEEPCNT) == kernelCount)
        client.setKeepAlive(probes: 4)
        #expect(client.socketOption(level: Int32(IPPROTO_TCP), name: TCP_KEEPCNT) == 4)
        client.close(.noFlush)
        _ = runDispatcher(dispatcher) { true }
    }

    @Test("connecting to a closed port reports remoteClose in a later iteration, with ECONNREFUSED")
    func refused() throws {
        let dispatcher = try Dispatcher(name: "refused")
        var closedPort: SocketAddress
        do {
            let probe = try Listener(dispatcher: dispatcher, address: .loopback()) { _ in }
            closedPort = probe.localAddress
        }  // the listener is gone: nothing listens on that port now
        let client = try ClientConnection(dispatcher: dispatcher, remoteAddress: closedPort)
        var events: [ConnectionEvent] = []
        client.connect()
        client.addEventHandler { events.append($0) }  // attached after connect(): still sees the failure
        #expect(events.isEmpty, "never reported from inside connect()")
        #expect(runDispatcher(dispatcher) { !events.isEmpty })
        #expect(events == [.remoteClose])
        #expect(client.failure?.errno == ECONNREFUSED)
        #expect(client.failure?.description.contains("connect to \(closedPort)") == true)
    }

    @Test("a connect that never completes (backlog full) times out with localClose and ETIMEDOUT")
    func connectTimeout() throws {
        let clock = SimulatedTimeSource()
        let harness = try LoopbackHarness(timeSource: clock, backlog: 1)
        harness.listener.disable()  // nobody accepts: the accept queue fills up
        var fillers: [ClientConnection] = []
        for _ in 0..<8 { fillers.append(try harness.connectClient(timeout: nil)) }
        for _ in 0..<20 {
            harness.dispatcher.run(.nonBlock)
            usleep(1000)
        }
        let client = try harness.connectClient(timeout: .seconds(5))
        let events = EventRecorder(client)
        for _ in 0..<20 {
            harness.dispatcher.run(.nonBlock)
            usleep(1000)
        }
        #expect(events.events.isEmpty, "the handshake cannot complete while the backlog is full")
        clock.advance(by: .seconds(5))
        #expect(harness.run { events.closed })
        #expect(events.events == [.localClose])
        #expect(client.failure?.errno == ETIMEDOUT)
        withExtendedLifetime(fillers) {}
    }

    @Test("IPv6 loopback works end to end")
    func ipv6() throws {
        let dispatcher = try Dispatcher(name: "ipv6")
        let address = try #require(SocketAddress("[::1]:0"))
        let listener: Listener
        do {
            listener = try Listener(dispatcher: dispatcher, address: address) { server in _ = Echoer(server) }
        } catch {
            return  // no IPv6 on this machine: nothing to test
        }
        let client = try ClientConnection(dispatcher: dispatcher, remoteAddress: listener.localAddress)
        let collector = Collector(client)
        client.connect()
        client.write(IOBuffer("v6"))
        #expect(runDispatcher(dispatcher) { collector.received.count == 2 })
        #expect(collector.received == Array("v6".utf8))
        #expect(listener.localAddress.description.hasPrefix("[::1]:"))
    }
}
