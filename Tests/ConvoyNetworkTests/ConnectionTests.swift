import ConvoyDispatcher
import ConvoyNetwork
import ConvoyTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite("Connection over loopback TCP")
struct ConnectionTests {
    @Test("a client connects, sends, and reads the echo; connected is raised once")
    func echoRoundTrip() throws {
        let harness = try LoopbackHarness()
        harness.configureAccepted = { _ = Echoer($0) }
        let client = try harness.connectClient()
        let events = EventRecorder(client)
        let collector = Collector(client)
        client.write(IOBuffer("hello, convoy"))  // written while connecting: sent once connected
        #expect(harness.run { collector.received.count == 13 })
        #expect(collector.received == Array("hello, convoy".utf8))
        #expect(events.events == [.connected])
        #expect(client.localAddress?.port != nil)
        #expect(harness.accepted.first?.remoteAddress == client.localAddress)
        #expect(client.stats.bytesWritten == 13)
        #expect(client.stats.bytesRead == 13)
    }

    @Test("writes made in one loop iteration leave in one system call, at the end of the iteration")
    func writesOfOneIterationGoOutTogether() throws {
        let harness = try LoopbackHarness()
        var server: Connection?
        harness.configureAccepted = { server = $0 }
        let client = try harness.connectClient()
        let collector = Collector(client)
        #expect(harness.run { server != nil })
        let connection = try #require(server)
        let before = connection.stats.writes
        let posted = try ScheduledCallback(dispatcher: harness.dispatcher) {
            connection.write(IOBuffer("head,"))
            connection.write(IOBuffer("body,"))
            #expect(connection.stats.writes == before, "nothing is written during the callback")
            connection.write(through: IOBuffer()) { $0.append("en") }  // straight into the write buffer
            connection.write(IOBuffer("d"))
        }
        posted.scheduleCurrentIteration()
        harness.dispatcher.run(.nonBlock)
        #expect(connection.stats.writes == before + 1, "one writev for the four writes, in the same iteration")
        #expect(connection.writeBuffer.isEmpty)
        #expect(harness.run { collector.received.count == 13 })
        #expect(collector.received == Array("head,body,end".utf8))
    }

    @Test("a tiny SO_SNDBUF forces partial writes; every byte still arrives in order")
    func partialWrites() throws {
        let harness = try LoopbackHarness()
        let payload = testPattern(1 << 20)
        harness.configureAccepted = { server in
            server.setSendBufferSize(4096)
            server.write(IOBuffer(payload))
        }
        let client = try harness.connectClient()
        // Only the sender's buffer is shrunk: a receive window below one loopback MSS (64 KiB)
        // makes the kernel stop sending window updates, and TCP then crawls on zero-window probes.
        let collector = Collector(client)
        #expect(harness.run { collector.received.count == payload.count })
        #expect(firstDifference(collector.received, payload) == nil)
        let server = try #require(harness.accepted.first)
        #expect(server.stats.writes > 10, "1 MiB through a 4 KiB send buffer takes many partial writes")
        #expect(server.writeBuffer.isEmpty)
    }

    @Test("a peer that stops reading: watermarks fire, the writer is throttled, memory stays bounded")
    func slowReaderBackpressure() throws {
        let harness = try LoopbackHarness()
        let limit = 64 * 1024
        let chunk = testPattern(16 * 1024)
        let total = 8 << 20
        var produced = 0
        var peakBuffered = 0
        var writerPaused = false
        var serverEvents: EventRecorder?
        var serverConnection: Connection?
        func produce() {
            guard let server = serverConnection else { return }
            while !writerPaused, produced < total {
                server.write(IOBuffer(chunk))
                produced += chunk.count
                peakBuffered = max(peakBuffered, server.writeBuffer.count)
            }
        }
        harness.configureAccepted = { server in
            server.setBufferLimit(limit)
            serverConnection = server
            let recorder = EventRecorder(server)
            recorder.onAboveHigh = { writerPaused = true }
            recorder.onBelowLow = {
                writerPaused = false
                produce()
            }
            serverEvents = recorder
            produce()
        }
        let client = try harness.connectClient()
        let collector = Collector(client)
        client.readDisable(true)  // the reader stops reading
        // Each flush may drain below the low watermark while the kernel still takes bytes, so the
        // high watermark can fire several times before the socket fills; then the writer stays paused.
        #expect(harness.run { writerPaused && (serverEvents?.aboveHigh ?? 0) >= 1 })
        for _ in 0..<50 { harness.dispatcher.run(.nonBlock) }
        #expect(writerPaused, "the writer stays throttled while the peer does not read")
        #expect(produced < total)
        #expect(peakBuffered <= limit + chunk.count, "the write buffer never grows past its limit plus one write")
        client.readDisable(false)
        #expect(harness.run { collector.received.count == total })
        #expect((serverEvents?.belowLow ?? 0) >= 1)
        #expect(collector.received.count == total)
    }

