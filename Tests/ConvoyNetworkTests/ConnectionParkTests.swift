import ConvoyDispatcher
import ConvoyNetwork
import ConvoyTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite("ConnectionPark")
struct ConnectionParkTests {
    /// A harness whose accepted connections can be parked, recording wakes and closes.
    private final class ParkHarness {
        let harness: LoopbackHarness
        var park: ConnectionPark!
        var woken: [(Connection, String)] = []
        var closed: [String] = []

        init(timeSource: any TimeSource = SystemTimeSource()) throws {
            harness = try LoopbackHarness(timeSource: timeSource)
            park = try ConnectionPark(
                dispatcher: harness.dispatcher,
                onWake: { [unowned self] connection, context in self.woken.append((connection, (context as! Tag).name)) },
                onClose: { [unowned self] context in self.closed.append((context as! Tag).name) })
        }

        /// A connected client and its accepted server side.
        func connectedPair() throws -> (client: ClientConnection, server: Connection) {
            let before = harness.accepted.count
            let client = try harness.connectClient()
            let events = EventRecorder(client)
            #expect(harness.run { harness.accepted.count == before + 1 && events.events == [.connected] })
            return (client, harness.accepted[before])
        }
    }

    private final class Tag {
        let name: String
        init(_ name: String) { self.name = name }
    }

    @Test("a parked socket wakes as a new connection carrying the client's next bytes; the listener still counts it")
    func parkAndWake() throws {
        let test = try ParkHarness()
        let (client, server) = try test.connectedPair()
        let events = EventRecorder(server)
        let tag = Tag("a")
        #expect(test.park.park(server, context: tag, closeAt: nil))
        #expect(server.state == .closed)
        #expect(events.events.isEmpty, "parking closes the old object without events")
        #expect(test.park.count == 1)
        #expect(test.harness.listener.activeConnections == 1)

        client.write(IOBuffer("after the nap"))
        #expect(test.harness.run { test.woken.count == 1 })
        let (woken, name) = test.woken[0]
        #expect(name == "a" && test.park.count == 0 && test.park.wokenTotal == 1)
        #expect(woken.remoteAddress == client.localAddress)
        let collector = Collector(woken)
        #expect(test.harness.run { collector.received.count == 13 })
        #expect(collector.received == Array("after the nap".utf8))

        // The woken connection is a full connection: it answers, and its close reaches the listener.
        woken.write(IOBuffer("hi"))
        let clientCollector = Collector(client)
        #expect(test.harness.run { clientCollector.received.count == 2 })
        woken.close(.noFlush)
        #expect(test.harness.run { test.harness.listener.activeConnections == 0 })
        #expect(test.closed.isEmpty)
    }

    @Test("a connection that is not idle is refused and left as it was")
    func refusesBusy() throws {
        let test = try ParkHarness()
        let (client, server) = try test.connectedPair()
        client.write(IOBuffer("unread"))
        #expect(test.harness.run { server.readBuffer.count == 6 })
        #expect(!test.park.park(server, context: Tag("busy"), closeAt: nil), "bytes not consumed")
        server.readBuffer.drain(6)
        server.readDisable(true)
        #expect(!test.park.park(server, context: Tag("busy"), closeAt: nil), "reading disabled")
        server.readDisable(false)
        server.close(.flushWriteAndDelay)
        #expect(!test.park.park(server, context: Tag("busy"), closeAt: nil), "closing")
        #expect(test.park.count == 0 && test.park.parkedTotal == 0)
    }

    @Test("a parked socket is closed at its deadline (simulated clock); closeAll closes the rest")
    func deadlineAndCloseAll() throws {
        let clock = SimulatedTimeSource()
        let test = try ParkHarness(timeSource: clock)
        let (early, earlyServer) = try test.connectedPair()
        let (late, lateServer) = try test.connectedPair()
        let (never, neverServer) = try test.connectedPair()
        let now = test.harness.dispatcher.approximateMonotonicTime
        #expect(test.park.park(lateServer, context: Tag("late"), closeAt: now + .seconds(20)))
        #expect(test.park.park(earlyServer, context: Tag("early"), closeAt: now + .seconds(10)))
        #expect(test.park.park(neverServer, context: Tag("never"), closeAt: nil))
        let earlyEvents = EventRecorder(early), lateEvents = EventRecorder(late), neverEvents = EventRecorder(never)

        clock.advance(by: .seconds(9))
        for _ in 0..<5 { test.harness.dispatcher.run(.nonBlock) }
        #expect(test.closed.isEmpty)
        clock.advance(by: .seconds(2))
        #expect(test.harness.run { earlyEvents.events == [.remoteClose] })
        #expect(test.closed == ["early"] && test.park.expiredTotal == 1)
        #expect(lateEvents.events.isEmpty)

        test.park.closeAll()
        #expect(test.harness.run { lateEvents.closed && neverEvents.closed })
        #expect(Set(test.closed) == ["early", "late", "never"] && test.park.count == 0)
        #expect(test.harness.run { test.harness.listener.activeConnections == 0 })
    }

    @Test("a client hanging up while parked wakes the socket, and the new connection sees the close")
    func hangUpWhileParked() throws {
        let test = try ParkHarness()
        let (client, server) = try test.connectedPair()
        #expect(test.park.park(server, context: Tag("gone"), closeAt: nil))
        client.close(.noFlush)
        #expect(test.harness.run { test.woken.count == 1 })
        let events = EventRecorder(test.woken[0].0)
        _ = Collector(test.woken[0].0)
        #expect(test.harness.run { events.events == [.remoteClose] })
        #expect(test.harness.run { test.harness.listener.activeConnections == 0 })
    }

    @Test("parking and waking one socket many times within its deadline keeps the expiry heap small")
    func repeatedParking() throws {
        let test = try ParkHarness()
        let (client, server) = try test.connectedPair()
        var current: Connection = server
        let far = test.harness.dispatcher.approximateMonotonicTime + .seconds(3600)
        for round in 0..<300 {
            #expect(test.park.park(current, context: Tag("r"), closeAt: far))
            client.write(IOBuffer("x"))
            #expect(test.harness.run { test.woken.count == round + 1 })
            current = test.woken[round].0
            let collector = Collector(current)
            #expect(test.harness.run { collector.received.count == 1 })
        }
        #expect(test.park.parkedTotal == 300 && test.park.wokenTotal == 300 && test.park.count == 0)
        #expect(test.park.pendingExpiries <= 65, "stale deadlines are dropped once they are most of the heap")
    }
}