    @Test("a consumer that does not drain the read buffer stops reading at the buffer limit")
    func readBufferLimit() throws {
        let harness = try LoopbackHarness()
        let limit = 32 * 1024
        harness.configureAccepted = { server in
            server.setBufferLimit(limit)  // no read filter: nothing drains the read buffer
        }
        let client = try harness.connectClient()
        let payload = testPattern(1 << 20)
        client.write(IOBuffer(payload))
        #expect(harness.run { harness.accepted.first.map { !$0.isReadEnabled } ?? false })
        for _ in 0..<50 { harness.dispatcher.run(.nonBlock) }
        let server = try #require(harness.accepted.first)
        #expect(server.readBuffer.count == limit + 1, "reading stops one byte past the limit")
        let readBeforeDrain = server.stats.bytesRead
        server.readBuffer.drain(server.readBuffer.count)  // the consumer catches up: reading resumes
        #expect(server.isReadEnabled)
        #expect(harness.run { server.stats.bytesRead > readBeforeDrain })
    }

    @Test("half-close in both directions: each side reads the other's end of stream once, then both close")
    func halfCloseBothWays() throws {
        let harness = try LoopbackHarness()
        var serverCollector: Collector?
        var serverEvents: EventRecorder?
        harness.configureAccepted = { server in
            server.enableHalfClose(true)
            let collector = Collector(server)
            collector.onDataHook = { _, endStream in
                if endStream { server.write(IOBuffer("pong"), endStream: true) }
            }
            serverCollector = collector
            serverEvents = EventRecorder(server)
        }
        let client = try harness.connectClient()
        client.enableHalfClose(true)
        let clientCollector = Collector(client)
        let clientEvents = EventRecorder(client)
        client.write(IOBuffer("ping"), endStream: true)
        #expect(harness.run { clientEvents.closed && (serverEvents?.closed ?? false) })
        #expect(serverCollector?.received == Array("ping".utf8))
        #expect(serverCollector?.endStreams == 1)
        #expect(clientCollector.received == Array("pong".utf8))
        #expect(clientCollector.endStreams == 1)
        #expect(clientEvents.events.filter { $0 != .connected }.count == 1)
        #expect(serverEvents?.events.count == 1)
    }

    @Test("a reset from the peer closes with remoteClose and says why")
    func peerReset() throws {
        let harness = try LoopbackHarness()
        harness.configureAccepted = { server in
            server.write(IOBuffer("bye"))
        }
        let client = try harness.connectClient()
        let events = EventRecorder(client)
        let collector = Collector(client)
        #expect(harness.run { collector.received.count == 3 })
        client.write(IOBuffer("unread by the server"))  // unread data makes the abort an RST either way
        harness.accepted.first?.close(.abort)
        #expect(harness.run { events.closed })
        #expect(events.events == [.connected, .remoteClose])
        #expect(client.state == .closed)
    }

    @Test("close from inside a read filter and from inside an event callback")
    func closeInsideCallbacks() throws {
        let harness = try LoopbackHarness()
        var serverEvents: EventRecorder?
        harness.configureAccepted = { server in
            let collector = Collector(server)
            collector.onDataHook = { _, _ in server.close(.noFlush) }
            serverEvents = EventRecorder(server)
        }
        let client = try harness.connectClient()
        let clientEvents = EventRecorder(client)
        client.write(IOBuffer("close me"))
        #expect(harness.run { clientEvents.closed && (serverEvents?.closed ?? false) })
        #expect(serverEvents?.events == [.localClose])
        #expect(clientEvents.events == [.connected, .remoteClose])

        let second = try harness.connectClient()
        let secondEvents = EventRecorder(second)
        second.addEventHandler { event in
            if event == .connected { second.close(.noFlush) }
        }
        #expect(harness.run { secondEvents.closed })
        #expect(secondEvents.events == [.connected, .localClose])
    }

    @Test("flushWrite delivers everything buffered before closing")
    func flushWriteClose() throws {
        let harness = try LoopbackHarness()
        let payload = testPattern(3 << 20, seed: 3)
        harness.configureAccepted = { server in
            server.write(IOBuffer(payload))
            server.close(.flushWrite)
            #expect(server.state == .closing)
        }
        let client = try harness.connectClient()
        let collector = Collector(client)
        let events = EventRecorder(client)
        #expect(harness.run { events.closed })
        #expect(firstDifference(collector.received, payload) == nil)
        #expect(collector.endStreams == 1)
        #expect(events.events == [.connected, .remoteClose])
    }

    @Test("flushWriteAndDelay waits for the peer to close, or for its timer")
    func flushWriteAndDelay() throws {
        let clock = SimulatedTimeSource()
        let harness = try LoopbackHarness(timeSource: clock)
        var serverEvents: [EventRecorder] = []
        harness.configureAccepted = { server in
            serverEvents.append(EventRecorder(server))
            server.write(IOBuffer("final response"))
            server.close(.flushWriteAndDelay)
        }
        // A polite peer reads the response and closes: the server closes without waiting.
        let polite = try harness.connectClient()
        let politeCollector = Collector(polite)
        #expect(harness.run { politeCollector.received.count == 14 })
        #expect(harness.accepted.first?.state == .closing)
        polite.close(.noFlush)
        #expect(harness.run { serverEvents.first?.closed ?? false })
        #expect(harness.accepted.first?.stats.delayedCloseTimeouts == 0)

        // A peer that never closes: the delayed-close timer closes the server side.
        let stubborn = try harness.connectClient()
        let stubbornCollector = Collector(stubborn)
        #expect(harness.run { stubbornCollector.received.count == 14 && harness.accepted.count == 2 })
        for _ in 0..<20 { harness.dispatcher.run(.nonBlock) }
        #expect(harness.accepted[1].state == .closing)
        clock.advance(by: .seconds(1))
        #expect(harness.run { serverEvents.count == 2 && serverEvents[1].closed })
        #expect(serverEvents[1].events == [.localClose])
        #expect(harness.accepted[1].stats.delayedCloseTimeouts == 1)
    }

    @Test("end of stream is delivered to the filters exactly once")
    func endOfStreamOnce() throws {
        let harness = try LoopbackHarness()
        var serverCollector: Collector?
        harness.configureAccepted = { server in
            server.enableHalfClose(true)
            serverCollector = Collector(server)
        }
        let client = try harness.connectClient()
        client.enableHalfClose(true)
        client.write(IOBuffer("last words"), endStream: true)
        #expect(harness.run { serverCollector?.endStreams == 1 })
        let server = try #require(harness.accepted.first)
        for _ in 0..<5 {
            server.readDisable(true)
            server.readDisable(false)
            harness.dispatcher.run(.nonBlock)
        }
        #expect(serverCollector?.endStreams == 1)
        #expect(serverCollector?.received == Array("last words".utf8))
        #expect(server.state == .open, "half-closed: still open for writing")
    }

    @Test("a read that drains the socket stops without EAGAIN; data and a FIN arriving later are still read")
    func shortReadThenLaterArrivals() throws {
        let harness = try LoopbackHarness()
        var serverCollector: Collector?
        harness.configureAccepted = { server in
            server.enableHalfClose(true)
            serverCollector = Collector(server)
        }
        let client = try harness.connectClient()
        client.enableHalfClose(true)
        client.write(IOBuffer("one"))
        #expect(harness.run { serverCollector?.received.count == 3 })
        let server = try #require(harness.accepted.first)
        #expect(server.stats.reads == 1 && server.stats.emptyReads == 0, "a short read means drained: no second read for EAGAIN")
        client.write(IOBuffer("two"))
        #expect(harness.run { serverCollector?.received.count == 6 })
        client.write(IOBuffer(), endStream: true)  // a FIN alone, after the socket was drained
        #expect(harness.run { serverCollector?.endStreams == 1 })
        #expect(serverCollector?.received == Array("onetwo".utf8))
    }

    @Test("read filters run first-added first, write filters last-added first, and stopIteration stops")
    func filterOrder() throws {
        final class Tagger: ReadFilter, WriteFilter {
            let name: String
            let stops: Bool
            var log: [String]
            let record: (String) -> Void
            init(_ name: String, stops: Bool = false, record: @escaping (String) -> Void) {
                self.name = name
                self.stops = stops
                self.log = []
                self.record = record
            }
            func onNewConnection(_ connection: Connection) -> FilterStatus {
                record("new \(name)")
                return .continue
            }
            func onData(_ data: IOBuffer, endStream: Bool) -> FilterStatus {
                record("read \(name)")
                return stops ? .stopIteration : .continue
            }
            func onWrite(_ data: IOBuffer, endStream: Bool) -> FilterStatus {
                record("write \(name)")
                data.append("+\(name)")
                return .continue
            }
        }
        var log: [String] = []
        let harness = try LoopbackHarness()
        harness.configureAccepted = { server in
            let first = Tagger("1") { log.append($0) }
            let second = Tagger("2", stops: true) { log.append($0) }
            let third = Tagger("3") { log.append($0) }
            for filter in [first, second, third] {
                server.addReadFilter(filter)
                server.addWriteFilter(filter)
            }
            server.initializeReadFilters()
            server.write(IOBuffer("out"))
            // An encoder's bytes go through the filters too.
            let scratch = IOBuffer()
            server.write(through: scratch) { $0.append("!") }
            #expect(scratch.isEmpty)
        }
        let client = try harness.connectClient()
        let collector = Collector(client)
        client.write(IOBuffer("in"))
        #expect(harness.run { log.contains("read 2") && collector.received.count == 16 })
        #expect(log == ["new 1", "new 2", "new 3", "write 3", "write 2", "write 1", "write 3", "write 2", "write 1", "read 1", "read 2"])
        #expect(collector.received == Array("out+3+2+1!+3+2+1".utf8))
    }
}
